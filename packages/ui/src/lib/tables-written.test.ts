import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tablesWritten } from './tables-written.ts';

test('finds a snapshot id with its table at any depth of a task output', () => {
  assert.deepEqual(tablesWritten({ table: 'raw.users', snapshot_id: '123' }, 'load · users'), [{ table: 'raw.users', snapshot_id: '123', task: 'load · users' }]);
  assert.deepEqual(tablesWritten({ commit: { namespace: 'raw', name: 'orders', snapshotId: 9 } }, 'load'), [{ table: 'raw.orders', snapshot_id: '9', task: 'load' }]);
  assert.deepEqual(tablesWritten([{ table_name: 'a.b', 'snapshot-id': '1' }, { nothing: true }], 'x').map((r) => r.table), ['a.b']);
});

test("reads the load task's output: namespace, table and snapshot id; a load that committed nothing names none", () => {
  const load = { namespace: 'raw_faker', table: 'users', status: 'committed', snapshot_id: '8841', rows: 3, metadata_location: 's3://w/m.json', schema_changed: false };
  assert.deepEqual(tablesWritten(load, 'load · users'), [{ table: 'raw_faker.users', snapshot_id: '8841', task: 'load · users' }]);
  assert.deepEqual(tablesWritten({ ...load, snapshot_id: null }, 'load · users'), []);
});

test('outputs without a snapshot id name no table', () => {
  assert.deepEqual(tablesWritten({ streams: ['users'] }, 'extract'), []);
  assert.deepEqual(tablesWritten(null, 'archive'), []);
  assert.deepEqual(tablesWritten('text', 'archive'), []);
});
