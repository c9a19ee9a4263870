import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { localPostgresUrl } from '@sluice/local-services';

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

/** The local PostgreSQL's port `sluice start` uses when SLUICE_LOCAL_POSTGRES_PORT is not set. */
export const LOCAL_POSTGRES_PORT = 54329;

/**
 * For `sluice decryption-keys` run in a checkout whose `pnpm start` keeps its files in `home`
 * (`./.sluice/`): the settings it leaves unset taken from that start, as the start runs them —
 * its local PostgreSQL (on SLUICE_LOCAL_POSTGRES_PORT) and its `master.key` (QA round 40b F3: the
 * command asked for both, with the port to be found). Nothing when `home` has no master key (not
 * such a checkout), or the variable is set. Answers the variables and a line saying each one taken.
 */
export function startsOwnSettings(home: string, env: NodeJS.ProcessEnv): { env: Record<string, string>; said: string[] } {
  const keyFile = path.join(home, MASTER_KEY_FILE);
  if (!existsSync(keyFile)) return { env: {}, said: [] };
  const out: Record<string, string> = {};
  const said: string[] = [];
  if (!env['SLUICE_MASTER_KEY']) {
    out['SLUICE_MASTER_KEY'] = readFileSync(keyFile, 'utf8').trim();
    said.push(`SLUICE_MASTER_KEY is not set: using ${keyFile}, the master key pnpm start made here`);
  }
  const port = env['SLUICE_LOCAL_POSTGRES_PORT'] ?? String(LOCAL_POSTGRES_PORT);
  if (!env['DATABASE_URL'] && /^\d{1,5}$/.test(port)) {
    out['DATABASE_URL'] = localPostgresUrl(Number(port));
    said.push(`DATABASE_URL is not set: using pnpm start's local PostgreSQL at ${out['DATABASE_URL']} (it runs while pnpm start does)`);
  }
  return { env: out, said };
}
