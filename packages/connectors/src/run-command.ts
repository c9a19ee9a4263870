import { spawn } from 'node:child_process';
import { dyingWithParent, signalProcessGroup } from './parent-death.ts';

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** How long a helper program stopped by `signal` has between SIGTERM and SIGKILL. */
const STOP_GRACE_MS = 5_000;

/**
 * Runs a helper program (python, pip, docker) to completion and collects its output, capped at
 * `maxOutput` characters per stream (the tail is kept). Never throws for a non-zero exit; a
 * program that cannot start answers code null with the reason in `stderr`. The program runs in a
 * process group of its own, which a timeout kills, and which `signal` stops (SIGTERM, then SIGKILL
 * after a grace): a `pip install` must not outlive the process that started it (QA round 38a F4:
 * it went on after `pnpm start` stopped, beside the next start's install). On Linux it also dies
 * with this process when that is killed outright (`dyingWithParent`).
 */
export function runCommand(
  command: string,
  args: string[],
  options: { timeoutMs: number; env?: NodeJS.ProcessEnv; cwd?: string; maxOutput?: number; signal?: AbortSignal | undefined },
): Promise<CommandResult> {
  const max = options.maxOutput ?? 64 * 1024;
  const { signal } = options;
  if (signal?.aborted) return Promise.resolve({ code: null, signal: null, stdout: '', stderr: 'not started: stopping', timedOut: false });
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const launch = dyingWithParent({ command, args }, (options.env ?? process.env)['PATH']);
    const child = spawn(launch.command, launch.args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env, cwd: options.cwd, detached: true });
    const keep = (acc: string, chunk: Buffer): string => {
      const next = acc + chunk.toString('utf8');
      return next.length > max ? next.slice(next.length - max) : next;
    };
    child.stdout.on('data', (c: Buffer) => (stdout = keep(stdout, c)));
    child.stderr.on('data', (c: Buffer) => (stderr = keep(stderr, c)));
    const signalGroup = (sig: NodeJS.Signals): void => signalProcessGroup(child.pid, sig);
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup('SIGKILL');
    }, options.timeoutMs);
    const onAbort = (): void => {
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), STOP_GRACE_MS);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (result: Omit<CommandResult, 'timedOut'>): void => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      signal?.removeEventListener('abort', onAbort);
      resolve({ ...result, timedOut });
    };
    child.once('error', (err) => settle({ code: null, signal: null, stdout, stderr: `${stderr}${err.message}` }));
    child.once('close', (code, sig) => settle({ code, signal: sig, stdout, stderr }));
  });
}

/** The last non-empty lines of a program's output, for an error message. */
export function tailLines(text: string, n: number): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim().length > 0)
    .slice(-n)
    .join('\n');
}
