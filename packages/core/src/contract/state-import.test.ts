import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../errors/index.ts';
import { parseStateImport } from './state-import.ts';

const stream = (name: string, seq: number, namespace?: string) => ({
  type: 'STREAM',
  stream: { stream_descriptor: { name, ...(namespace === undefined ? {} : { namespace }) }, stream_state: { seq } },
});
const issuesOf = (input: unknown): string[] => {
  try {
    parseStateImport(input);
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('accepted');
};

test('STREAM states are keyed as the runner saves them; GLOBAL and LEGACY (typed or bare) are the connector-wide one', () => {
  assert.deepEqual(
    parseStateImport({ state: [stream('users', 3), stream('orders', 1, 'shop')] }).map((s) => [s.at, s.streamKey, s.kind, s.streams]),
    [
      ['state[0]', 'users', 'stream', [{ name: 'users' }]],
      ['state[1]', 'shop.orders', 'stream', [{ name: 'orders', namespace: 'shop' }]],
    ],
  );
  const global = { type: 'GLOBAL', global: { shared_state: { lsn: 7 }, stream_states: [{ stream_descriptor: { name: 'users' }, stream_state: { seq: 2 } }] } };
  assert.deepEqual(parseStateImport({ state: [global] }).map((s) => [s.streamKey, s.kind, s.streams, s.state]), [['', 'global', [{ name: 'users' }], global]]);
  assert.deepEqual(parseStateImport({ state: [{ data: { users: 4 } }] }).map((s) => [s.streamKey, s.kind]), [['', 'legacy']]);
  assert.deepEqual(parseStateImport({ state: [{ type: 'LEGACY', data: { users: 4 } }] }).map((s) => s.kind), ['legacy']);
  assert.deepEqual(parseStateImport({ state: [] }), []);
  // A connector's own fields are kept as sent.
  const extra = { ...stream('users', 1), sourceStats: { recordCount: 5 } };
  assert.deepEqual(parseStateImport({ state: [extra] })[0]?.state, extra);
});

test('each refusal names the message and what it lacks or repeats', () => {
  assert.deepEqual(issuesOf({ state: [{ type: 'STREAM' }, { type: 'GLOBAL' }, { type: 'LEGACY' }, {}] }), [
    'state[0].stream: is required for a STREAM state: { stream_descriptor: { name }, stream_state }',
    'state[1].global: is required for a GLOBAL state: { shared_state, stream_states }',
    'state[2].data: is required for a LEGACY state',
    "state[3].type: is missing: STREAM, GLOBAL or LEGACY (or a LEGACY state's bare `data`)",
  ]);
  assert.deepEqual(issuesOf({ state: [stream('users', 1), stream(' ', 1), stream('users', 2)] }), [
    'state[1].stream.stream_descriptor.name: must not be empty',
    'state[2]: repeats stream "users" (state[0])',
  ]);
  assert.deepEqual(issuesOf({ state: [{ data: { a: 1 } }, { type: 'GLOBAL', global: { stream_states: [] } }] }), ['state[1]: is a second connector-wide state (state[0] is one): a job has one at most']);
  assert.deepEqual(issuesOf({ state: [stream('users', 1), { data: { a: 1 } }] }), [
    'state: mixes STREAM states (state[0]) with a connector-wide LEGACY one (state[1]): a connector saves one kind; give the kind it reads',
  ]);
  assert.match(issuesOf({ state: [{ type: 'SNAPSHOT' }] })[0] ?? '', /^state\[0\]\.type: /);
  assert.match(issuesOf({ state: {} })[0] ?? '', /^state: /);
  assert.deepEqual(issuesOf({ state: [], extra: 1 }), ['extra: unknown field']);
});

test("a GLOBAL state's own stream list is checked as STREAM states are; no state nests deeper than a source_config may", () => {
  const entry = (name: string) => ({ stream_descriptor: { name }, stream_state: { seq: 1 } });
  assert.deepEqual(issuesOf({ state: [{ type: 'GLOBAL', global: { stream_states: [entry('users'), entry(''), entry('users')] } }] }), [
    'state[0].global.stream_states[1].stream_descriptor.name: must not be empty',
    'state[0].global.stream_states[2]: repeats stream "users" (state[0].global.stream_states[0])',
  ]);
  let deep: Record<string, unknown> = { seq: 1 };
  for (let i = 0; i < 100; i++) deep = { d: deep };
  assert.deepEqual(issuesOf({ state: [{ type: 'STREAM', stream: { stream_descriptor: { name: 'users' }, stream_state: deep } }] }), ['state: nested deeper than 64 levels']);
});

test("GET …/state's answer is taken as it is: its streams' states are saved, its errors named where they are in it; pending states are refused", () => {
  const exported = (states: unknown[], extra: Record<string, unknown> = {}) => ({
    job_id: '0b0e4a4e-1f6a-4c1e-9d55-0e6f0d8a1a11',
    streams: states.map((state, i) => ({ stream: `s${i}`, kind: 'stream', state, run_id: null, updated_at: '2026-12-01T00:00:00.000Z' })),
    pending: [],
    ...extra,
  });
  assert.deepEqual(
    parseStateImport(exported([stream('users', 3), stream('orders', 1, 'shop')])).map((s) => [s.at, s.streamKey, s.kind]),
    [
      ['streams[0].state', 'users', 'stream'],
      ['streams[1].state', 'shop.orders', 'stream'],
    ],
  );
  assert.deepEqual(parseStateImport({ streams: [] }), [], 'job_id and pending may be left out');
  assert.deepEqual(issuesOf(exported([stream('users', 1), { type: 'STREAM' }, stream('users', 2)])), [
    'streams[1].state.stream: is required for a STREAM state: { stream_descriptor: { name }, stream_state }',
    'streams[2].state: repeats stream "users" (streams[0].state)',
  ]);
  assert.deepEqual(issuesOf(exported([stream('users', 1), { data: { a: 1 } }])), [
    'streams: mixes STREAM states (streams[0].state) with a connector-wide LEGACY one (streams[1].state): a connector saves one kind; give the kind it reads',
  ]);
  assert.match(issuesOf(exported([stream('users', 1)], { pending: [{ stream: 'users', state: stream('users', 2) }] }))[0] ?? '', /^pending: is not imported: a pending state may be ahead of what its table holds/);
  assert.deepEqual(issuesOf({ streams: [{ stream: 'users' }] }), ['streams[0].state: is required']);
  assert.deepEqual(issuesOf({ streams: [], state: [] }), ['streams: unknown field'], 'with `state`, the body is STATE messages');
});
