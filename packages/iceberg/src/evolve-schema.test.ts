import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IncompatibleSchemaError } from './errors.ts';
import { evolveSchema, initialSchema } from './evolve-schema.ts';

const base = initialSchema([
  { name: 'id', type: 'int' },
  { name: 'price', type: 'decimal(9, 2)' },
  { name: 'name', type: 'string' },
]);

test('an unchanged column set keeps the schema (and its id)', () => {
  const r = evolveSchema('ns.t', base, 3, 1, [{ name: 'name', type: 'string' }, { name: 'id', type: 'int' }]);
  assert.equal(r.changed, false);
  assert.equal(r.schema, base);
});

test('new columns get the next ids; widening promotes in place; narrower data is accepted', () => {
  const r = evolveSchema('ns.t', base, 3, 1, [
    { name: 'id', type: 'long' },
    { name: 'price', type: 'decimal(12, 2)' },
    { name: 'extra', type: 'boolean' },
  ]);
  assert.equal(r.changed, true);
  assert.equal(r.lastColumnId, 4);
  assert.deepEqual(r.schema, {
    type: 'struct',
    'schema-id': 1,
    fields: [
      { id: 1, name: 'id', required: false, type: 'long' },
      { id: 2, name: 'price', required: false, type: 'decimal(12, 2)' },
      { id: 3, name: 'name', required: false, type: 'string' },
      { id: 4, name: 'extra', required: false, type: 'boolean' },
    ],
  });
  const narrower = evolveSchema('ns.t', r.schema, 4, 2, [{ name: 'id', type: 'int' }]);
  assert.equal(narrower.changed, false);
});

test('incompatible changes name the column and both types', () => {
  assert.throws(
    () => evolveSchema('ns.t', base, 3, 1, [{ name: 'id', type: 'string' }]),
    (e: unknown) => e instanceof IncompatibleSchemaError && e.column === 'id' && e.tableType === 'int' && e.inputType === 'string',
  );
  assert.throws(() => evolveSchema('ns.t', base, 3, 1, [{ name: 'name', type: 'binary' }]), /string in the table but binary in the data/);
  assert.throws(() => evolveSchema('ns.t', base, 3, 1, [{ name: 'price', type: 'decimal(9, 3)' }]), /decimal\(9, 2\) in the table but decimal\(9, 3\)/);
  assert.throws(() => evolveSchema('ns.t', base, 3, 1, [{ name: 'a', type: 'long' }, { name: 'a', type: 'long' }]), /duplicate column/);
});

test("data of another type than a string column's is written as its text: the column stays, but for an overwrite, which replaces it", () => {
  for (const type of ['boolean', 'int', 'long', 'double', 'decimal(9, 2)', 'date', 'timestamptz'] as const) {
    const r = evolveSchema('ns.t', base, 3, 1, [{ name: 'name', type }]);
    assert.equal(r.changed, false, type);
    assert.equal(r.schema, base);
  }
  const replaced = evolveSchema('ns.t', base, 3, 1, [{ name: 'name', type: 'boolean' }], { replaceIncompatible: true });
  assert.deepEqual(replaced.schema.fields.find((f) => f.name === 'name'), { id: 4, name: 'name', required: false, type: 'boolean' });
  assert.deepEqual(replaced.replaced, [{ name: 'name', fromType: 'string', toType: 'boolean', fieldId: 4 }], 'the replacement is said, for the run to warn of');
  assert.deepEqual(evolveSchema('ns.t', base, 3, 1, [{ name: 'name', type: 'string' }, { name: 'extra', type: 'long' }], { replaceIncompatible: true }).replaced, []);
});

test('a required table column missing from the data is refused', () => {
  const strict = { ...base, fields: base.fields.map((f) => (f.name === 'id' ? { ...f, required: true } : f)) };
  assert.throws(() => evolveSchema('ns.t', strict, 3, 1, [{ name: 'name', type: 'string' }]), /required column id \(int\) is missing/);
  assert.equal(evolveSchema('ns.t', strict, 3, 1, [{ name: 'id', type: 'int' }]).changed, false);
});

test("a column's doc is set when the data gives a new one, removed when it gives null, and kept when it gives none", () => {
  const documented = evolveSchema('ns.t', base, 3, 1, [{ name: 'name', type: 'string', doc: 'encrypted' }]);
  assert.equal(documented.changed, true);
  assert.equal(documented.schema.fields.find((f) => f.name === 'name')?.doc, 'encrypted');
  assert.equal(base.fields.find((f) => f.name === 'name')?.doc, undefined, 'the current schema is not changed in place');
  assert.equal(evolveSchema('ns.t', documented.schema, 3, 2, [{ name: 'name', type: 'string', doc: 'encrypted' }]).changed, false);
  assert.equal(evolveSchema('ns.t', documented.schema, 3, 2, [{ name: 'name', type: 'string' }]).changed, false, 'no doc given: kept');
  const removed = evolveSchema('ns.t', documented.schema, 3, 2, [{ name: 'name', type: 'string', doc: null }]);
  assert.equal(removed.changed, true);
  assert.equal('doc' in (removed.schema.fields.find((f) => f.name === 'name') ?? {}), false);
  assert.equal(evolveSchema('ns.t', base, 3, 1, [{ name: 'name', type: 'string', doc: null }]).changed, false, 'nothing to remove');
});
