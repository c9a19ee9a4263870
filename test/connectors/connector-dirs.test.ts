/**
 * A runner killed with SIGKILL mid-connector cannot remove the connector's private directory,
 * which holds the source's config (secrets included) in plaintext, nor stop the workers the
 * connector forked, which run in its process group of their own: the connector itself dies with
 * the runner (a parent-death signal), and the next runner's start stops what is left and removes
 * the directories of processes that are gone, and only those.
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

/** Pids of running processes whose command line names a file of `dir` (none when it is ''). */
async function connectorsUsing(dir: string): Promise<number[]> {
  if (dir === '') return [];
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // A zombie (state Z) has exited.
    if (cmdline.split('\0').some((a) => a.startsWith(`${dir}/`)) && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z') out.push(Number(entry));
  }
  return out;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test("a killed process's connector dies with it; its directory is removed and the worker it forked stopped, a predecessor's with this pid too; this process's own is kept", { timeout: 60_000 }, async () => {
  const tmp = await mkdtemp(path.join(testEnv.tmpDir, 'connector-dirs-'));
  dirs.push(tmp);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'connector-in-child.ts'), '60', 'fork'], {
    env: { ...process.env, TMPDIR: tmp, PATH: `${testConnectorDir}${path.delimiter}${process.env['PATH'] ?? ''}` },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let said = '';
  child.stdout.on('data', (c: Buffer) => (said += c.toString()));
  const prefix = `sluice-connector-${child.pid}-`;
  let config = '';
  let dir = '';
  for (const deadline = Date.now() + 30_000; config === '' || !said.includes('connector sleeping') || (await connectorsUsing(dir)).length < 2; ) {
    if (Date.now() > deadline) throw new Error(`no ${prefix}* directory with a config, used by a running connector, in ${tmp}`);
    const found = (await readdir(tmp)).find((n) => n.startsWith(prefix));
    if (found) {
      dir = path.join(tmp, found);
      config = await readFile(path.join(dir, 'config.json'), 'utf8').catch(() => '');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(config, /canary-in-a-dead-runner/, 'the directory holds the config in plaintext');
  const before = await connectorsUsing(dir);
  assert.equal(before.length, 2, 'the connector and its worker run');
  child.kill('SIGKILL');
  await closed;
  // The connector dies with the killed process (before: it went on reading until the next start);
  // its worker, in the connector's process group, outlives both.
  for (const deadline = Date.now() + 10_000; (await connectorsUsing(dir)).length > 1; ) {
    if (Date.now() > deadline) throw new Error('the connector outlived the process that started it');
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal((await connectorsUsing(dir)).length, 1, "the connector's worker still runs");
  // This process's own directory (its name carries this process's start time, as the child's did) is in use.
  const own = (await makeOwnDir(tmp)).split(path.sep).pop() ?? '';
  // A predecessor with this same pid (a restarted container's runner) started at another time.
  await mkdir(path.join(tmp, `sluice-connector-${process.pid}-1000-predecessor`));
  await mkdir(path.join(tmp, 'sluice-connector-legacy'));

  assert.deepEqual(await removeOrphanedConnectorDirs(tmp), { dirs: 2, connectors: 1 });
  for (const deadline = Date.now() + 10_000; (await connectorsUsing(dir)).length > 0; ) {
    if (Date.now() > deadline) throw new Error('the orphaned connector is still running');
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual((await readdir(tmp)).filter((n) => n.startsWith('sluice-connector-')).sort(), [own, 'sluice-connector-legacy'].sort());
  assert.deepEqual(await removeOrphanedConnectorDirs(tmp), { dirs: 0, connectors: 0 });
});
