import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStateImport } from '@sluice/core/contract';
import { savedCatalogStreams, statesAgainstCatalog, validateAgainstCatalog } from './validate-against-catalog.ts';

const catalog = {
  streams: [
    { name: 'users', json_schema: {} },
    { name: 'orders', namespace: 'shop', json_schema: {} },
    { name: 'orders', namespace: 'archive', json_schema: {} },
  ],
};
const descriptor = (name: string, namespace?: string | null) => ({ name, ...(namespace === undefined ? {} : { namespace }) });
const streamState = (name: string, namespace?: string | null) => ({ type: 'STREAM', stream: { stream_descriptor: descriptor(name, namespace), stream_state: { seq: 1 } } });
const issues = (state: unknown[]): string[] => statesAgainstCatalog(parseStateImport({ state }), catalog).map((i) => `${i.path}: ${i.message}`);

test("imported states name streams of the source's catalog by name and namespace", () => {
  assert.deepEqual(issues([streamState('users'), streamState('orders', 'shop')]), []);
  assert.deepEqual(issues([streamState('users', null), streamState('orders', 'archive')]), [], 'a null namespace is none');
  assert.deepEqual(issues([streamState('users', 'x'), streamState('orders'), streamState('invoices')]), [
    `state[0]: stream "x.users" is not in the source's catalog, which has "users" (no namespace): a state is read under its stream's exact namespace`,
    `state[1]: stream "orders" (no namespace) is not in the source's catalog, which has "shop.orders", "archive.orders": a state is read under its stream's exact namespace`,
    `state[2]: stream "invoices" is not in the source's catalog (its streams: users, orders)`,
  ]);
  const global = {
    type: 'GLOBAL',
    global: { shared_state: {}, stream_states: [{ stream_descriptor: descriptor('users'), stream_state: {} }, { stream_descriptor: descriptor('orders', 'x'), stream_state: {} }] },
  };
  assert.deepEqual(issues([global]), [
    `state[0]: stream "x.orders" is not in the source's catalog, which has "shop.orders", "archive.orders": a state is read under its stream's exact namespace`,
  ]);
  assert.deepEqual(issues([{ type: 'LEGACY', data: { users: 1 } }]), [], 'a LEGACY state names no streams');
});

test('a saved catalog is read only when it has the shape extract saves', () => {
  assert.deepEqual(savedCatalogStreams({ ...catalog, sluice_undeclared_fields: {} })?.streams.map((s) => [s.name, s.namespace]), [
    ['users', undefined],
    ['orders', 'shop'],
    ['orders', 'archive'],
  ]);
  assert.equal(savedCatalogStreams(null), undefined);
  assert.equal(savedCatalogStreams({ streams: [{ name: 'users' }] }), undefined);
});

test("an unknown stream's error names the first 50 of a large catalog's streams and counts the others", () => {
  const large = { streams: Array.from({ length: 1000 }, (_, i) => ({ name: `s${i}`, json_schema: {} })) };
  const found = validateAgainstCatalog({ streams: ['s1', 'nope'], mode: 'append', mergeKeys: [], columnTransformations: [], addIngestionMetadata: true }, large);
  assert.equal(found.length, 1);
  const first50 = Array.from({ length: 50 }, (_, i) => `s${i}`).join(', ');
  assert.deepEqual(found[0], { path: 'streams[1]', message: `stream "nope" is not in the source's catalog (its streams: ${first50} … and 950 more)` });
  const none = validateAgainstCatalog({ streams: ['nope'], mode: 'append', mergeKeys: [], columnTransformations: [], addIngestionMetadata: true }, { streams: [] });
  assert.match(none[0]?.message ?? '', /\(its streams: none\)$/);
});
