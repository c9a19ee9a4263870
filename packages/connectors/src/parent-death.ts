import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** A program and its arguments, as given to `spawn`. */
export interface Launch {
  command: string;
  args: string[];
}

/** Whether `file` is a file this process may execute. */
function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * util-linux's `setpriv`, on Linux: a child started through it gets a parent-death signal
 * (SIGKILL), so that a Sluice process killed outright (SIGKILL, the OOM killer) takes it along at
 * once instead of leaving it running: a connector reading the source beside its retry's (a CDC
 * source's replication slot held, an API's rate limit spent twice), or a `pip install` beside the
 * next start's install of the same connector (QA round 38a F4).
 */
const SETPRIV = process.platform === 'linux' ? (['/usr/bin/setpriv', '/bin/setpriv'].find(executable) ?? null) : null;

/** Whether `command` names an executable, as a spawn with this PATH would find it. */
function found(command: string, pathVar: string | undefined): boolean {
  if (command.includes('/')) return executable(command);
  return (pathVar ?? '').split(path.delimiter).some((dir) => dir !== '' && executable(path.join(dir, command)));
}

/**
 * The process to spawn for a launch: through `setpriv` when there is one and the command exists
 * (a missing command keeps failing as the spawn's ENOENT, not as setpriv's exit status). What the
 * child itself forks is not covered: a caller that may leave such a group behind stops it by
 * its process group (the children here are spawned `detached`, each a group of its own).
 */
export function dyingWithParent(launch: Launch, pathVar: string | undefined): Launch {
  if (SETPRIV === null || !found(launch.command, pathVar)) return launch;
  return { command: SETPRIV, args: ['--pdeathsig', 'KILL', '--', launch.command, ...launch.args] };
}

/**
 * Sends `sig` to the process group a `detached` child leads (the child and what it forked); a
 * group already gone, or a child that never started (no pid), is no error.
 */
export function signalProcessGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // The group is already gone.
  }
}
