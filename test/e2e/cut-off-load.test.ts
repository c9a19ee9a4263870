/**
 * A load whose commit gets no answer (the catalog's UPDATE held back on its way to PostgreSQL, and
 * then cut: it never happens): its try keeps the data files it wrote, as Iceberg's writers do on
 * an unknown commit state, and fails; the retry commits its own files and removes the first try's,
 * which no snapshot references (QA round 35b F2: they stayed in the table's data/ for good). The
 * tables then hold each row once and data/ holds only the files their snapshot reads. A load cut
 * off with no try left fails its run: the retention sweep removes its files once a newer run's
 * load is in the table, and not before (QA round 39b F3).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { IcebergCatalog, SqlCatalogBackend } from '@sluice/iceberg';
import { createMemoryLogger } from '@sluice/logging';
import { removeExpiredRunFiles } from '@sluice/runner';
import { putTestConnectorOnPath } from '../connectors/support.ts';
import { readWithPyIceberg } from '../iceberg/pyiceberg.ts';
import { testEnv } from '../support/env.ts';
import { holdCatalogCommits, type HeldCommits } from '../support/held-commits.ts';
import { startSluiceStack, type SluiceStack } from '../support/sluice-stack.ts';

let stack: SluiceStack;
let held: HeldCommits;

before(async () => {
  putTestConnectorOnPath();
  stack = await startSluiceStack({
    storage: 'file',
    connectorsDir: path.join(testEnv.tmpDir, 'connectors-cut-off-load'),
    // The runner's catalog reaches PostgreSQL through the proxy, and gives up on a statement after 1.5 s.
    catalog: async (databaseUrl, store) => {
      held = await holdCatalogCommits(databaseUrl);
      return new IcebergCatalog(new SqlCatalogBackend(held.url, 'sluice', store, 1_500), store, 'warehouse', undefined);
    },
  });
});
after(async () => {
  await stack.close();
  await held.close();
});

test("a load try cut off before its commit leaves its data files; the retry's commit removes them, and each row is in the table once", { timeout: 180_000 }, async () => {
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name: 'cut-off load',
    source_name: 'source-sluice-test',
    source_config: { records: 4 },
    schema_name: 'cut_off_load',
    mode: 'append',
    streams: ['users'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const job = created.body.job_id;
  // One retry of the load, 3 s after (read when the job's DAG is first used).
  await stack.db.prisma.dagTask.updateMany({ where: { dag: { jobId: job }, taskType: 'load' }, data: { retries: 1, retryDelayMs: 3_000, maxRetryDelayMs: 3_000 } });
  // A first run makes the table (a load that made it drops it whole when its commit fails), then the source has two records more.
  const first = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
  assert.equal((await stack.waitForRun(first.body.run_id, 90_000)).state, 'success');
  assert.equal((await stack.api('PATCH', `/api/airbyte/ingest/${job}`, { source_config: { records: 6 } })).status, 200);

  held.arm();
  const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
  // The first try's commit is held until its writer gives up on it (1.5 s); then it is cut, unsent,
  // before the retry commits.
  const loadState = async (): Promise<string | undefined> =>
    (await stack.api<{ tasks: { task_id: string; state: string }[] }>('GET', `/api/runs/${t.body.run_id}`)).body.tasks.find((x) => x.task_id === 'load')?.state;
  for (let i = 0; i < 1_200 && (await loadState()) !== 'up_for_retry'; i++) await sleep(50);
  assert.ok(held.held() > 0, "the load's commit was not held");
  held.drop();

  const run = await stack.waitForRun(t.body.run_id, 90_000);
  assert.equal(run.state, 'success', JSON.stringify(run.tasks));
  const load = run.tasks.find((x) => x.task_id === 'load');
  assert.equal(load?.try_number, 2, JSON.stringify(load));
  const log = await stack.api<{ lines: { message: string }[] }>('GET', `/api/runs/${t.body.run_id}/tasks/load/logs?try=2&map_index=0`);
  const said = log.body.lines.map((l) => l.message);
  assert.ok(said.includes('removed 1 data file that earlier tries of this load wrote to cut_off_load.users and never committed'), said.join('\n'));

  const view = await readWithPyIceberg(stack.db.url, 'cut_off_load', 'users', stack.s3);
  assert.deepEqual(view.rows.map((r) => Number(r['seq'])).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6], 'each record once');
  const inData: string[] = [];
  for await (const o of stack.store.list('warehouse/cut_off_load/users/data/')) inData.push(stack.store.uri(o.key));
  assert.deepEqual(inData.sort(), view.files.map((f) => f.file_path).sort(), 'data/ holds only what the snapshot reads');
});

test("a failed run's cut-off load leaves its files until the retention sweep, which removes them once a newer run's load is in the table (QA round 39b F3)", { timeout: 240_000 }, async () => {
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name: 'cut-off load, no retry',
    source_name: 'source-sluice-test',
    source_config: { records: 0 },
    schema_name: 'cut_off_failed',
    mode: 'append',
    streams: ['users'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const job = created.body.job_id;
  await stack.db.prisma.dagTask.updateMany({ where: { dag: { jobId: job }, taskType: 'load' }, data: { retries: 0 } });
  // The source reads on from its state: each run is given three records more, so that each load has rows to commit.
  let records = 0;
  const moreRecords = async (): Promise<void> => {
    records += 3;
    assert.equal((await stack.api('PATCH', `/api/airbyte/ingest/${job}`, { source_config: { records } })).status, 200);
  };
  const run = async (): Promise<{ run_id: string; state: string }> => {
    await moreRecords();
    const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
    assert.equal(t.status, 201, JSON.stringify(t.body));
    return { run_id: t.body.run_id, state: (await stack.waitForRun(t.body.run_id, 90_000)).state };
  };
  /** A run whose load's commit is held until its writer gives up, then cut: the run fails. */
  const cutOffRun = async (): Promise<string> => {
    await moreRecords();
    held.arm();
    const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
    for (let i = 0; i < 1_200 && held.held() === 0; i++) await sleep(50);
    assert.ok(held.held() > 0, "the load's commit was not held");
    const ended = await stack.waitForRun(t.body.run_id, 90_000);
    held.drop();
    assert.equal(ended.state, 'failed', JSON.stringify(ended.tasks));
    return t.body.run_id;
  };
  const data = async (): Promise<string[]> => {
    const out: string[] = [];
    for await (const o of stack.store.list('warehouse/cut_off_failed/users/data/')) out.push(stack.store.uri(o.key));
    return out.sort();
  };
  const named = (files: string[], runId: string): string[] => files.filter((f) => path.basename(f).startsWith(`${runId}-`));

  assert.equal((await run()).state, 'success'); // makes the table
  const superseded = await cutOffRun();
  assert.equal(named(await data(), superseded).length, 1, 'the cut-off try kept its data file');
  assert.equal((await run()).state, 'success'); // a newer run's load: every commit of the first is refused now
  const newest = await cutOffRun(); // no newer load follows it: a try of it could still commit
  assert.equal(named(await data(), newest).length, 1);

  const { logger, lines } = createMemoryLogger();
  const catalog = new IcebergCatalog(new SqlCatalogBackend(stack.db.url, 'sluice', stack.store), stack.store, 'warehouse', undefined);
  try {
    // Eight days on, the staging of both failed runs is due.
    const swept = await removeExpiredRunFiles({ prisma: stack.db.prisma, store: stack.store, catalog, logger }, { archiveDays: 0, stagingDays: 7, historyDays: 0 }, new Date(Date.now() + 8 * 86_400_000));
    assert.equal(swept, 2);
  } finally {
    await catalog.close();
  }
  const after = await data();
  assert.deepEqual(named(after, superseded), [], "the superseded run's cut-off file is gone");
  assert.equal(named(after, newest).length, 1, "the newest run's stays: no newer load refuses its commit");
  assert.ok(
    lines.some((l) => (JSON.parse(l) as { message: string }).message === `retention: removed 1 data file that a cut-off load of run ${superseded} left in cut_off_failed.users`),
    lines.join('\n'),
  );
  const view = await readWithPyIceberg(stack.db.url, 'cut_off_failed', 'users', stack.s3);
  assert.equal(view.rows.length, 9, 'the two successful runs: the first 3 records, then the 6 after them (the failed run saved no state)');
  assert.deepEqual(after.filter((f) => !named(after, newest).includes(f)), view.files.map((f) => f.file_path).sort(), 'the rest of data/ is what the snapshot reads');
});
