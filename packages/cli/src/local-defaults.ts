import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '@sluice/core';
import { runningLocalPostgresUrl } from '@sluice/local-services';

/**
 * Reads a secret kept under ./.sluice/ for single-machine development, creating it (mode 0600)
 * on first use. Used only by `sluice start` when the variable is not set.
 */
export function localSecret(dir: string, file: string, make: () => string): string {
  const p = path.join(dir, file);
  if (existsSync(p)) return readFileSync(p, 'utf8').trim();
  mkdirSync(dir, { recursive: true });
  const value = make();
  writeFileSync(p, `${value}\n`, { mode: 0o600 });
  return value;
}

export const newMasterKey = (): string => randomBytes(32).toString('base64');
export const newDevToken = (): string => `sluice-dev-${randomBytes(18).toString('base64url')}`;

/** The file under `./.sluice/` that keeps the master key `sluice start` made. */
export const MASTER_KEY_FILE = 'master.key';

/**
 * What `sluice start` says when it is given SLUICE_MASTER_KEY and `home` keeps another master key
 * (QA round 53b F1: after a rotation run with the variable, a plain `pnpm start` took the file's old
 * key, which opened nothing, and `pnpm sluice decryption-keys` failed on it); null when there is no
 * such file or it holds the same key.
 */
export function masterKeyFileDiffers(home: string, key: string): string | null {
  const file = path.join(home, MASTER_KEY_FILE);
  if (!existsSync(file) || readFileSync(file, 'utf8').trim() === key.trim()) return null;
  return (
    `SLUICE_MASTER_KEY is set and is not the key in ${file}, which a start without the variable and \`pnpm sluice decryption-keys\` here take: ` +
    'once the variable\'s key is the installation\'s (a rotation done), write it to that file (docs/encryption.md, "With pnpm start")'
  );
}

/** The directory under `./.sluice/` of the local PostgreSQL `sluice start` runs. */
export const LOCAL_POSTGRES_DIR = 'postgres';

/** The local PostgreSQL's port `sluice start` uses when SLUICE_LOCAL_POSTGRES_PORT is not set. */
export const LOCAL_POSTGRES_PORT = 54329;

/**
 * For `sluice decryption-keys` run in a checkout whose `pnpm start` keeps its files in `home`
 * (`./.sluice/`): the settings it leaves unset taken from that start — the local PostgreSQL it runs
 * (on the port that server's postmaster.pid names, whatever port the start was given) and its
 * `master.key` (QA round 40b F3: the command asked for both, with the port to be found; QA round
 * 41b F1: the default port, not the one the start ran on). Nothing when `home` has no master key
 * (not such a checkout), or the variable is set. Answers the variables, a line saying each one
 * taken, and what cannot be taken (the start's PostgreSQL does not run).
 */
export function startsOwnSettings(home: string, env: NodeJS.ProcessEnv): { env: Record<string, string>; said: string[]; problems: ConfigError[] } {
  const keyFile = path.join(home, MASTER_KEY_FILE);
  if (!existsSync(keyFile)) return { env: {}, said: [], problems: [] };
  const out: Record<string, string> = {};
  const said: string[] = [];
  const problems: ConfigError[] = [];
  if (!env['SLUICE_MASTER_KEY']) {
    out['SLUICE_MASTER_KEY'] = readFileSync(keyFile, 'utf8').trim();
    said.push(`SLUICE_MASTER_KEY is not set: using ${keyFile}, the master key pnpm start made here`);
  }
  if (!env['DATABASE_URL']) {
    const dataDir = path.join(home, LOCAL_POSTGRES_DIR);
    const url = runningLocalPostgresUrl(dataDir);
    if (url === undefined) {
      problems.push(
        new ConfigError(
          'DATABASE_URL',
          `is not set, and the local PostgreSQL of this checkout's pnpm start does not run (none runs from ${dataDir}): start pnpm start here, or set DATABASE_URL to the installation's`,
          null,
        ),
      );
    } else {
      out['DATABASE_URL'] = url;
      said.push(`DATABASE_URL is not set: using the local PostgreSQL this checkout's pnpm start runs, at ${url}`);
    }
  }
  return { env: out, said, problems };
}
