import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unusedName } from './identifiers.ts';

test("a name of Sluice's own beside a stream's columns is one none of them has, compared without case as DuckDB compares", () => {
  assert.equal(unusedName('source_row', [{ name: 'id' }]), 'source_row');
  assert.equal(unusedName('source_row', [{ name: 'Source_Row' }]), 'source_row_1');
  assert.equal(unusedName('source_row', [{ name: 'source_row' }, { name: 'SOURCE_ROW_1' }]), 'source_row_2');
});
