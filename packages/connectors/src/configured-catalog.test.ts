import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NonRetryableTaskError } from '@sluice/core';
import { buildConfiguredCatalog } from './configured-catalog.ts';
import type { AirbyteCatalog } from './protocol.ts';

const catalog: AirbyteCatalog = {
  streams: [
    {
      name: 'users',
      json_schema: { type: 'object' },
      supported_sync_modes: ['full_refresh', 'incremental'],
      source_defined_cursor: true,
      default_cursor_field: ['updated_at'],
      source_defined_primary_key: [['id']],
    },
    { name: 'events', json_schema: { type: 'object' }, supported_sync_modes: ['full_refresh'] },
  ],
};

test('null or empty selection takes every stream in catalog order', () => {
  for (const streams of [null, undefined, []]) {
    const c = buildConfiguredCatalog(catalog, { streams, mode: 'append' });
    assert.deepEqual(c.streams.map((s) => s.stream.name), ['users', 'events']);
  }
});

test('append reads incrementally where supported, with cursor and primary key from the catalog', () => {
  const c = buildConfiguredCatalog(catalog, { streams: null, mode: 'append' });
  assert.equal(c.streams[0]?.sync_mode, 'incremental');
  assert.equal(c.streams[0]?.destination_sync_mode, 'append');
  assert.deepEqual(c.streams[0]?.cursor_field, ['updated_at']);
  assert.deepEqual(c.streams[0]?.primary_key, [['id']]);
  assert.equal(c.streams[1]?.sync_mode, 'full_refresh');
  assert.equal(c.streams[1]?.primary_key, undefined);
});

test('merge is incremental with dedup; overwrite is a full refresh', () => {
  const merge = buildConfiguredCatalog(catalog, { streams: ['users'], mode: 'merge' });
  assert.equal(merge.streams[0]?.sync_mode, 'incremental');
  assert.equal(merge.streams[0]?.destination_sync_mode, 'append_dedup');
  const overwrite = buildConfiguredCatalog(catalog, { streams: ['users'], mode: 'overwrite' });
  assert.equal(overwrite.streams[0]?.sync_mode, 'full_refresh');
  assert.equal(overwrite.streams[0]?.destination_sync_mode, 'overwrite');
});

test('unknown streams are a non-retryable error naming them and the available ones', () => {
  assert.throws(
    () => buildConfiguredCatalog(catalog, { streams: ['users', 'nope', 'nada'], mode: 'append' }),
    (err: unknown) =>
      err instanceof NonRetryableTaskError &&
      err.message.includes('"nope", "nada"') &&
      err.message.includes('"events", "users"'),
  );
});
