import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { LocalServiceError } from '@sluice/local-services';
import { claimStartDirectory } from './start-lock.ts';

test("a directory's start.pid refuses a second start while a start runs, and is taken over from any other process (QA round 37c F4)", async (t) => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'start-lock-'));
  const file = path.join(home, 'start.pid');
  // A live node process given the command start, as `pnpm start` is; and a live node program that is not one.
  const start = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)', 'start'], { stdio: 'ignore' });
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  t.after(() => {
    start.kill('SIGKILL');
    other.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
  });
  await new Promise((r) => setTimeout(r, 300));

  writeFileSync(file, `${start.pid ?? 0}\n`);
  assert.throws(() => claimStartDirectory(home), (e: unknown) => e instanceof LocalServiceError && e.message.startsWith(`another sluice start (pid ${start.pid ?? 0}) runs from ${home}`));
  assert.equal(readFileSync(file, 'utf8').trim(), String(start.pid), 'the running start keeps its file');

  // A pid a dead start left, reused by another program (before: any node process counted as a start).
  writeFileSync(file, `${other.pid ?? 0}\n`);
  const release = claimStartDirectory(home);
  assert.equal(readFileSync(file, 'utf8').trim(), String(process.pid));
  release();
  assert.throws(() => readFileSync(file), 'released');
});
