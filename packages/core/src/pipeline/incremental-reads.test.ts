import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encryptedCursors, readsIncrementally } from './incremental-reads.ts';
import type { ColumnTransformation } from './transformations.ts';

const encrypt = (column: string, stream: string | null = null): ColumnTransformation => ({ column, stream, newName: null, encryptionKeyName: 'pii', castTo: null, drop: false });

test('append and merge read a stream incrementally where it supports it with a cursor; overwrite never does', () => {
  const users = { name: 'users', supported_sync_modes: ['full_refresh', 'incremental'], default_cursor_field: ['updated_at'] };
  assert.equal(readsIncrementally(users, 'append'), true);
  assert.equal(readsIncrementally(users, 'merge'), true);
  assert.equal(readsIncrementally(users, 'overwrite'), false);
  assert.equal(readsIncrementally({ ...users, supported_sync_modes: ['full_refresh'] }, 'append'), false);
  assert.equal(readsIncrementally({ ...users, default_cursor_field: [] }, 'append'), false);
  assert.equal(readsIncrementally({ ...users, default_cursor_field: null, source_defined_cursor: true }, 'append'), true);
  // A catalog that does not say: Airbyte's default is full refresh only.
  assert.equal(readsIncrementally({ name: 'x', default_cursor_field: ['seq'] }, 'append'), false);
});

test("an encryption of the column holding a stream's cursor is an issue whatever the mode, by stream or for every stream", () => {
  const reads = [
    { name: 'users', cursor: ['updated_at'] },
    { name: 'orders', cursor: ['meta', 'changed'] },
    { name: 'items', cursor: null },
  ];
  const issues = encryptedCursors(reads, [encrypt('email'), encrypt('updated_at', 'users'), encrypt('seq'), encrypt('meta'), encrypt('updated_at', 'items')]);
  assert.deepEqual(
    issues.map((i) => i.index),
    [1, 3],
  );
  assert.match(issues[0]?.message ?? '', /^encrypts "updated_at", the cursor of stream "users": the source's state keeps the cursor's latest value in plaintext .*: encrypt other columns$/);
  assert.match(issues[1]?.message ?? '', /^encrypts "meta", which holds the cursor \(meta\.changed\) of stream "orders"/);
  // A rename alone, or a stream the transformation does not target, is no issue.
  assert.deepEqual(encryptedCursors(reads, [{ ...encrypt('updated_at', 'users'), encryptionKeyName: null, newName: 'changed' }, encrypt('updated_at', 'orders')]), []);
});
