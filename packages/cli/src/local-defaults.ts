import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

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
