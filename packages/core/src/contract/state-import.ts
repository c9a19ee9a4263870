import { z } from 'zod';
import { airbyteStateMessageSchema, streamKey, type AirbyteStateMessage, type StreamDescriptor } from '../airbyte-state/index.ts';
import { ValidationError, type FieldIssue } from '../errors/index.ts';
import { formatIssuePath, parseRequest } from './parse-request.ts';
import { nestsDeeperThan, SOURCE_CONFIG_MAX_DEPTH, unkeptValue } from './source-config.ts';

/** At most this many state messages in one PUT: one per stream, and sources have hundreds at most. */
export const STATE_IMPORT_MAX_MESSAGES = 10_000;

const stateMessages = z
  .array(airbyteStateMessageSchema)
  .max(STATE_IMPORT_MAX_MESSAGES, `at most ${STATE_IMPORT_MAX_MESSAGES} state messages`)
  // As deep as a source_config may be: connectors parse it with recursive JSON readers.
  .refine((v) => !nestsDeeperThan(v, SOURCE_CONFIG_MAX_DEPTH), `nested deeper than ${SOURCE_CONFIG_MAX_DEPTH} levels`);

/** Airbyte STATE messages, as the Airbyte protocol writes them. */
const stateMessagesBody = z
  .strictObject({
    state: stateMessages.describe(
      "Airbyte STATE messages' `state` objects: one STREAM state per stream, or one connector-wide GLOBAL (or LEGACY) state. " +
        'They replace everything saved; [] forgets it all',
    ),
  })
  .meta({ id: 'PutStateMessages' });

/** What GET …/state answered, for another job or for this one, as it is. */
const exportedStateBody = z
  .strictObject({
    job_id: z.uuid().optional().describe('the job GET answered for; not used (the path names the job whose state is replaced)'),
    streams: z
      .array(z.looseObject({ state: airbyteStateMessageSchema }))
      .max(STATE_IMPORT_MAX_MESSAGES, `at most ${STATE_IMPORT_MAX_MESSAGES} states`)
      .refine((v) => !nestsDeeperThan(v, SOURCE_CONFIG_MAX_DEPTH + 1), `nested deeper than ${SOURCE_CONFIG_MAX_DEPTH} levels`)
      .describe("GET …/state's `streams`: each entry's `state` is saved (its other fields are GET's and not used)"),
    pending: z
      .array(z.unknown())
      .max(
        0,
        "is not imported: a pending state may be ahead of what its table holds (its run's commit is not seen yet). Remove `pending` to import the saved states only, or wait until the source job's next run has settled them and GET its state again",
      )
      .optional()
      .describe('GET …/state\'s `pending`: accepted only empty'),
  })
  .meta({ id: 'PutExportedState' });

/**
 * `PUT /api/airbyte/ingest/{job_id}/state`: the job's whole saved connector state, replaced by
 * Airbyte STATE messages: `{"state": [...]}`, or GET …/state's answer as it is (its `streams`'
 * states; no pending ones).
 */
export const putStateRequest = z
  .union([stateMessagesBody, exportedStateBody])
  .describe("Airbyte STATE messages (`{\"state\": [...]}`), or what GET …/state answered, as it is, from this job or another")
  .meta({ id: 'PutStateRequest' });

/** One state to save, as stream_states keys it: a stream's (its key) or the connector-wide one (""). */
export interface ImportedState {
  /** Where in the request it was: `state[3]`, or `streams[3].state` in GET's answer. */
  at: string;
  streamKey: string;
  kind: 'stream' | 'global' | 'legacy';
  state: AirbyteStateMessage;
  /** The streams it holds positions of: its own, or a GLOBAL state's `stream_states` (LEGACY: not known, none). */
  streams: StreamDescriptor[];
}

/**
 * The body of a PUT …/state, checked as a whole: each message has the part its type needs, no
 * stream has two states, and the states are all per stream or one connector-wide one — a
 * connector saves one kind (the Airbyte protocol), and Sluice hands the next read all it has.
 */
export function parseStateImport(input: unknown): ImportedState[] {
  // GET's answer is told by its `streams`; anything else is read as STATE messages (and its errors said as such).
  const exported = typeof input === 'object' && input !== null && !Array.isArray(input) && 'streams' in input && !('state' in input);
  const messages = exported
    ? parseRequest(exportedStateBody, input).streams.map((s, i) => ({ state: s.state, at: `streams[${i}].state` }))
    : parseRequest(stateMessagesBody, input).state.map((state, i) => ({ state, at: `state[${i}]` }));
  // After the schema and its depth checks: a cursor past ±2^53 was rounded by JSON.parse; saved, the
  // next read would skip or repeat rows (QA round 43a F3).
  const unkept = unkeptValue(input);
  if (unkept) throw new ValidationError([{ path: formatIssuePath(unkept.path), message: unkept.message }]);
  const issues: FieldIssue[] = [];
  const out: ImportedState[] = [];
  const seen = new Map<string, string>();
  messages.forEach(({ state, at }) => {
    const type = state.type ?? (state.data != null ? 'LEGACY' : null);
    let entry: ImportedState | null = null;
    if (type === 'STREAM') {
      const descriptor = state.stream?.stream_descriptor;
      if (!descriptor) issues.push({ path: `${at}.stream`, message: 'is required for a STREAM state: { stream_descriptor: { name }, stream_state }' });
      else if (descriptor.name.trim() === '') issues.push({ path: `${at}.stream.stream_descriptor.name`, message: 'must not be empty' });
      else entry = { at, streamKey: streamKey(descriptor), kind: 'stream', state, streams: [descriptor] };
    } else if (type === 'GLOBAL') {
      if (!state.global) issues.push({ path: `${at}.global`, message: 'is required for a GLOBAL state: { shared_state, stream_states }' });
      else {
        const inner = new Map<string, number>();
        const before = issues.length;
        state.global.stream_states.forEach((s, j) => {
          const where = `${at}.global.stream_states[${j}]`;
          const key = streamKey(s.stream_descriptor);
          if (s.stream_descriptor.name.trim() === '') issues.push({ path: `${where}.stream_descriptor.name`, message: 'must not be empty' });
          else if (inner.has(key)) issues.push({ path: where, message: `repeats stream "${key}" (${at}.global.stream_states[${inner.get(key) ?? 0}])` });
          else inner.set(key, j);
        });
        if (issues.length === before) entry = { at, streamKey: '', kind: 'global', state, streams: state.global.stream_states.map((s) => s.stream_descriptor) };
      }
    } else if (type === 'LEGACY') {
      if (!state.data) issues.push({ path: `${at}.data`, message: 'is required for a LEGACY state' });
      else entry = { at, streamKey: '', kind: 'legacy', state, streams: [] };
    } else {
      issues.push({ path: `${at}.type`, message: 'is missing: STREAM, GLOBAL or LEGACY (or a LEGACY state\'s bare `data`)' });
    }
    if (entry === null) return;
    const first = seen.get(entry.streamKey);
    if (first !== undefined) {
      issues.push({
        path: at,
        message: entry.streamKey === '' ? `is a second connector-wide state (${first} is one): a job has one at most` : `repeats stream "${entry.streamKey}" (${first})`,
      });
      return;
    }
    seen.set(entry.streamKey, at);
    out.push(entry);
  });
  const shared = out.find((e) => e.streamKey === '');
  const perStream = out.find((e) => e.streamKey !== '');
  if (shared && perStream) {
    issues.push({
      path: exported ? 'streams' : 'state',
      message: `mixes STREAM states (${perStream.at}) with a connector-wide ${shared.kind.toUpperCase()} one (${shared.at}): a connector saves one kind; give the kind it reads`,
    });
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return out;
}
