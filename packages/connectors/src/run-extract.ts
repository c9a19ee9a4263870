import type { ObjectStore } from '@sluice/storage';
import { asError, errorMessage, TRY_GIVEN_UP } from '@sluice/core';
import type { StreamRead } from '@sluice/core/pipeline';
import { buildConfiguredCatalog, type WriteMode } from './configured-catalog.ts';
import { outcomeFailure, type Connector } from './connector.ts';
import { connectorFailure, type ConnectorFailure } from './connector-failure.ts';
import { airbyteLogLevel, type ConnectorLogHandler, type ConnectorLogLevel, type SecretMasker } from './connector-log.ts';
import { runConnectorProcess, type ProcessOutcome } from './connector-process.ts';
import { extractCheckpointKey, type CheckpointStream, type ExtractCheckpoint } from './extract-checkpoint.ts';
import { extractManifestKey, type ExtractManifest, type StagedStream } from './extract-manifest.ts';
import {
  airbyteStateMessageSchema,
  controlSchema,
  logSchema,
  traceSchema,
  type AirbyteCatalog,
  type AirbyteStateMessage,
  type ConfiguredAirbyteCatalog,
  type ConnectorConfig,
  type ConnectorSpecification,
  type StreamStatus,
  type TraceError,
} from './protocol.ts';
import { repairSurrogates, scanRecordLine } from './record-line.ts';
import { collectSecretValues } from './secret-values.ts';
import { StagingWriter, streamKeySegment } from './staging-writer.ts';
import { declaredFields, UndeclaredFields } from './undeclared-fields.ts';

export interface StreamProgress {
  records: number;
  /** NDJSON bytes staged (exact after each flushed chunk, approximate in between). */
  bytes: number;
  status: StreamStatus | null;
  rowEstimate: number | null;
  byteEstimate: number | null;
}

/** A live snapshot of an extract, for the UI and the run record. */
export interface ExtractProgress {
  streams: Record<string, StreamProgress>;
  records: number;
  bytes: number;
  elapsedMs: number;
  /** True for the last snapshot of the run. */
  final: boolean;
}

export interface RunExtractOptions {
  connector: Connector;
  config: ConnectorConfig;
  /** Streams to read; null or empty = every stream of the source. Unknown names fail the extract. */
  streams?: readonly string[] | null;
  mode: WriteMode;
  /** The state saved by the last successful run (the previous manifest's `state`). Ignored for `overwrite`. */
  state?: readonly AirbyteStateMessage[] | null;
  store: ObjectStore;
  runId: string;
  /** A catalog from an earlier `discover`; discovered now when absent. */
  catalog?: AirbyteCatalog;
  /**
   * Per stream, fields the records carried last time that the source's own schema did not declare
   * even when discovered again (`undeclaredFields` of that extract): seeing them again with `catalog`
   * does not make the connector discover again.
   */
  knownUndeclaredFields?: Readonly<Record<string, readonly string[]>>;
  signal?: AbortSignal;
  /** Stop the connector after this long (default 12 hours). */
  timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when the connector must be stopped (default: the connector's). */
  killGraceMs?: number;
  onLog?: ConnectorLogHandler;
  onProgress?: (progress: ExtractProgress) => void;
  /** Time between two progress snapshots while reading (default 1000 ms, at least 100); status changes are sent at once. */
  progressIntervalMs?: number;
  /**
   * Called when the connector sends a CONTROL message with an updated config (e.g. a refreshed
   * OAuth token): the job's stored config should be replaced by it. Awaited before reading on.
   */
  onControlConfig?: (config: ConnectorConfig) => void | Promise<void>;
  /** A part file is closed and the next one started at this size (default 128 MiB). */
  partBytes?: number;
  /**
   * An earlier failed try's checkpoint that the caller found usable: its streams are not read
   * again, and the manifest lists them with the ones read now.
   */
  resume?: ExtractCheckpoint;
  /**
   * This is the extract's last try. When the connector fails after it read some streams to the end
   * (or the failure is one no retry fixes), those streams get a manifest of their own, so that
   * they are loaded, and the result is `partial` (ADR 0022).
   */
  lastTry?: boolean;
  /**
   * Whether this try still holds its task (false once it was declared lost and retried elsewhere:
   * a runner frozen for a while goes on where it was). The retry writes the same staging keys, so
   * a try that is no longer current commits no part, cleans nothing up and writes no manifest.
   * Asked before each of those; absent, the try is taken as current.
   */
  stillCurrent?: () => Promise<boolean>;
  /**
   * The job's rule on its streams' cursors, asked before the connector reads: a message refuses
   * the read as a configuration error, and nothing is read (an encrypted cursor, which the state
   * would keep in plaintext).
   */
  refuseRead?: (streams: readonly StreamRead[]) => string | null;
}

/** What an extract that wrote its manifest hands back. */
export interface ExtractedRun {
  manifest: ExtractManifest;
  manifestKey: string;
  /** The state to save once the load has committed (same as `manifest.state`). */
  state: AirbyteStateMessage[];
  /** The last config a CONTROL message handed over, or null. */
  updatedConfig: ConnectorConfig | null;
  /** The catalog this extract discovered (null when the caller passed one in). */
  discoveredCatalog: AirbyteCatalog | null;
  /** Per stream, fields the records carried that the staged schema does not declare (not loaded). */
  undeclaredFields: Record<string, string[]>;
  /** Per stream, values staged other than as written (see scanRecordLine); streams without any are absent. */
  repairs: Record<string, StreamRepairs>;
  /** RECORD lines that were not JSON even with Python's NaN and Infinity: dropped, counted here. */
  unreadableRecords: number;
  /** RECORD messages without a stream name, or whose data is not an object (an array, say): dropped, counted here. */
  malformedRecords: number;
  progress: ExtractProgress;
}

export type ExtractResult =
  | ({ status: 'succeeded' } & ExtractedRun)
  /**
   * The last try failed after the connector read some streams to the end: the manifest lists those
   * (with their states), and `manifest.unread` the others, with this failure.
   */
  | ({ status: 'partial'; failure: ConnectorFailure } & ExtractedRun)
  | {
      status: 'failed';
      failure: ConnectorFailure;
      updatedConfig: ConnectorConfig | null;
      progress: ExtractProgress;
    };

/** Values of one stream's records that were staged other than as the connector wrote them. */
export interface StreamRepairs {
  /** `NaN`, `Infinity`, `-Infinity` (Python's non-finite floats), staged as strings. */
  nonFinite: number;
  /** Escaped UTF-16 surrogates without their other half, staged as U+FFFD. */
  loneSurrogates: number;
}

const DEFAULT_TIMEOUT_MS = 12 * 3600_000;
const MAX_GARBAGE_LOGS = 100;
const MAX_LOG_CHARS = 8000;

/**
 * Runs the connector's `read` for a job and stages its records under `staging/{runId}/raw/{stream}/`
 * as NDJSON parts (one record's `data` a line). Only when the connector finished cleanly and every
 * part is stored is `staging/{runId}/extract-manifest.json` written; the result is then
 * `succeeded`. Every other ending (a TRACE error, a non-zero exit, a timeout, a cancel, a staging
 * failure) answers `failed` with a failure whose `error` is retryable or not, and leaves no manifest;
 * the streams the connector had read to the end, and the incremental ones it was cut off in (up to
 * their last STATE), are kept for the next try in `staging/{runId}/extract-checkpoint.json` (see
 * extract-checkpoint.ts). On the last try (`lastTry`, or a failure no retry fixes), the streams
 * read to the end get a manifest of their own and the result is `partial` (ADR 0022).
 * Nothing is thrown for a connector's failure; a bug in Sluice itself still throws.
 */
export async function runExtract(options: RunExtractOptions): Promise<ExtractResult> {
  const run = new ExtractRun(options);
  return run.execute();
}

class ExtractRun {
  readonly #o: RunExtractOptions;
  readonly #started = Date.now();
  /** The counts when the read failed, before its streams were kept (cut back to their last state) or removed. */
  #readBeforeFailure: ExtractProgress | undefined;
  readonly #startedAt = new Date().toISOString();
  #masker: SecretMasker | undefined;
  #spec: ConnectorSpecification | undefined;
  #discovered: AirbyteCatalog | null = null;
  readonly #writers = new Map<string, StagingWriter>();
  readonly #progress = new Map<string, StreamProgress>();
  readonly #errors: TraceError[] = [];
  readonly #streamStates = new Map<string, AirbyteStateMessage>();
  #globalState: AirbyteStateMessage | undefined;
  #legacyState: AirbyteStateMessage | undefined;
  /** The kinds of state the connector itself emitted (this try or a kept earlier one): per stream, shared (GLOBAL or LEGACY). */
  readonly #emittedKinds = new Set<'stream' | 'shared'>();
  #updatedConfig: ConnectorConfig | null = null;
  #ignoredRecords = 0;
  readonly #ignoredStreams = new Set<string>();
  #garbage = 0;
  #badRecords = 0;
  #unreadableRecords = 0;
  readonly #repairs = new Map<string, StreamRepairs>();
  #lastProgress = 0;
  #fields: UndeclaredFields | undefined;
  #undeclared: Record<string, string[]> = {};
  /** Streams an earlier try read to the end (the checkpoint resumed from), by name. */
  readonly #resumed = new Map<string, CheckpointStream>();
  /** Streams an earlier try was cut off in, read on now from their kept state after their kept parts, by name. */
  readonly #continued = new Map<string, CheckpointStream>();
  /** Per stream read now, where its records stood at its last STATE: what a failure keeps of it. */
  readonly #positions = new Map<string, { records: number; bytes: number; state: AirbyteStateMessage }>();

  constructor(options: RunExtractOptions) {
    this.#o = options;
  }

  #log(level: ConnectorLogLevel, origin: 'connector' | 'stderr' | 'stdout' | 'sluice', message: string): void {
    const masked = this.#masker ? this.#masker.mask(message) : message;
    this.#o.onLog?.({ level, origin, message: masked.length > MAX_LOG_CHARS ? `${masked.slice(0, MAX_LOG_CHARS)}… (${masked.length} chars)` : masked });
  }

  /** This try no longer holds its task (declared lost, retried elsewhere): it says so and stops, writing nothing more. */
  #givenUp(cause: unknown = new Error(TRY_GIVEN_UP)): ExtractResult {
    // A warning only: the recovery worked as designed (QA round 31: an error line paged for it).
    this.#log('warn', 'sluice', TRY_GIVEN_UP);
    return this.#result(connectorFailure('staging_error', TRY_GIVEN_UP, cause));
  }

  #failed(failure: ConnectorFailure): ExtractResult {
    // Stopped when told to (a cancel, a timeout, its runner stopping) is said by the runner as what it is; not an error of the read.
    // A failure is the try's, which its runner says as an error only when no retry follows (QA round 34a F2).
    if (failure.reason === 'cancelled') this.#log('info', 'sluice', `extract stopped: ${failure.message}`);
    else this.#log('warn', 'sluice', `extract failed (${failure.reason}): ${failure.message}`);
    return this.#result(failure);
  }

  #result(failure: ConnectorFailure): ExtractResult {
    return { status: 'failed', failure, updatedConfig: this.#updatedConfig, progress: this.#finalProgress() };
  }

  async execute(): Promise<ExtractResult> {
    const o = this.#o;
    const connector = o.connector;
    const commandOptions = { ...(o.signal ? { signal: o.signal } : {}), onLog: (e: Parameters<ConnectorLogHandler>[0]) => o.onLog?.(e) };

    const spec = await connector.trySpec(commandOptions);
    if (!spec.ok) return this.#failed(spec.failure);
    this.#spec = spec.value;
    this.#masker = connector.maskerWithSpec(spec.value, o.config);

    let catalog = o.catalog;
    if (!catalog) {
      const discovered = await connector.tryDiscover(o.config, this.#masker, commandOptions);
      if (!discovered.ok) return this.#failed(discovered.failure);
      catalog = discovered.value;
      this.#discovered = catalog;
    }
    let configured: ConfiguredAirbyteCatalog;
    try {
      configured = buildConfiguredCatalog(catalog, { streams: o.streams, mode: o.mode });
    } catch (err) {
      return this.#failed(connectorFailure('config_error', `${connector.sourceName}: ${errorMessage(err)}`));
    }
    const refused = o.refuseRead?.(configured.streams.map((s) => ({ name: s.stream.name, cursor: s.cursor_field ?? null })));
    if (refused) return this.#failed(connectorFailure('config_error', refused));

    for (const kept of o.resume?.streams ?? []) {
      const read = configured.streams.find((s) => s.stream.name === kept.name);
      if (!read) continue;
      if (kept.complete) this.#resumed.set(kept.name, kept);
      else if (kept.state && read.sync_mode === 'incremental') this.#continued.set(kept.name, kept);
    }
    const toRead: ConfiguredAirbyteCatalog = { ...configured, streams: configured.streams.filter((s) => !this.#resumed.has(s.stream.name)) };
    this.#fields = new UndeclaredFields(toRead.streams.map((s) => ({ name: s.stream.name, jsonSchema: s.stream.json_schema })));
    const partBytes = o.partBytes ?? 128 * 1024 * 1024;
    const manifestKey = extractManifestKey(o.runId);
    try {
      // A retried extract starts from a clean slate but for the streams it resumes: no manifest,
      // no parts of an earlier try.
      await o.store.delete(manifestKey);
      for (const s of toRead.streams) {
        const prefix = `staging/${o.runId}/raw/${streamKeySegment(s.stream.name)}/`;
        const writer = new StagingWriter(o.store, prefix, partBytes, undefined, undefined, async () => {
          if (!(await this.#isCurrent())) throw new Error(TRY_GIVEN_UP);
        });
        const continued = this.#continued.get(s.stream.name);
        if (continued?.state) {
          const keep = new Set(continued.files.map((f) => f.key));
          for await (const obj of o.store.list(prefix)) if (!keep.has(obj.key)) await o.store.delete(obj.key);
          writer.adopt(continued.files);
          this.#positions.set(s.stream.name, { records: continued.records, bytes: continued.bytes, state: continued.state });
        } else {
          await o.store.deletePrefix(prefix);
        }
        this.#writers.set(s.stream.name, writer);
        this.#progress.set(s.stream.name, { records: 0, bytes: 0, status: null, rowEstimate: null, byteEstimate: null });
      }
    } catch (err) {
      return this.#failed(connectorFailure('staging_error', `preparing staging/${o.runId}/ failed: ${errorMessage(err)}`, err));
    }

    const inputState = o.mode === 'overwrite' ? [] : [...(o.state ?? [])];
    for (const s of inputState) this.#absorbState(s);
    for (const kept of [...this.#resumed.values(), ...this.#continued.values()]) if (kept.state) this.#absorbState(kept.state, true);
    // The connector reads the cut-off streams on from their kept state.
    const readState = withStreamStates(inputState, [...this.#continued.values()].flatMap((k) => (k.state ? [k.state] : [])));
    if (this.#resumed.size > 0) {
      this.#log(
        'info',
        'sluice',
        `resuming: ${[...this.#resumed.values()].map((k) => `${k.name} (${k.records} records, read to the end by the try that started ${k.readBy.startedAt})`).join(', ')} ${
          this.#resumed.size > 1 ? 'are' : 'is'
        } not read again`,
      );
    }
    for (const k of this.#continued.values()) {
      this.#log('info', 'sluice', `resuming: ${k.name} is read on from its last state, after the ${k.records} records an earlier try kept`);
    }
    if (toRead.streams.length > 0) {
      this.#log(
        'info',
        'sluice',
        `reading ${toRead.streams.map((s) => `${s.stream.name} (${s.sync_mode})`).join(', ')} from ${connector.sourceName}${
          inputState.length > 0 ? ` with ${inputState.length} saved state message${inputState.length > 1 ? 's' : ''}` : ''
        }`,
      );
    }

    // Progress goes out on a clock, not per so many records: a slow source (an API read page by
    // page) shows its count while it reads.
    const ticker = o.onProgress ? setInterval(() => this.#maybeProgress(false), Math.max(o.progressIntervalMs ?? 1000, 100)) : undefined;
    ticker?.unref();
    let outcome: ProcessOutcome | 'nothing to read';
    try {
      outcome = toRead.streams.length === 0 ? 'nothing to read' : await runConnectorProcess({
        launch: connector.launch,
        verb: 'read',
        files: { config: o.config, catalog: toRead, ...(readState.length > 0 ? { state: stateFileContent(readState) } : {}) },
        killGraceMs: o.killGraceMs ?? connector.killGraceMs,
        timeoutMs: o.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        ...(o.signal ? { signal: o.signal } : {}),
        // Once the read is told to stop, what the connector says on its way out (a BrokenPipeError
        // as its output is closed) is no warning of the read (QA round 40a F7).
        onStderrLine: (line) => this.#log(o.signal?.aborted === true ? 'info' : 'warn', 'stderr', line),
        maskStderr: (line) => (this.#masker ? this.#masker.mask(line) : line),
        onLine: (line) => this.#onLine(line),
      });
    } catch (err) {
      this.#abortWriters(err);
      return this.#failed(connectorFailure('exit_code', `${connector.sourceName} read could not start: ${this.#masker.mask(errorMessage(err))}`, err));
    } finally {
      clearInterval(ticker);
    }
    if (this.#garbage > MAX_GARBAGE_LOGS) this.#log('warn', 'sluice', `${this.#garbage} stdout lines were not protocol messages (the first ${MAX_GARBAGE_LOGS} are logged)`);
    if (this.#badRecords > 0) this.#log('warn', 'sluice', `${this.#badRecords} RECORD messages had no stream, or data that is not an object, and were dropped`);
    if (this.#unreadableRecords > 0) {
      this.#log('warn', 'sluice', `${this.#unreadableRecords} RECORD lines were not JSON and were dropped (their text is not logged: it holds source data)`);
    }

    const failure =
      outcome === 'nothing to read' ? undefined : (outcomeFailure(connector.sourceName, 'read', outcome, this.#errors, this.#masker) ?? this.#incomplete(connector.sourceName, toRead));
    if (failure) {
      const read = this.#snapshot(false);
      // What was read, before a checkpoint cuts the streams back to their last state: the try's counts.
      this.#readBeforeFailure = read;
      // This try's own records: not those resumed, nor the parts of cut-off streams it took over.
      const each = Object.entries(read.streams)
        .filter(([name]) => !this.#resumed.has(name))
        .map(([name, p]) => ({ name, records: p.records - (this.#continued.get(name)?.records ?? 0), complete: p.status === 'COMPLETE' }));
      const readNow = each.reduce((n, e) => n + e.records, 0);
      if (readNow > 0) {
        const before = failure.reason === 'cancelled' ? 'it was stopped' : 'the failure';
        this.#log('info', 'sluice', `${readNow} records were read before ${before} (${each.map((e) => `${e.name} ${e.records}${e.complete ? ' (complete)' : ''}`).join(', ')})`);
      }
      if (!(await this.#isCurrent())) {
        this.#abortWriters(failure.error);
        // A cancelled run's try no longer holds its task either: its failure says it was cancelled.
        if (failure.reason === 'cancelled') return this.#failed(failure);
        // Given up (declared lost): a warning, not an error line (QA round 31: it paged for a recovery that worked).
        this.#log('warn', 'sluice', TRY_GIVEN_UP);
        return this.#result(failure);
      }
      // A connector that failed after it reported every stream COMPLETE (a file-based source that
      // could not parse a file on its way, QA round 44b F1) leaves a retry nothing to read: each
      // stream would be resumed as read. Its streams are loaded now, and the run fails at its end.
      const readThrough =
        failure.reason !== 'cancelled' && !this.#globalState && !this.#legacyState && toRead.streams.every((s) => this.#progress.get(s.stream.name)?.status === 'COMPLETE');
      // The last try, or a failure no retry fixes: no other try of this extract follows.
      const final = o.lastTry === true || !failure.error.retryable || readThrough;
      const kept = await this.#checkpoint(toRead, inputState, final);
      this.#abortWriters(failure.error);
      await this.#removeParts(kept.map((k) => k.name));
      // A cancel (the run's, or the try's timeout) stops the try: nothing of it is loaded.
      if (final && failure.reason !== 'cancelled' && o.signal?.aborted !== true) {
        const partial = await this.#partial(configured, inputState, [...this.#resumed.values(), ...kept].filter((k) => k.complete), failure, commandOptions);
        if (partial) return partial;
      }
      if (final && kept.length > 0) {
        // A stopped read (a cancel, or its runner stopping: a signal this try cannot tell apart) may be
        // retried at once; a last try's or a permanent failure is read on from only by a clear.
        const next = failure.reason === 'cancelled' ? "the extract's next try (its retry, or a clear's) reads on from there" : 'a clear of this extract reads on from there';
        this.#log('info', 'sluice', `kept ${describeKept(kept)}: ${next}`);
      }
      return this.#failed(failure);
    }
    try {
      for (const w of this.#writers.values()) await w.finish();
    } catch (err) {
      this.#abortWriters(err);
      if (!(await this.#isCurrent())) {
        return this.#givenUp(err);
      }
      await this.#removeParts([]);
      return this.#failed(connectorFailure('staging_error', `staging the records of ${connector.sourceName} failed: ${errorMessage(err)}`, err));
    }

    const schemas = await this.#schemasForStaging(configured, commandOptions);
    const state = this.#finalState();
    const manifest = this.#manifest(
      configured.streams.map((s) => {
        const kept = this.#resumed.get(s.stream.name);
        if (kept) return keptManifestStream(kept, schemas.get(s.stream.name));
        return {
          ...stagedStream(s, this.#writers.get(s.stream.name) as StagingWriter),
          jsonSchema: schemas.get(s.stream.name) ?? s.stream.json_schema,
          status: this.#progress.get(s.stream.name)?.status ?? null,
        };
      }),
      state,
      [],
      null,
    );
    if (!(await this.#isCurrent())) {
      return this.#givenUp();
    }
    const unwritten = await this.#publish(manifest);
    if (unwritten !== undefined) {
      await this.#removeParts([]);
      return this.#failed(connectorFailure('staging_error', `writing ${manifestKey} failed: ${errorMessage(unwritten)}`, unwritten));
    }
    const progress = this.#finalProgress();
    const earlier = [...this.#resumed.values(), ...this.#continued.values()].reduce((n, k) => n + k.records, 0);
    this.#log(
      'info',
      'sluice',
      `extracted ${progress.records} records (${progress.bytes} bytes)${earlier > 0 ? `, ${earlier} of them kept from earlier tries,` : ''} in ${progress.elapsedMs} ms`,
    );
    return {
      status: 'succeeded',
      manifest,
      manifestKey,
      state,
      updatedConfig: this.#updatedConfig,
      discoveredCatalog: this.#discovered,
      undeclaredFields: this.#undeclared,
      repairs: Object.fromEntries(this.#repairs),
      unreadableRecords: this.#unreadableRecords,
      malformedRecords: this.#badRecords,
      progress,
    };
  }

  /** The per-line handler: synchronous except when a staging write must wait (backpressure) or a config is being saved. */
  #onLine(line: string): Promise<void> | undefined {
    // Nearly every line is a plain RECORD: its data text goes to staging as it is, unparsed.
    const record = scanRecordLine(line);
    if (record) {
      if (record.nonFinite > 0 || record.loneSurrogates > 0) this.#countRepairs(record);
      return this.#onRecord(record.stream, record.data);
    }
    let msg: unknown;
    try {
      msg = JSON.parse(repairSurrogates(line).text);
    } catch {
      // A record the connector broke is source data: counted, never logged.
      if (/^\s*\{.*"type"\s*:\s*"RECORD"/.test(line)) this.#unreadableRecords += 1;
      else this.#onGarbage(line);
      return undefined;
    }
    if (typeof msg !== 'object' || msg === null) {
      this.#onGarbage(line);
      return undefined;
    }
    const m = msg as { type?: unknown; record?: { stream?: unknown; data?: unknown }; [k: string]: unknown };
    if (m.type === 'RECORD') {
      const rec = m.record;
      // The protocol's data is an object: an array (QA round 29) failed its stream's stage on every try.
      if (!rec || typeof rec.stream !== 'string' || typeof rec.data !== 'object' || rec.data === null || Array.isArray(rec.data)) {
        this.#badRecords += 1;
        return undefined;
      }
      return this.#onRecord(rec.stream, JSON.stringify(rec.data));
    }
    switch (m.type) {
      case 'STATE': {
        const state = this.#absorbState(m['state'], true);
        const name = state?.type === 'STREAM' ? state.stream?.stream_descriptor.name : undefined;
        const writer = name === undefined ? undefined : this.#writers.get(name);
        // The protocol's promise: a STATE covers the records of its stream sent before it.
        if (state && name !== undefined && writer) this.#positions.set(name, { records: writer.records, bytes: writer.bytes, state });
        return undefined;
      }
      case 'LOG': {
        const log = logSchema.safeParse(m['log']);
        if (log.success) {
          this.#log(airbyteLogLevel(log.data.level), 'connector', log.data.message);
          if (log.data.stack_trace) this.#log('debug', 'connector', log.data.stack_trace);
        }
        return undefined;
      }
      case 'TRACE':
        return this.#onTrace(m['trace']);
      case 'CONTROL':
        return this.#onControl(m['control']);
      default:
        this.#log('debug', 'sluice', `ignored a ${String(m.type)} message`);
        return undefined;
    }
  }

  #countRepairs(r: { stream: string; nonFinite: number; loneSurrogates: number }): void {
    if (!this.#writers.has(r.stream)) return;
    const n = this.#repairs.get(r.stream) ?? { nonFinite: 0, loneSurrogates: 0 };
    n.nonFinite += r.nonFinite;
    n.loneSurrogates += r.loneSurrogates;
    this.#repairs.set(r.stream, n);
  }

  /** Stages one record's data (a JSON text without newline) for its stream. */
  #onRecord(stream: string, data: string): Promise<void> | undefined {
    const writer = this.#writers.get(stream);
    if (!writer) {
      this.#ignoredRecords += 1;
      if (!this.#ignoredStreams.has(stream)) {
        this.#ignoredStreams.add(stream);
        this.#log('warn', 'sluice', `records of stream "${stream}", which was not selected, are dropped`);
      }
      return undefined;
    }
    this.#fields?.sample(stream, data);
    return writer.append(data);
  }

  /**
   * Each read stream's JSON schema for stage. When records carry fields the stored catalog the
   * caller passed does not declare (the source added a column since it was discovered), the
   * connector discovers again and the streams' new schemas are used (and handed back as
   * `discoveredCatalog`, to be stored), so that this run loads the column; so it does when values
   * do not have the type the stored catalog declares (the source changed a column's type: the
   * load then sees the new type, instead of NULLs). Fields that no schema declares are said in the
   * log: stage does not load them.
   */
  async #schemasForStaging(
    configured: ConfiguredAirbyteCatalog,
    commandOptions: { signal?: AbortSignal; onLog: ConnectorLogHandler },
  ): Promise<Map<string, Record<string, unknown>>> {
    const schemas = new Map(configured.streams.map((s) => [s.stream.name, this.#resumed.get(s.stream.name)?.jsonSchema ?? s.stream.json_schema]));
    const found = this.#fields?.found() ?? new Map<string, string[]>();
    for (const [name, kept] of [...this.#resumed, ...this.#continued]) {
      if (kept.undeclaredFields.length > 0) found.set(name, [...new Set([...(found.get(name) ?? []), ...kept.undeclaredFields])]);
    }
    // Values that do not have their declared type: the source may have changed a column's type since
    // the stored catalog (QA round 37a F2: each was loaded as NULL, over a merge's good values).
    const misfits = this.#fields?.misfits() ?? new Map<string, string[]>();
    if (found.size === 0 && misfits.size === 0) return schemas;
    const describe = (m: Map<string, string[]>): string => [...m].map(([stream, names]) => `${stream}: ${names.join(', ')}`).join('; ');
    // Fields already known not to be in the source's schema (a discover after they were seen did
    // not declare them) do not make it discover again.
    const known = this.#o.knownUndeclaredFields ?? {};
    const unknown = new Map(
      [...found].flatMap(([stream, names]) => {
        const fresh = names.filter((n) => !(known[stream] ?? []).includes(n));
        return fresh.length > 0 ? [[stream, fresh] as const] : [];
      }),
    );
    const why = [
      ...(unknown.size > 0 ? [`records carry fields the stored catalog does not declare (${describe(unknown)})`] : []),
      ...(misfits.size > 0 ? [`records carry values of another type than the stored catalog declares (${describe(misfits)})`] : []),
    ];
    if (this.#o.catalog && this.#masker && why.length > 0) {
      this.#log('info', 'sluice', `${why.join('; ')}: discovering the source's schema again`);
      const fresh = await this.#o.connector.tryDiscover(this.#o.config, this.#masker, commandOptions);
      if (fresh.ok) {
        this.#discovered = fresh.value;
        for (const s of fresh.value.streams) if (schemas.has(s.name)) schemas.set(s.name, s.json_schema);
      } else {
        this.#log('warn', 'sluice', `discovering again failed (${fresh.failure.message}); this run loads the stored catalog's columns`);
      }
    }
    const left = new Map(
      [...found].flatMap(([stream, names]) => {
        const declared = declaredFields(schemas.get(stream) ?? {});
        const missing = names.filter((n) => !declared?.has(n));
        return missing.length > 0 ? [[stream, missing] as const] : [];
      }),
    );
    if (left.size > 0) {
      // Without a discover in this try, the schema is the stored catalog's: say so, not that the source does not declare them now.
      const seenNow = this.#o.catalog === undefined || this.#discovered !== null;
      this.#log(
        'warn',
        'sluice',
        seenNow
          ? `records carry fields the source's schema does not declare, which are not loaded (${describe(left)})`
          : `records carry fields the source's schema did not declare at its last discover, which are not loaded (${describe(left)}); the source is discovered again when they are seen after a while`,
      );
    }
    this.#undeclared = Object.fromEntries(left);
    return schemas;
  }

  #onGarbage(line: string): void {
    this.#garbage += 1;
    if (this.#garbage <= MAX_GARBAGE_LOGS) this.#log('warn', 'stdout', line);
  }

  /** Returns a promise when a finished stream's last part is being completed. */
  #onTrace(raw: unknown): Promise<void> | undefined {
    const parsed = traceSchema.safeParse(raw);
    if (!parsed.success) {
      this.#log('warn', 'sluice', 'a TRACE message did not follow the protocol and was ignored');
      return undefined;
    }
    const t = parsed.data;
    if (t.type === 'ERROR' && t.error) {
      this.#errors.push(t.error);
      this.#log('error', 'connector', `${t.error.failure_type ?? 'system_error'}: ${t.error.message}`);
      if (t.error.internal_message && t.error.internal_message !== t.error.message) this.#log('debug', 'connector', t.error.internal_message);
      if (t.error.stack_trace) this.#log('debug', 'connector', t.error.stack_trace);
    } else if (t.type === 'STREAM_STATUS' && t.stream_status) {
      const name = t.stream_status.stream_descriptor.name;
      const p = this.#progress.get(name);
      if (p) {
        p.status = t.stream_status.status;
        this.#maybeProgress(true);
        // Complete the stream's part now rather than at the end: a source with many streams read one
        // after the other then holds one open upload at a time, not one per stream.
        const done = t.stream_status.status === 'COMPLETE' || t.stream_status.status === 'INCOMPLETE';
        if (done) return this.#writers.get(name)?.finish();
      }
    } else if (t.type === 'ESTIMATE' && t.estimate && t.estimate.type === 'STREAM') {
      const p = this.#progress.get(t.estimate.name);
      if (p) {
        p.rowEstimate = t.estimate.row_estimate ?? p.rowEstimate;
        p.byteEstimate = t.estimate.byte_estimate ?? p.byteEstimate;
        this.#maybeProgress(true);
      }
    }
    return undefined;
  }

  async #onControl(raw: unknown): Promise<void> {
    const parsed = controlSchema.safeParse(raw);
    if (!parsed.success || parsed.data.type !== 'CONNECTOR_CONFIG' || !parsed.data.connectorConfig) {
      this.#log('warn', 'sluice', 'a CONTROL message Sluice does not know was ignored');
      return;
    }
    const config = parsed.data.connectorConfig.config;
    // The new config may carry new secrets (a refreshed token): mask them before anything is logged.
    this.#masker?.add(collectSecretValues(this.#spec, config));
    this.#updatedConfig = config;
    // Whether it is saved is the caller's to say (onControlConfig): a config replaced meanwhile wins.
    this.#log('info', 'sluice', 'the connector sent an updated configuration');
    try {
      await this.#o.onControlConfig?.(config);
    } catch (err) {
      this.#log('error', 'sluice', `saving the connector's updated configuration failed: ${errorMessage(err)}`);
    }
  }

  /**
   * Takes a state message into the run's state (`emitted`: the connector's own, not the saved
   * state it was handed); answers it, or undefined when it was ignored.
   */
  #absorbState(raw: unknown, emitted = false): AirbyteStateMessage | undefined {
    const parsed = airbyteStateMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.#log('warn', 'sluice', 'a STATE message did not follow the protocol and was ignored');
      return undefined;
    }
    const s = parsed.data;
    if (s.type === 'STREAM' && s.stream) {
      const d = s.stream.stream_descriptor;
      this.#streamStates.set(`${d.namespace ?? ''}\u0000${d.name}`, s);
    } else if (s.type === 'GLOBAL' && s.global) {
      this.#globalState = s;
    } else if (s.data) {
      this.#legacyState = s;
    } else {
      this.#log('warn', 'sluice', `a ${s.type ?? 'LEGACY'} STATE message without its content was ignored`);
      return undefined;
    }
    if (emitted) this.#emittedKinds.add(s.type === 'STREAM' ? 'stream' : 'shared');
    return s;
  }

  /**
   * The state after the read: what the connector emitted over what it was handed. A handed state
   * of the other kind than the one the connector emits (an imported STREAM state for a GLOBAL
   * connector) is left out: the connector's own kind replaces it, or it would be saved again and
   * handed to every later read.
   */
  #finalState(): AirbyteStateMessage[] {
    const onlyStream = this.#emittedKinds.has('stream') && !this.#emittedKinds.has('shared');
    const onlyShared = this.#emittedKinds.has('shared') && !this.#emittedKinds.has('stream');
    return [
      ...(this.#legacyState && !onlyStream ? [this.#legacyState] : []),
      ...(this.#globalState && !onlyStream ? [this.#globalState] : []),
      ...(onlyShared ? [] : this.#streamStates.values()),
    ];
  }

  #snapshot(final: boolean): ExtractProgress {
    const streams: Record<string, StreamProgress> = {};
    let records = 0;
    let bytes = 0;
    for (const [name, p] of this.#progress) {
      const w = this.#writers.get(name);
      p.records = w?.records ?? 0;
      p.bytes = w?.bytes ?? 0;
      streams[name] = { ...p };
      records += p.records;
      bytes += p.bytes;
    }
    for (const [name, kept] of this.#resumed) {
      streams[name] = { records: kept.records, bytes: kept.bytes, status: 'COMPLETE', rowEstimate: null, byteEstimate: null };
      records += kept.records;
      bytes += kept.bytes;
    }
    return { streams, records, bytes, elapsedMs: Date.now() - this.#started, final };
  }

  #finalProgress(): ExtractProgress {
    const progress = this.#readBeforeFailure ? { ...this.#readBeforeFailure, elapsedMs: Date.now() - this.#started, final: true } : this.#snapshot(true);
    try {
      this.#o.onProgress?.(progress);
    } catch (err) {
      this.#log('warn', 'sluice', `the progress callback failed: ${errorMessage(err)}`);
    }
    return progress;
  }

  #maybeProgress(force: boolean): void {
    if (!this.#o.onProgress) return;
    const now = Date.now();
    if (!force && now - this.#lastProgress < (this.#o.progressIntervalMs ?? 1000)) return;
    this.#lastProgress = now;
    try {
      this.#o.onProgress(this.#snapshot(false));
    } catch (err) {
      this.#log('warn', 'sluice', `the progress callback failed: ${errorMessage(err)}`);
    }
  }

  /**
   * A read that ended well without finishing every stream, as the connector's own statuses tell.
   * When it reported a status for any stream (of this read, or of an earlier try's that this one
   * resumes: those were kept for their COMPLETE), a stream it did not report COMPLETE was
   * not read to its end: never started (a source that no longer offers it, a catalog older than
   * the source) or stopped. Taken as read, an overwrite would replace its table with what little
   * was read, or empty it (QA round 14). It is a failure like a crash after the other streams
   * completed: they are kept, and on the last try loaded (ADR 0022). Connectors that report no
   * statuses (older CDKs) are taken at their exit.
   */
  #incomplete(sourceName: string, toRead: ConfiguredAirbyteCatalog): ConnectorFailure | undefined {
    const statuses = toRead.streams.map((s) => ({ name: s.stream.name, status: this.#progress.get(s.stream.name)?.status ?? null }));
    if (this.#resumed.size === 0 && statuses.every((s) => s.status === null)) return undefined;
    const unfinished = statuses.filter((s) => s.status !== 'COMPLETE');
    if (unfinished.length === 0) return undefined;
    const each = unfinished.map((s) => `${s.name} (${s.status === null ? 'no status at all' : `its last status ${s.status}`})`).join(', ');
    const many = unfinished.length > 1;
    return connectorFailure(
      'incomplete_streams',
      `${sourceName} ended its read without reporting ${many ? 'these streams' : 'this stream'} COMPLETE, as it did the others: ${each}. ` +
        `${many ? 'Their' : 'Its'} rows are not loaded as if ${many ? 'they' : 'it'} had been read to the end (an overwrite would replace the table with them); ` +
        ((this.#o.streams ?? []).length === 0
          ? `if the source no longer offers ${many ? 'them' : 'it'}, the extract's next try, or the job's next run, discovers the source again and reads the streams it offers then (the job reads all of them)`
          : `if the source no longer offers ${many ? 'them' : 'it'}, leave ${many ? 'them' : 'it'} out of the job's streams`),
    );
  }

  #abortWriters(reason: unknown): void {
    const err = asError(reason);
    for (const w of this.#writers.values()) w.abort(err);
  }

  /**
   * After a failure, keeps for the next try, in the run's checkpoint, when the state allows: the
   * streams the connector read to the end (with the ones this try resumed), and the incremental
   * streams it was cut off in, up to their last STATE (their parts cut there). Answers the streams
   * this try adds to it (their parts must stay).
   */
  async #checkpoint(toRead: ConfiguredAirbyteCatalog, inputState: readonly AirbyteStateMessage[], final: boolean): Promise<CheckpointStream[]> {
    const complete = toRead.streams.filter((s) => this.#progress.get(s.stream.name)?.status === 'COMPLETE');
    const cut = toRead.streams.filter(
      (s) => this.#progress.get(s.stream.name)?.status !== 'COMPLETE' && s.sync_mode === 'incremental' && (this.#positions.get(s.stream.name)?.records ?? 0) > 0,
    );
    if (complete.length === 0 && cut.length === 0) return [];
    if (this.#globalState || this.#legacyState) {
      this.#log(
        'info',
        'sluice',
        `the connector's state is connector-wide (GLOBAL or LEGACY): no stream can be kept apart, ${
          final ? 'nor loaded on its own: nothing of this try is loaded, and the next run reads every stream again' : 'so the next try reads every stream again'
        }`,
      );
      // An earlier try's checkpoint would name parts this try's failure removes.
      if (this.#continued.size > 0) await this.#o.store.delete(extractCheckpointKey(this.#o.runId)).catch(() => undefined);
      return [];
    }
    const startedAt = this.#startedAt;
    const undeclared = this.#fields?.found() ?? new Map<string, string[]>();
    const added: CheckpointStream[] = [];
    for (const s of [...complete, ...cut]) {
      const name = s.stream.name;
      const w = this.#writers.get(name);
      if (!w) continue;
      const position = complete.includes(s) ? undefined : this.#positions.get(name);
      try {
        await w.finish(); // done when the connector said COMPLETE; waits for that part's upload, if still going
        if (position) await w.keepFirst(position.records, position.bytes);
      } catch (err) {
        this.#log('warn', 'sluice', `the parts of stream ${name} were not stored whole (${errorMessage(err)}): the next try reads it again`);
        continue;
      }
      const continued = this.#continued.get(name);
      added.push({
        ...stagedStream(s, w),
        state: position ? position.state : (this.#streamStates.get(`${s.stream.namespace ?? ''}\u0000${name}`) ?? null),
        complete: !position,
        undeclaredFields: [...new Set([...(continued?.undeclaredFields ?? []), ...(undeclared.get(name) ?? [])])],
        readBy: continued?.readBy ?? { startedAt },
      });
    }
    const key = extractCheckpointKey(this.#o.runId);
    const streams = [...this.#resumed.values(), ...added];
    try {
      if (streams.length === 0) {
        // What an earlier try kept and this one could not keep again is gone: no checkpoint may name it.
        await this.#o.store.delete(key);
        return [];
      }
      const checkpoint: ExtractCheckpoint = {
        version: 1,
        runId: this.#o.runId,
        sourceName: this.#o.connector.sourceName,
        readStartedAt: this.#o.resume && (this.#resumed.size > 0 || this.#continued.size > 0) ? this.#o.resume.readStartedAt : startedAt,
        inputState: [...inputState],
        streams,
      };
      await this.#o.store.put(key, `${JSON.stringify(checkpoint, null, 1)}\n`);
    } catch (err) {
      this.#log('warn', 'sluice', `writing ${key} failed (${errorMessage(err)}): the next try reads every stream again`);
      await this.#o.store.delete(key).catch(() => undefined);
      return [];
    }
    if (!final && added.length > 0) {
      const left = toRead.streams.filter((s) => !added.some((a) => a.name === s.stream.name && a.complete)).map((s) => s.stream.name);
      const cut = added.some((a) => !a.complete);
      this.#log('info', 'sluice', `kept ${describeKept(added)}, for the next try of this extract: it reads ${left.join(', ')} only${cut ? ', the cut-off streams on from their kept state' : ''}`);
    }
    return added;
  }

  /** This run's manifest of these streams. */
  #manifest(streams: ExtractManifest['streams'], state: AirbyteStateMessage[], unread: ExtractManifest['unread'], failure: string | null): ExtractManifest {
    return {
      version: 1,
      runId: this.#o.runId,
      sourceName: this.#o.connector.sourceName,
      startedAt: this.#startedAt,
      completedAt: new Date().toISOString(),
      streams,
      state,
      ignoredRecords: this.#ignoredRecords,
      unread,
      failure,
    };
  }

  /**
   * Writes the manifest (answering the error when it could not be written) and then removes the
   * checkpoint: the manifest lists what it kept, and a checkpoint left would only mislead.
   */
  async #publish(manifest: ExtractManifest): Promise<unknown> {
    const key = extractManifestKey(this.#o.runId);
    try {
      await this.#o.store.put(key, `${JSON.stringify(manifest, null, 1)}\n`);
    } catch (err) {
      return err ?? new Error(`writing ${key} failed`);
    }
    try {
      await this.#o.store.delete(extractCheckpointKey(this.#o.runId));
    } catch (err) {
      this.#log('warn', 'sluice', `removing ${extractCheckpointKey(this.#o.runId)} failed: ${errorMessage(err)}`);
    }
    return undefined;
  }

  /**
   * The last try's failure, when streams were read to the end (`kept`: by this try or an earlier
   * one): they get the run's manifest, with the state they were read to, so that they are loaded;
   * the other selected streams are listed as unread, with the failure, and keep the state they were
   * read from. Undefined when nothing was kept, or the manifest could not be written.
   */
  async #partial(
    configured: ConfiguredAirbyteCatalog,
    inputState: readonly AirbyteStateMessage[],
    kept: readonly CheckpointStream[],
    failure: ConnectorFailure,
    commandOptions: { signal?: AbortSignal; onLog: ConnectorLogHandler },
  ): Promise<ExtractResult | undefined> {
    const o = this.#o;
    const byName = new Map(kept.map((k) => [k.name, k]));
    if (byName.size === 0) return undefined;
    // As a whole read's: a field the stored catalog lacks makes the source be discovered again, so
    // that these streams load its column; their state moves past those records (QA round 49b D2:
    // the values were loaded as NULL, and an incremental stream never read them again).
    const schemas = await this.#schemasForStaging(configured, commandOptions);
    const streams = configured.streams.flatMap((s) => {
      const k = byName.get(s.stream.name);
      return k ? [keptManifestStream(k, schemas.get(s.stream.name))] : [];
    });
    const unread = configured.streams
      .filter((s) => !byName.has(s.stream.name))
      .map((s) => ({ name: s.stream.name, namespace: s.stream.namespace ?? null, jsonSchema: s.stream.json_schema, error: failure.message }));
    const state = withStreamStates(inputState, kept.flatMap((k) => (k.state ? [k.state] : [])));
    const manifestKey = extractManifestKey(o.runId);
    const manifest = this.#manifest(streams, state, unread, failure.message);
    if (!(await this.#isCurrent())) {
      return this.#givenUp();
    }
    const unwritten = await this.#publish(manifest);
    if (unwritten !== undefined) {
      this.#log('warn', 'sluice', `writing ${manifestKey} failed (${errorMessage(unwritten)}): the streams read to the end are not loaded either`);
      return undefined;
    }
    try {
      // What a cut-off stream kept is of no use now that no try follows: the next run reads it again.
      for (const u of unread) await o.store.deletePrefix(`staging/${o.runId}/raw/${streamKeySegment(u.name)}/`);
    } catch (err) {
      this.#log('warn', 'sluice', `removing the unread streams' parts failed: ${errorMessage(err)}`);
    }
    this.#log('error', 'sluice', `extract failed (${failure.reason}): ${failure.message}`);
    const read = `${streams.map((s) => `${s.name} (${s.records} records)`).join(', ')}, read to the end, ${streams.length > 1 ? 'are' : 'is'} loaded`;
    this.#log(
      'warn',
      'sluice',
      unread.length === 0
        ? `the connector failed after it reported every stream COMPLETE, which leaves a retry nothing to read: ${read}, with the state the connector sent, and the run fails at its archive. ` +
            'What that state does not cover (such as a file the source could not read) the next run reads again'
        : `this was the extract's last try: ${read}; ` +
            `${unread.map((u) => u.name).join(', ')} ${unread.length > 1 ? 'were' : 'was'} not read to the end, and the next run reads ${unread.length > 1 ? 'them' : 'it'} again (from the saved state, where there is one)`,
    );
    const snapshot = this.#finalProgress();
    const records = streams.reduce((n, s) => n + s.records, 0);
    const bytes = streams.reduce((n, s) => n + s.bytes, 0);
    return {
      status: 'partial',
      failure,
      manifest,
      manifestKey,
      state,
      updatedConfig: this.#updatedConfig,
      discoveredCatalog: this.#discovered,
      undeclaredFields: Object.fromEntries(Object.entries(this.#undeclared).filter(([name]) => byName.has(name))),
      repairs: Object.fromEntries([...this.#repairs].filter(([name]) => byName.has(name))),
      unreadableRecords: this.#unreadableRecords,
      malformedRecords: this.#badRecords,
      progress: { ...snapshot, records, bytes },
    };
  }

  /** Whether this try still holds its task (RunExtractOptions.stillCurrent). */
  async #isCurrent(): Promise<boolean> {
    return this.#o.stillCurrent === undefined || (await this.#o.stillCurrent());
  }

  /** Best effort: a failed extract's parts are never read (no manifest), so leftovers are only wasted space. Those in `kept` stay (the checkpoint lists them). */
  async #removeParts(kept: readonly string[]): Promise<void> {
    for (const name of this.#writers.keys()) {
      if (kept.includes(name)) continue;
      try {
        await this.#o.store.deletePrefix(`staging/${this.#o.runId}/raw/${streamKeySegment(name)}/`);
      } catch (err) {
        this.#log('warn', 'sluice', `removing the partial output of ${name} failed: ${errorMessage(err)}`);
      }
    }
  }
}

/** A configured stream as its writer staged it: what the manifest and the checkpoint list of it. */
function stagedStream(s: ConfiguredAirbyteCatalog['streams'][number], w: StagingWriter): StagedStream {
  return {
    name: s.stream.name,
    namespace: s.stream.namespace ?? null,
    files: w.files,
    records: w.records,
    bytes: w.bytes,
    jsonSchema: s.stream.json_schema,
    primaryKey: s.primary_key ?? [],
    cursorField: s.cursor_field ?? [],
    syncMode: s.sync_mode,
    destinationSyncMode: s.destination_sync_mode,
  };
}

/** A stream a checkpoint kept, read to the end, as the manifest lists it (with its schema as discovered now, when given). */
function keptManifestStream(k: CheckpointStream, jsonSchema?: Record<string, unknown>): ExtractManifest['streams'][number] {
  const { state: _state, undeclaredFields: _fields, readBy: _by, complete: _complete, ...stream } = k;
  return { ...stream, jsonSchema: jsonSchema ?? k.jsonSchema, status: 'COMPLETE' };
}

/** Streams a checkpoint keeps, as a log line says them. */
function describeKept(kept: readonly CheckpointStream[]): string {
  const ends = kept.filter((k) => k.complete);
  const cuts = kept.filter((k) => !k.complete);
  return [
    ...(ends.length > 0 ? [`${ends.map((k) => `${k.name} (${k.records} records)`).join(', ')}, read to the end`] : []),
    ...(cuts.length > 0 ? [`${cuts.map((k) => `${k.name} (${k.records} records)`).join(', ')} up to the last state the connector sent`] : []),
  ].join(', and ');
}

/** `state` with each stream's message replaced by the one in `streams` for that stream, when there is one. */
function withStreamStates(state: readonly AirbyteStateMessage[], streams: readonly AirbyteStateMessage[]): AirbyteStateMessage[] {
  const key = (s: AirbyteStateMessage): string | undefined => {
    const d = s.type === 'STREAM' ? s.stream?.stream_descriptor : undefined;
    return d ? `${d.namespace ?? ''}\u0000${d.name}` : undefined;
  };
  const replaced = new Map(streams.flatMap((s) => {
    const k = key(s);
    return k === undefined ? [] : [[k, s] as const];
  }));
  const kept = state.filter((s) => {
    const k = key(s);
    return k === undefined || !replaced.has(k);
  });
  return [...kept, ...replaced.values()];
}

/**
 * The `--state` file: the list of state messages, except that a lone legacy state is written as
 * its bare `data` object, the form connectors from before per-stream state read.
 */
function stateFileContent(state: readonly AirbyteStateMessage[]): unknown {
  const only = state.length === 1 ? state[0] : undefined;
  if (only && (only.type === 'LEGACY' || only.type == null) && only.data) return only.data;
  return state;
}
