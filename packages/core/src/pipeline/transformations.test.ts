import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../errors/index.ts';
import { icebergTableName } from './identifiers.ts';
import { columnsNoStreamHas, planStreamColumns, type ColumnTransformation } from './transformations.ts';

const t = (p: Partial<ColumnTransformation> & { column: string }): ColumnTransformation => ({
  stream: null,
  newName: null,
  encryptionKeyName: null,
  castTo: null,
  drop: false,
  ...p,
});

test('rename and encrypt of the same column both apply, other streams untouched', () => {
  const plan = planStreamColumns('users', ['id', 'email', 'age'], [
    t({ column: 'email', stream: 'users', newName: 'email_enc' }),
    t({ column: 'email', stream: 'users', encryptionKeyName: 'pii' }),
    t({ column: 'age', stream: 'purchases', newName: 'years' }),
  ]);
  assert.deepEqual(plan.columns, [
    { source: 'id', target: 'id', encryptionKeyName: null, castTo: null },
    { source: 'email', target: 'email_enc', encryptionKeyName: 'pii', castTo: null },
    { source: 'age', target: 'age', encryptionKeyName: null, castTo: null },
  ]);
});

test('a transformation without a stream applies only to streams that have the column', () => {
  const users = planStreamColumns('users', ['id', 'email'], [t({ column: 'email', newName: 'mail' })]);
  const products = planStreamColumns('products', ['id', 'model'], [t({ column: 'email', newName: 'mail' })]);
  assert.equal(users.columns[1]?.target, 'mail');
  assert.deepEqual(products.columns.map((c) => c.target), ['id', 'model']);
});

test('a transformation without a stream whose column no selected stream has is named, with the columns there are', () => {
  const streams = [
    { stream: 'users', columns: ['id', 'email'] },
    { stream: 'products', columns: ['id', 'model'] },
  ];
  const ts = [t({ column: 'email', encryptionKeyName: 'pii' }), t({ column: 'emial', encryptionKeyName: 'pii' }), t({ column: 'phone', stream: 'users', newName: 'p' })];
  assert.deepEqual(columnsNoStreamHas(streams, ts), [
    { path: 'column_transformations[1].column', message: 'no selected stream has a column "emial" (users: id, email; products: id, model)' },
  ]);
});

test('drop removes the column and cast records the target type', () => {
  const plan = planStreamColumns('s', ['a', 'b', 'c'], [t({ column: 'b', drop: true }), t({ column: 'c', castTo: 'long' })]);
  assert.deepEqual(plan.columns.map((c) => [c.target, c.castTo]), [['a', null], ['c', 'long']]);
});

test('a column the named stream lacks fails with the column, the stream and its columns', () => {
  assert.throws(
    () => planStreamColumns('users', ['id', 'email'], [t({ column: 'phone', stream: 'users', newName: 'p' })]),
    (err: unknown) =>
      err instanceof ValidationError &&
      err.issues[0]?.path === 'column_transformations[0].column' &&
      /stream "users" has no column "phone" \(its columns: id, email\)/.test(err.message),
  );
});

test('two columns renamed onto one name fail, naming the later rename', () => {
  assert.throws(
    () => planStreamColumns('users', ['id', 'email', 'mail'], [t({ column: 'email', newName: 'mail' })]),
    (err: unknown) =>
      err instanceof ValidationError &&
      err.issues[0]?.path === 'column_transformations[0].new_name' &&
      /columns "email" and "mail" would both be named "mail"|columns "mail" and "email" would both be named "mail"/.test(err.message),
  );
  assert.throws(
    () => planStreamColumns('users', ['id', 'a', 'b'], [t({ column: 'a', newName: 'x' }), t({ column: 'id', encryptionKeyName: 'pii' }), t({ column: 'b', newName: 'x' })]),
    (err: unknown) => err instanceof ValidationError && err.issues[0]?.path === 'column_transformations[2].new_name',
  );
});

test('a rename onto an existing name in another case fails as a clash: DuckDB, Trino and Spark ignore case', () => {
  assert.throws(
    () => planStreamColumns('users', ['id', 'name', 'email'], [t({ column: 'email', stream: 'users', newName: 'NAME' })]),
    (err: unknown) =>
      err instanceof ValidationError &&
      err.issues.length === 1 &&
      // The entry whose rename clashes is named (QA round 54a F4: none was).
      err.issues[0]?.path === 'column_transformations[0].new_name' &&
      err.issues[0].message ===
        'stream "users": columns "name" and "email" would be named "name" and "NAME", one name to DuckDB, Trino and Spark, which ignore the case of column names',
  );
});

test('a stream whose source columns differ only in case cannot be loaded; no transformation is offered as a way out', () => {
  for (const transformations of [[], [t({ column: 'Name', newName: 'name_2' })], [t({ column: 'Name', drop: true })]]) {
    assert.throws(
      () => planStreamColumns('items', ['id', 'name', 'Name'], transformations),
      (err: unknown) =>
        err instanceof ValidationError &&
        err.issues[0]?.path === 'streams' &&
        err.issues[0].message ===
          'stream "items": the source\'s columns "name" and "Name" differ only in case; Sluice reads records with DuckDB, which takes them for one column (as Trino and Spark would), so this stream cannot be loaded: leave it out of streams',
    );
  }
});

test('renaming a column to its own name in another case is no clash', () => {
  const plan = planStreamColumns('users', ['id', 'email'], [t({ column: 'email', newName: 'EMAIL' })]);
  assert.deepEqual(plan.columns.map((c) => c.target), ['id', 'EMAIL']);
});

test('table names are made valid by the documented rule', () => {
  assert.equal(icebergTableName('Users'), 'users');
  assert.equal(icebergTableName('purchase-orders.v2'), 'purchase_orders_v2');
  assert.equal(icebergTableName('2024 Sales'), '_2024_sales');
  assert.equal(icebergTableName('***'), '_');
});

test("a job made before contradictions were refused fails its transform naming them, rather than letting one entry win", () => {
  assert.throws(
    () => planStreamColumns('users', ['id', 'name', 'amount'], [t({ column: 'name', drop: true }), t({ column: 'name', stream: 'users', newName: 'nm' }), t({ column: 'amount', castTo: 'string' }), t({ column: 'amount', castTo: 'long' })]),
    (err: unknown) =>
      err instanceof ValidationError &&
      err.message ===
        'column_transformations[1]: column "name" is dropped by column_transformations[0] in stream "users": it cannot also be renamed, encrypted or cast; ' +
          'column_transformations[3].target_type: column "amount" is already cast to string by column_transformations[2] in stream "users"',
  );
});
