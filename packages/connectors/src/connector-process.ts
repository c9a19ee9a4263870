import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { makeConnectorDir } from './connector-dirs.ts';
import { dyingWithParent, signalProcessGroup } from './parent-death.ts';

/** The program and arguments that start a connector, given the private directory holding its files. */
export interface ConnectorLaunch {
  command: string;
  args: string[];
}

/** Builds the launch for a connector verb (`spec`, `check --config …`, …) run with files in `privateDir`. */
export type LaunchBuilder = (connectorArgs: string[], privateDir: string) => ConnectorLaunch;

export type TerminationReason = 'timeout' | 'aborted' | 'handler_failed' | 'line_too_long';

export interface ProcessOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Set when Sluice stopped the connector itself. */
  terminated?: TerminationReason;
  /** The error a line handler threw (when `terminated` is `handler_failed`). */
  handlerError?: unknown;
  /** The last lines the connector wrote to stderr, masked (`maskStderr`) before they were cut to length. */
  stderrTail: string[];
  durationMs: number;
}

export interface RunConnectorProcessOptions {
  launch: LaunchBuilder;
  /** The verb and its flags; `{config}`/`{catalog}`/`{state}` in them are replaced by the file paths. */
  verb: 'spec' | 'check' | 'discover' | 'read';
  files?: { config?: unknown; catalog?: unknown; state?: unknown };
  /** Called for every stdout line, in order. A returned promise pauses reading (backpressure) until it settles. */
  onLine: (line: string) => void | Promise<void>;
  onStderrLine?: (line: string) => void;
  /**
   * Masks a stderr line's secrets before the tail keeps it (cut to 2000 characters): masked after
   * the cut, a secret across it would no longer match and its start would show.
   */
  maskStderr: (line: string) => string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when the connector must be stopped. */
  killGraceMs?: number;
  /** Extra environment for the connector (beside the pass-through allowlist). */
  env?: Record<string, string>;
  /** A stdout line longer than this stops the connector (protects memory). */
  maxLineBytes?: number;
}

/** Environment variables a connector inherits; everything else (database URLs, master keys, cloud credentials) stays with Sluice. */
const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'REQUESTS_CA_BUNDLE', 'PIP_INDEX_URL', 'PIP_EXTRA_INDEX_URL'];

export function connectorEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const v = process.env[name];
    if (v !== undefined) env[name] = v;
  }
  env['PYTHONIOENCODING'] = 'utf-8';
  return { ...env, ...extra };
}

const STDERR_TAIL_LINES = 40;

/**
 * Runs one connector command to completion. Config, catalog and state are written as JSON files
 * of mode 0600 in a fresh 0700 temp directory that only this user can read, and removed afterwards
 * whatever happens (or, if this process is killed, by the next runner's start: connector-dirs.ts). The connector runs in its own process group, so stopping it (SIGTERM, then
 * SIGKILL after the grace period) also stops the workers it forked; on Linux it dies with this
 * process too ({@link dyingWithParent}).
 */
export async function runConnectorProcess(options: RunConnectorProcessOptions): Promise<ProcessOutcome> {
  const started = Date.now();
  const privateDir = await makeConnectorDir();
  try {
    const args: string[] = [options.verb];
    const files = options.files ?? {};
    for (const name of ['config', 'catalog', 'state'] as const) {
      if (files[name] === undefined) continue;
      const file = path.join(privateDir, `${name}.json`);
      await writeFile(file, JSON.stringify(files[name]), { mode: 0o600, flag: 'wx' });
      args.push(`--${name}`, file);
    }
    const launch = options.launch(args, privateDir);
    return await spawnAndStream(launch, options, started);
  } finally {
    await rm(privateDir, { recursive: true, force: true });
  }
}

async function spawnAndStream(launch: ConnectorLaunch, options: RunConnectorProcessOptions, started: number): Promise<ProcessOutcome> {
  const env = connectorEnv(options.env);
  const spawned = dyingWithParent(launch, env['PATH']);
  const child = spawn(spawned.command, spawned.args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env,
  });
  const stdout = child.stdout;
  const stderr = child.stderr;
  const killGraceMs = options.killGraceMs ?? 10_000;
  const maxLine = options.maxLineBytes ?? 256 * 1024 * 1024;
  let terminated: TerminationReason | undefined;
  let handlerError: unknown;
  let killTimer: NodeJS.Timeout | undefined;
  let exited = false;

  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      exited = true;
      resolve({ code, signal });
    });
  });
  // A spawn failure (ENOENT, EACCES) surfaces through `exit`; keep it from being unhandled meanwhile.
  exit.catch(() => undefined);

  const signalGroup = (sig: NodeJS.Signals): void => {
    if (!exited) signalProcessGroup(child.pid, sig);
  };
  const terminate = (reason: TerminationReason): void => {
    if (terminated) return;
    terminated = reason;
    signalGroup('SIGTERM');
    killTimer = setTimeout(() => signalGroup('SIGKILL'), killGraceMs);
    killTimer.unref();
    stdout.destroy();
  };

  const onAbort = (): void => terminate('aborted');
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  const timeout = options.timeoutMs !== undefined ? setTimeout(() => terminate('timeout'), options.timeoutMs) : undefined;

  const stderrTail: string[] = [];
  const stderrDone = consumeStderr(stderr, (line) => {
    const masked = options.maskStderr(line);
    stderrTail.push(masked.length > 2000 ? `${masked.slice(0, 2000)}…` : masked);
    if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    options.onStderrLine?.(line);
  });

  try {
    const decoder = new StringDecoder('utf8');
    // The start of a line not ended yet, in the pieces it came in: each chunk is searched for a
    // newline once, and a line of many chunks is joined once it ends (QA round 29: joining and
    // searching it again at each chunk made a 140 MB record take 113 s).
    const unended: string[] = [];
    let unendedLength = 0;
    try {
      for await (const chunk of stdout as AsyncIterable<Buffer>) {
        if (terminated) break;
        const text = decoder.write(chunk);
        let start = 0;
        let nl = text.indexOf('\n');
        while (nl !== -1) {
          let line = text.slice(start, nl);
          if (unended.length > 0) {
            unended.push(line);
            line = unended.join('');
            unended.length = 0;
            unendedLength = 0;
          }
          start = nl + 1;
          if (line.length > 0) {
            const pending = options.onLine(line);
            if (pending) await pending;
            if (terminated) break;
          }
          nl = text.indexOf('\n', start);
        }
        if (terminated) break;
        if (start < text.length) {
          unended.push(start === 0 ? text : text.slice(start));
          unendedLength += text.length - start;
        }
        if (unendedLength > maxLine) terminate('line_too_long');
      }
      if (!terminated) {
        const rest = unended.join('') + decoder.end();
        if (rest.trim().length > 0) {
          const pending = options.onLine(rest);
          if (pending) await pending;
        }
      }
    } catch (err) {
      // A destroyed stdout (we terminated) ends the loop with an error; anything else is the handler's.
      if (!terminated) {
        handlerError = err;
        terminate('handler_failed');
      }
    }
    const { code, signal } = await exit;
    await stderrDone;
    return {
      exitCode: code,
      signal,
      ...(terminated ? { terminated } : {}),
      ...(handlerError !== undefined ? { handlerError } : {}),
      stderrTail,
      durationMs: Date.now() - started,
    };
  } finally {
    if (timeout) clearTimeout(timeout);
    if (killTimer) clearTimeout(killTimer);
    options.signal?.removeEventListener('abort', onAbort);
    // Never leave a connector (or a worker it forked) behind.
    if (!exited) signalGroup('SIGKILL');
  }
}

async function consumeStderr(stream: NodeJS.ReadableStream, onLine: (line: string) => void): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const text = rest + decoder.write(chunk);
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      if (rest.length > 64 * 1024) rest = rest.slice(0, 64 * 1024);
      for (const l of lines) if (l.trim().length > 0) onLine(l);
    }
  } catch {
    // The process was killed; what was read is enough.
  }
  rest += decoder.end();
  if (rest.trim().length > 0) onLine(rest);
}
