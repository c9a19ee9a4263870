import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LocalServiceError } from '@sluice/local-services';

/**
 * Whether a process with this id runs a start: a node program given the command `start` (a pid a
 * dead start left may have been reused by another program; QA round 37c F4: any node process
 * counted).
 */
function runsStart(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return args.some((arg) => path.basename(arg).startsWith('node')) && args.includes('start');
  } catch {
    return true; // no /proc to tell: the process runs, so count it
  }
}

/**
 * Makes this process the one `sluice start` of the directory `home` (its `start.pid`), so that a
 * second start there refuses at once instead of taking over the first one's PostgreSQL and Redis
 * as leftovers, and stopping them as it fails (QA round 37b F1). A file whose process is gone (a
 * start killed with SIGKILL) is taken over. Answers the release.
 */
export function claimStartDirectory(home: string): () => void {
  mkdirSync(home, { recursive: true });
  const file = path.join(home, 'start.pid');
  for (;;) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return () => {
        if (ownerOf(file) === process.pid) rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = ownerOf(file);
    if (owner !== null && owner !== process.pid && runsStart(owner)) {
      throw new LocalServiceError(
        `another sluice start (pid ${owner}) runs from ${home}: its PostgreSQL, Redis and data are its own. Stop it first (Ctrl-C in its terminal, or kill ${owner}), or run this one from another directory`,
      );
    }
    rmSync(file, { force: true }); // left by a start that did not stop
  }
}

function ownerOf(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
