import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTableMetadata, stringifyTableMetadata } from './metadata-json.ts';

test('snapshot ids beyond 2^53 survive a parse/stringify round trip exactly', () => {
  const text = '{"current-snapshot-id":9007199254740993,"snapshots":[{"snapshot-id":9223372036854775807,"parent-snapshot-id":-1,"sequence-number":3,"summary":{"operation":"append","note":"snapshot-id"}}],"refs":{"main":{"snapshot-id":9007199254740993,"type":"branch"}}}';
  const m = parseTableMetadata(text);
  assert.equal(m['current-snapshot-id'], 9007199254740993n);
  assert.equal(m.snapshots[0]?.['snapshot-id'], 9223372036854775807n);
  assert.equal(m.snapshots[0]?.['sequence-number'], 3);
  assert.equal(m.snapshots[0]?.summary['note'], 'snapshot-id');
  assert.equal(stringifyTableMetadata(m), text);
});
