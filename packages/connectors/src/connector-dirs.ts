import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** `sluice-connector-{pid}-`: a connector run's private directory names the process that made it. */
const PREFIX = 'sluice-connector-';
const OWNED = /^sluice-connector-(\d+)-/;

/**
 * A fresh private directory (mode 0700) for one connector run's config, catalog and state files,
 * named after this process, so that what a killed process leaves can be told from what a live
 * one uses (removeOrphanedConnectorDirs).
 */
export function makeConnectorDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists and belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the private directories of connector runs whose process has died (a runner killed with
 * SIGKILL cannot remove its own): they hold the source's config, secrets included, in plaintext.
 * Only directories of this user whose process is gone are touched. Answers how many were removed.
 */
export async function removeOrphanedConnectorDirs(tmpDir: string = os.tmpdir()): Promise<number> {
  let removed = 0;
  const uid = process.getuid?.();
  for (const name of await readdir(tmpDir)) {
    const pid = OWNED.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || isAlive(Number(pid))) continue;
    const dir = path.join(tmpDir, name);
    const st = await lstat(dir).catch(() => null);
    if (!st?.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
    await rm(dir, { recursive: true, force: true });
    removed++;
  }
  return removed;
}
