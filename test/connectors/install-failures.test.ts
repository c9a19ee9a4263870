/**
 * A connector install where its directory cannot take it: full, or read-only (tmpfs mounts, which
 * only root can make; CI runs as root). A full disk is said with Python's own words and retried,
 * since freeing space mends it; a read-only directory is said at once, not waited on as another
 * process's install (QA round 51b D4, D5).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { NonRetryableTaskError, RetryableTaskError } from '@sluice/core';
import { installPythonConnector, PythonInstallError, resolveConnector } from '@sluice/connectors';
import { testEnv } from '../support/env.ts';

const notRoot = process.getuid?.() === 0 ? false : 'mounting a tmpfs needs root';
const mounts: string[] = [];

/** A tmpfs of `size` under the test's temporary directory, read-only when asked. */
async function mounted(size: string, readOnly = false): Promise<string> {
  const dir = await mkdtemp(path.join(testEnv.tmpDir, 'connectors-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${readOnly ? ',ro' : ''}`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

after(async () => {
  for (const dir of mounts) {
    execFileSync('umount', [dir]);
    await rm(dir, { recursive: true, force: true });
  }
});

test('a connectors directory too full for the install: the failure says so in Python\'s words, is retried, and leaves nothing (QA round 51b D4: "not retried", and venv\'s "exit status 1")', { skip: notRoot }, async () => {
  // A virtualenv without pip fits in 2 MB; pip does not.
  const dir = await mounted('2m');
  await assert.rejects(installPythonConnector('source-faker', { connectorsDir: dir }), (err: unknown) => {
    assert.ok(err instanceof PythonInstallError, String(err));
    assert.match(err.message, /^python3 -m venv failed to put pip in it \(ensurepip\): .*No space left on device/s);
    assert.deepEqual([err.transient, err.notFound], [true, false]);
    return true;
  });
  assert.deepEqual((await readdir(dir)).filter((f) => f.startsWith('.tmp-')), [], 'the unfinished install is removed');
  await assert.rejects(resolveConnector('source-faker', { connectorsDir: dir, version: null, docker: false, searchPath: '' }), (err: unknown) => {
    assert.ok(err instanceof RetryableTaskError, String(err));
    assert.match(err.message, /^connector source-faker could not be found or installed: .*No space left on device.* \(retried: the next try installs again\)$/s);
    return true;
  });
});

test('a read-only connectors directory: the install fails at once saying why, not after 15 minutes of "waiting for the install lock" (QA round 51b D5)', { skip: notRoot }, async () => {
  const dir = await mounted('1m', true);
  const started = Date.now();
  await assert.rejects(resolveConnector('source-faker', { connectorsDir: dir, version: null, docker: false, searchPath: '' }), (err: unknown) => {
    assert.ok(err instanceof NonRetryableTaskError, String(err));
    assert.match(
      err.message,
      new RegExp(`^connector source-faker could not be found or installed: no executable "source-faker" on PATH; the install lock of source-faker could not be made in ${dir} \\(SLUICE_CONNECTORS_DIR must be a directory this process can write\\): EROFS: read-only file system`),
    );
    return true;
  });
  assert.ok(Date.now() - started < 10_000, `answered after ${Date.now() - started} ms`);
});
