import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { NonRetryableTaskError } from '@sluice/core';
import { mergeSpillDirectory, outOfDuckDbMemory, removeOrphanedScratchDirs, withDuckDb } from './duckdb-session.ts';

const memoryLimit = (settings?: { memoryLimit?: string }) =>
  withDuckDb(async (c) => String((await c.runAndReadAll("SELECT current_setting('memory_limit')")).getRows()[0]?.[0]), settings);

test("a task's DuckDB session takes the memory limit it is given, and DuckDB's own default without one", async () => {
  assert.equal(await memoryLimit({ memoryLimit: '256MB' }), '244.1 MiB');
  assert.notEqual(await memoryLimit(), '244.1 MiB');
});

test("DuckDB's out-of-memory error becomes a failure no retry changes, naming the setting; other errors are left as they are (QA round 42b F1)", async () => {
  // A real one: a sort of 20 million rows in DuckDB's least memory, without a place to spill to.
  const err = await withDuckDb(async (c) => {
    await c.run("SET temp_directory = ''");
    await c.run('SELECT * FROM range(20000000) t(i) ORDER BY i DESC');
  }, { memoryLimit: '16MB' }).then(
    () => assert.fail('the sort fitted'),
    (e: unknown) => e,
  );
  const failure = outOfDuckDbMemory(err, 'stream users: the merge into shop.users', '16MB');
  assert.ok(failure instanceof NonRetryableTaskError);
  assert.match(failure.message, /^stream users: the merge into shop\.users did not fit in SLUICE_DUCKDB_MEMORY_LIMIT=16MB: give the runners a higher limit and clear this task \(DuckDB: Out of Memory Error: [^\n]+\)$/);
  assert.equal(outOfDuckDbMemory(err, 'transform', undefined)?.message.startsWith("transform did not fit in DuckDB's memory limit:"), true);
  assert.equal(outOfDuckDbMemory(new Error('Catalog Error: Table with name t does not exist!'), 'transform', '16MB'), null);
});

test("a runner's merges spill to a directory of its process's own, removed once that process has died (QA round 51b D1: every process spilled to /tmp/sluice-duckdb)", () => {
  const mine = mergeSpillDirectory();
  assert.equal(path.dirname(mine), os.tmpdir());
  assert.match(path.basename(mine), new RegExp(`^sluice-load-${process.pid}-\\d+-merges$`));
  // Another process's is another directory.
  const script = `import('${import.meta.resolve('./duckdb-session.ts')}').then((m) => console.log(m.mergeSpillDirectory()))`;
  const theirs = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' }).trim();
  assert.notEqual(theirs, mine);
  assert.match(path.basename(theirs), /^sluice-load-\d+-\d+-merges$/);
  // That process has ended: what its DuckDB spilled there goes with the next runner's sweep; this process's stays.
  mkdirSync(theirs);
  mkdirSync(mine, { recursive: true });
  return removeOrphanedScratchDirs().then(() => {
    assert.equal(existsSync(theirs), false);
    assert.equal(existsSync(mine), true);
    rmSync(mine, { recursive: true });
  });
});
