import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCommand } from './run-command.ts';

/** Whether a process of that id is still there. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `check` holds, for at most `ms`; answers whether it did. */
async function within(ms: number, check: () => boolean): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await sleep(50);
  }
  return check();
}

/** The pid a program wrote into `file` once it is there. */
async function pidIn(file: string): Promise<number> {
  let pid = NaN;
  await within(10_000, () => {
    try {
      pid = Number(readFileSync(file, 'utf8').trim());
    } catch {
      return false;
    }
    return Number.isInteger(pid) && pid > 0;
  });
  assert.ok(Number.isInteger(pid) && pid > 0, `no pid in ${file}`);
  return pid;
}

test('a program stopped by the signal ends, with what it forked, and the answer says it was signalled', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'run-command-'));
  const grandchild = path.join(dir, 'grandchild.pid');
  const controller = new AbortController();
  // A shell that forks a sleep (as pip forks its builds) and waits for it.
  const running = runCommand('sh', ['-c', `sleep 300 & echo $! > ${grandchild}; wait`], { timeoutMs: 600_000, signal: controller.signal });
  const pid = await pidIn(grandchild);
  assert.ok(alive(pid));
  controller.abort();
  const result = await running;
  assert.equal(result.signal, 'SIGTERM');
  assert.equal(result.timedOut, false);
  assert.ok(await within(5_000, () => !alive(pid)), `the forked sleep ${pid} still runs`);
  // Already stopping: nothing starts.
  const late = await runCommand('sh', ['-c', `echo started > ${path.join(dir, 'late')}`], { timeoutMs: 10_000, signal: controller.signal });
  assert.deepEqual([late.code, late.signal], [null, null]);
  assert.throws(() => readFileSync(path.join(dir, 'late')), /ENOENT/);
});

test('a program dies with the process that started it when that is killed outright (QA round 38a F4: a pip install outlived its API)', { skip: process.platform !== 'linux' && 'parent-death signals are Linux only' }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'run-command-'));
  const file = path.join(dir, 'child.pid');
  const module = path.join(path.dirname(fileURLToPath(import.meta.url)), 'run-command.ts');
  // A node process that starts the program and is then SIGKILLed: no handler of its own can run.
  const script = `import { runCommand } from ${JSON.stringify(module)}; void runCommand('sh', ['-c', 'echo $$ > ${file}; exec sleep 300'], { timeoutMs: 600_000 });`;
  const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'ignore' });
  const exited = new Promise((resolve) => parent.once('exit', resolve));
  const pid = await pidIn(file);
  assert.ok(alive(pid));
  parent.kill('SIGKILL');
  await exited;
  assert.ok(await within(5_000, () => !alive(pid)), `the program ${pid} outlived the process that started it`);
});
