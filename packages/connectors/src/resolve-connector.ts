import { access, constants, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ConnectorNotFoundError, NonRetryableTaskError, RetryableTaskError } from '@sluice/core';
import { Connector, type ConnectorSource } from './connector.ts';
import type { ConnectorLogHandler } from './connector-log.ts';
import { probeDockerEngine } from './docker-engine.ts';
import { installPythonConnector, PythonInstallError } from './install-python-connector.ts';

/** The setting the runner's configuration schema should include (see README). */
export const connectorsSettings = z.object({
  SLUICE_CONNECTORS_DIR: z.string().min(1).default('./.sluice/connectors'),
});

export const DEFAULT_CONNECTORS_DIR = './.sluice/connectors';

export interface ResolveConnectorOptions {
  /** pip version pin for `airbyte-<sourceName>` (e.g. `7.2.1`); the newest when absent. */
  version?: string | null;
  /** Where Python connectors get their virtualenvs; the runner passes SLUICE_CONNECTORS_DIR. */
  connectorsDir?: string;
  /** The PATH searched for an executable named `sourceName`; the process's PATH by default. */
  searchPath?: string;
  /** Interpreter that creates virtualenvs. */
  python?: string;
  installTimeoutMs?: number;
  pipArgs?: string[];
  /** Try a Docker image `airbyte/<sourceName>` when PATH and pip fail (default true). */
  docker?: boolean;
  dockerCommand?: string;
  killGraceMs?: number;
  onLog?: ConnectorLogHandler;
  /** Stops an install under way (its `pip`, or the wait for another process's): throws the signal's reason. */
  signal?: AbortSignal | undefined;
}

const SOURCE_NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/;

/**
 * One Connector per resolved executable in a process, so its cached `spec` serves every task of
 * every run (a connector's `spec` costs a process start: 1.5 s for source-faker). A PATH executable
 * is keyed by its size and mtime too, so replacing it is noticed.
 */
const resolved = new Map<string, Connector>();

async function connectorFor(sourceName: string, source: ConnectorSource, grace: number): Promise<Connector> {
  let identity = JSON.stringify([sourceName, source, grace]);
  if (source.kind === 'path') {
    const st = await stat(source.executable);
    identity += `:${st.size}:${st.mtimeMs}`;
  }
  let c = resolved.get(identity);
  if (!c) {
    c = new Connector(sourceName, source, grace);
    resolved.set(identity, c);
  }
  return c;
}
const VERSION = /^[A-Za-z0-9][A-Za-z0-9.+!_-]{0,63}$/;

async function findOnPath(name: string, searchPath: string): Promise<string | undefined> {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      if ((await stat(candidate)).isFile()) {
        await access(candidate, constants.X_OK);
        return candidate;
      }
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/**
 * Finds or installs the connector for `sourceName` the way PyAirbyte does:
 * 1. an executable of that name on PATH;
 * 2. else the Python package `airbyte-<sourceName>` (pinned to `version` when given), pip-installed
 *    once into its own virtualenv under `connectorsDir` and shared by every job and runner process;
 * 3. else the Docker image `airbyte/<sourceName>` (tag `version` or `latest`) when a Docker engine answers.
 *
 * A source that none of these provides fails with a NonRetryableTaskError saying what each step found.
 */
export async function resolveConnector(sourceName: string, options: ResolveConnectorOptions = {}): Promise<Connector> {
  const log = (message: string, level: 'info' | 'warn' = 'info'): void => options.onLog?.({ level, origin: 'sluice', message });
  if (!SOURCE_NAME.test(sourceName)) {
    throw new NonRetryableTaskError(`source_name "${sourceName}" is not a connector name (expected lower-case letters, digits and dashes, e.g. "source-faker")`);
  }
  const version = options.version ?? undefined;
  if (version !== undefined && !VERSION.test(version)) {
    throw new NonRetryableTaskError(`connector version "${version}" for ${sourceName} is not a version (e.g. "7.2.1")`);
  }
  const grace = options.killGraceMs ?? 10_000;
  const searchPath = options.searchPath ?? process.env['PATH'] ?? '';

  const onPath = await findOnPath(sourceName, searchPath);
  if (onPath) {
    log(`using ${sourceName} from PATH: ${onPath}`);
    return connectorFor(sourceName, { kind: 'path', executable: onPath }, grace);
  }

  const attempts: string[] = [`no executable "${sourceName}" on PATH`];
  let pipHasNone = false;
  /** The install failed for a full disk, which freeing space mends: the task is retried. */
  let transient = false;
  const connectorsDir = path.resolve(options.connectorsDir ?? DEFAULT_CONNECTORS_DIR);
  try {
    const install = await installPythonConnector(sourceName, {
      connectorsDir,
      version,
      ...(options.python ? { python: options.python } : {}),
      ...(options.installTimeoutMs ? { installTimeoutMs: options.installTimeoutMs } : {}),
      ...(options.pipArgs ? { pipArgs: options.pipArgs } : {}),
      onProgress: (m) => log(m),
      signal: options.signal,
    });
    log(
      `using airbyte-${sourceName} ${install.marker.installedVersion} from ${install.dir}${install.installedNow ? ' (installed now)' : ''}`,
    );
    return connectorFor(
      sourceName,
      {
        kind: 'python',
        dir: install.dir,
        python: install.python,
        script: install.script,
        packageName: install.marker.packageName,
        installedVersion: install.marker.installedVersion,
      },
      grace,
    );
  } catch (err) {
    if (!(err instanceof PythonInstallError)) throw err;
    pipHasNone = err.notFound;
    transient = err.transient;
    attempts.push(err.message);
    log(err.message, 'warn');
  }

  options.signal?.throwIfAborted();
  const image = `airbyte/${sourceName}:${version ?? 'latest'}`;
  if (options.docker ?? true) {
    const dockerCommand = options.dockerCommand ?? 'docker';
    const probe = await probeDockerEngine(dockerCommand);
    if (probe.available) {
      log(`using Docker image ${image} (engine ${probe.serverVersion})`);
      return connectorFor(sourceName, { kind: 'docker', image, dockerCommand }, grace);
    }
    attempts.push(`Docker image ${image} skipped: ${probe.reason}`);
  } else {
    attempts.push(`Docker image ${image} not tried (Docker disabled)`);
  }
  // Not on PATH, not on pip's index, no Docker: it exists nowhere Sluice could run it from.
  if (pipHasNone) throw new ConnectorNotFoundError(sourceName, attempts);
  const failed = `connector ${sourceName} could not be found or installed: ${attempts.join('; ')}`;
  throw transient ? new RetryableTaskError(`${failed} (retried: the next try installs again)`) : new NonRetryableTaskError(failed);
}
