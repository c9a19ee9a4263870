import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * `sluice-connector-{pid}-{start}-`: a connector run's private directory names the process that
 * made it, by pid and start time (in seconds), so that a later process with the same pid (a
 * restarted container's runner) tells its predecessor's directories from its own.
 */
const PREFIX = 'sluice-connector-';
const OWNED = /^sluice-connector-(\d+)-(\d+)-/;
const PROCESS_START = Math.round(Date.now() / 1000 - process.uptime());

/**
 * A fresh private directory (mode 0700) for one connector run's config, catalog and state files,
 * named after this process, so that what a killed process leaves can be told from what a live
 * one uses (removeOrphanedConnectorDirs).
 */
export function makeConnectorDir(tmpDir: string = os.tmpdir()): Promise<string> {
  return mkdtemp(path.join(tmpDir, `${PREFIX}${process.pid}-${PROCESS_START}-`));
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
 * Only directories of this user whose process is gone are touched: another pid that is not alive,
 * or this process's pid with another start time. Answers how many were removed.
 */
export async function removeOrphanedConnectorDirs(tmpDir: string = os.tmpdir()): Promise<number> {
  let removed = 0;
  const uid = process.getuid?.();
  for (const name of await readdir(tmpDir)) {
    const m = OWNED.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    // This process's own directories are in use; a live other process's may be.
    const orphaned = pid === process.pid ? Number(m[2]) !== PROCESS_START : !isAlive(pid);
    if (!orphaned) continue;
    const dir = path.join(tmpDir, name);
    const st = await lstat(dir).catch(() => null);
    if (!st?.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
    await rm(dir, { recursive: true, force: true });
    removed++;
  }
  return removed;
}
