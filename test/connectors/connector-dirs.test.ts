/**
 * A runner killed with SIGKILL mid-connector cannot remove the connector's private directory,
 * which holds the source's config (secrets included) in plaintext: the next runner's start
 * removes the directories of processes that are gone, and only those.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { removeOrphanedConnectorDirs } from '@sluice/connectors';
import { makeConnectorDir as makeOwnDir } from '../../packages/connectors/src/connector-dirs.ts';
import { testEnv } from '../support/env.ts';
import { testConnectorDir } from './support.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test("a killed process's connector directory is removed, and a predecessor's with this pid; this process's own is kept", { timeout: 60_000 }, async () => {
  const tmp = await mkdtemp(path.join(testEnv.tmpDir, 'connector-dirs-'));
  dirs.push(tmp);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'connector-in-child.ts'), '3'], {
    env: { ...process.env, TMPDIR: tmp, PATH: `${testConnectorDir}${path.delimiter}${process.env['PATH'] ?? ''}` },
    stdio: 'ignore',
  });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const prefix = `sluice-connector-${child.pid}-`;
  let config = '';
  for (const deadline = Date.now() + 30_000; config === ''; ) {
    if (Date.now() > deadline) throw new Error(`no ${prefix}* directory with a config in ${tmp}`);
    const found = (await readdir(tmp)).find((n) => n.startsWith(prefix));
    if (found) config = await readFile(path.join(tmp, found, 'config.json'), 'utf8').catch(() => '');
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(config, /canary-in-a-dead-runner/, 'the directory holds the config in plaintext');
  child.kill('SIGKILL');
  await closed;
  // This process's own directory (its name carries this process's start time, as the child's did) is in use.
  const own = (await makeOwnDir(tmp)).split(path.sep).pop() ?? '';
  // A predecessor with this same pid (a restarted container's runner) started at another time.
  await mkdir(path.join(tmp, `sluice-connector-${process.pid}-1000-predecessor`));
  await mkdir(path.join(tmp, 'sluice-connector-legacy'));

  assert.equal(await removeOrphanedConnectorDirs(tmp), 2);
  assert.deepEqual((await readdir(tmp)).filter((n) => n.startsWith('sluice-connector-')).sort(), [own, 'sluice-connector-legacy'].sort());
  assert.equal(await removeOrphanedConnectorDirs(tmp), 0);
});
