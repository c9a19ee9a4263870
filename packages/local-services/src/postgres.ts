import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { postgresBinDir } from './find-program.ts';
import { isListening, unusedPortAfter } from './free-port.ts';

export interface LocalService {
  url: string;
  /**
   * Found running from `dir` (left by an earlier start that did not stop, e.g. one killed with
   * SIGKILL) and taken over: it is stopped with this process, as if this process had started it.
   */
  adopted: boolean;
  /** Stops the service if this process started it, or took it over. */
  stop(): Promise<void>;
}

export class LocalServiceError extends Error {
  override readonly name = 'LocalServiceError';
}

/** The settings that choose a local service's port, or another server instead: named in a refusal. */
export interface ServiceSettings {
  /** The variable giving the local service's port. */
  port: string;
  /** The variable naming a server to use instead. */
  url: string;
}

/**
 * Something else listens on the port a local service is to run on — another checkout's `pnpm
 * start`, say: it is neither joined (its data, keys and files are another installation's) nor
 * taken over.
 */
export async function portTaken(service: string, port: number, dir: string, settings: ServiceSettings | undefined): Promise<LocalServiceError> {
  const ways = settings
    ? `stop it, give this start another port (${settings.port}=${await unusedPortAfter(port)}), or set ${settings.url} to that server to use it on purpose`
    : 'stop it, or use another port';
  return new LocalServiceError(`port ${port} is taken by a server that does not run from ${dir} (another checkout's \`pnpm start\`?), so no local ${service} can run there: ${ways}`);
}

/**
 * Why the local server did not start, in one line, from what this start wrote to its log (QA round
 * 48b O1: pg_ctl's "could not start server" and a stack trace, the reason only in the log): its
 * port held without a server on it (an outgoing connection's local port: the port is in Linux's
 * ephemeral range) is said with another port to use.
 */
async function startFailure(port: number, log: string, from: number, settings: ServiceSettings | undefined): Promise<LocalServiceError> {
  const written = existsSync(log) ? readFileSync(log, 'utf8').slice(from) : '';
  const reason = written.split('\n').find((l) => /FATAL|could not bind|could not create/.test(l))?.replace(/^.*?(LOG|FATAL|ERROR):\s+/, '') ?? 'pg_ctl could not start it';
  const taken = /Address already in use/.test(written);
  const advice = taken
    ? `: port ${port} is in use (a connection's local port, say)${settings ? `; give this start another port (${settings.port}=${await unusedPortAfter(port)})` : ''}`
    : '';
  return new LocalServiceError(`the local PostgreSQL did not start on 127.0.0.1:${port}: ${reason}${advice} (its log: ${log})`);
}

/** The port of the postmaster running from `dataDir` (its postmaster.pid's fourth line), if any. */
function postmasterPort(dataDir: string): number | undefined {
  try {
    const port = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[3]);
    return Number.isInteger(port) ? port : undefined;
  } catch {
    return undefined;
  }
}

function postgresIds(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/** The URL of the local PostgreSQL `startPostgres` runs on `port`. */
function localPostgresUrl(port: number): string {
  return `postgresql://sluice@127.0.0.1:${port}/sluice`;
}

/**
 * The URL of the local PostgreSQL `startPostgres` runs from `dataDir`, on the port its
 * postmaster.pid names, while one runs there (its pid file is removed when it stops).
 */
export function runningLocalPostgresUrl(dataDir: string): string | undefined {
  const port = postmasterPort(dataDir);
  return port === undefined ? undefined : localPostgresUrl(port);
}

/**
 * Runs a PostgreSQL cluster in `dataDir` on 127.0.0.1:`port`, creating it with trust auth for
 * user `sluice` and database `sluice` on first use. As root, the server runs as `postgres`.
 * `durable: false` (throwaway clusters of tests and benchmarks) turns fsync off: faster, and a
 * machine crash may corrupt the cluster. A cluster whose data is kept (`pnpm start`) is durable.
 */
export async function startPostgres(dataDir: string, port: number, options: { durable: boolean; settings?: ServiceSettings }): Promise<LocalService> {
  const url = localPostgresUrl(port);
  const bin = postgresBinDir();
  if (!bin) {
    throw new LocalServiceError(
      'PostgreSQL is not installed and DATABASE_URL is not set: install it (apt-get install -y postgresql) or set DATABASE_URL=postgresql://user:pass@host:5432/db',
    );
  }
  const isRoot = process.getuid?.() === 0;
  const ids = isRoot ? postgresIds() : undefined;
  if (isRoot && !ids) throw new LocalServiceError('running as root needs the postgres system user to run PostgreSQL');
  const asPg = (cmd: string, args: string[]): void => {
    const full = ids ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] as const : [cmd, args] as const;
    execFileSync(full[0], full[1], { stdio: ['ignore', 'pipe', 'pipe'] });
  };

  // A server on the port that runs from this very data directory was left by an earlier start.
  const listening = await isListening('127.0.0.1', port);
  const adopted = listening && postmasterPort(dataDir) === port;
  if (listening && !adopted) throw await portTaken('PostgreSQL', port, dataDir, options.settings);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    mkdirSync(dataDir, { recursive: true });
    chmodSync(dataDir, 0o700);
    if (ids) chownSync(dataDir, ids.uid, ids.gid);
    asPg(path.join(bin, 'initdb'), ['-D', dataDir, '-U', 'sluice', '--auth=trust', '-E', 'UTF8', '--no-instructions']);
  }
  let startedHere = adopted;
  if (!listening) {
    const log = path.join(dataDir, 'server.log');
    const logged = existsSync(log) ? readFileSync(log, 'utf8').length : 0;
    try {
      asPg(path.join(bin, 'pg_ctl'), [
        '-D', dataDir,
        '-o', `-p ${port} -k ${dataDir} -c listen_addresses=127.0.0.1 -c max_connections=300${options.durable ? '' : ' -c fsync=off'}`,
        '-l', log,
        '-w', 'start',
      ]);
    } catch {
      throw await startFailure(port, log, logged, options.settings);
    }
    startedHere = true;
  }
  const admin = new pg.Client({ connectionString: `postgresql://sluice@127.0.0.1:${port}/postgres` });
  await admin.connect();
  try {
    const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'sluice'");
    if (!rowCount) await admin.query('CREATE DATABASE sluice');
  } finally {
    await admin.end();
  }
  return {
    url,
    adopted,
    async stop() {
      if (startedHere) asPg(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
    },
  };
}
