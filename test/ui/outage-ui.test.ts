/**
 * The flow UI when a part of Sluice is away (QA round 27):
 * - PostgreSQL, when a page opens: its pages say so, claim nothing they could not read, and fill in
 *   once it is back, without a reload (the jobs list kept its error under a green "live" for good; a
 *   job page showed an unread job as active, with its buttons);
 * - every scheduler: the pages say that schedules do not fire (they looked healthy, and kept
 *   announcing fires that did not happen);
 * - Redis (QA round 28): every page says that no task starts and no schedule fires (a run's page
 *   said only "running" and "queued").
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { freePort, startPostgres, startRedis } from '@sluice/local-services';
import { sqlTransaction } from '@sluice/db';
import { createLogger } from '@sluice/logging';
import { startScheduler } from '@sluice/scheduler';
import { testEnv } from '../support/env.ts';
import { ingestBody, startApi, type ApiHarness } from '../api/api-harness.ts';
import { browserTestsUnavailable, launchBrowser } from './ui-stack.ts';

const unavailable = browserTestsUnavailable();
const TOKEN = 'dev-token-outage-ui-0123';

let browser: Browser;
let api: ApiHarness;
let server: Awaited<ReturnType<typeof startPostgres>>;
let dir: string;
let port: number;

before(async () => {
  if (unavailable) return;
  dir = mkdtempSync(path.join(testEnv.tmpDir, 'pg-outage-ui-'));
  chmodSync(dir, 0o755);
  port = await freePort();
  server = await startPostgres(path.join(dir, 'pg'), port, { durable: false });
  api = await startApi({ devToken: TOKEN, databaseServerUrl: server.url });
  browser = await launchBrowser();
});

after(async () => {
  if (unavailable) return;
  await browser.close();
  await api.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A job of `api`, created, and a run of it triggered (no runner here: it stays running). */
async function jobWithRun(name: string): Promise<{ jobId: string; runId: string }> {
  const created = await api.request('POST', '/api/airbyte/ingest', { token: TOKEN, body: ingestBody({ name }) });
  assert.equal(created.status, 201, created.text);
  const jobId = (created.body as { job_id: string }).job_id;
  const triggered = await api.request('POST', `/api/airbyte/ingest/${jobId}/runs`, { token: TOKEN });
  assert.equal(triggered.status, 201, triggered.text);
  return { jobId, runId: (triggered.body as { run_id: string }).run_id };
}

test('pages opened while PostgreSQL is away fill in once it is back, without a reload', { skip: unavailable ?? false, timeout: 120_000 }, async () => {
  const { jobId, runId } = await jobWithRun('outage job');
  await server.stop();
  const context = await browser.newContext();
  try {
    const run = await context.newPage();
    await run.goto(`${api.url}/runs/${runId}`);
    await run.getByText('PostgreSQL is unreachable: try again shortly').first().waitFor({ timeout: 15_000 });
    const list = await context.newPage();
    await list.goto(`${api.url}/jobs`);
    await list.getByText('PostgreSQL is unreachable: try again shortly').first().waitFor({ timeout: 15_000 });
    const job = await context.newPage();
    await job.goto(`${api.url}/jobs/${jobId}`);
    await job.getByText('PostgreSQL is unreachable: try again shortly').first().waitFor({ timeout: 15_000 });
    // A job it could not read is not shown as active, nor offered a trigger.
    assert.equal(await job.getByTestId('job-active').count(), 0);
    assert.equal(await job.getByRole('button', { name: 'Trigger run' }).count(), 0);

    server = await startPostgres(path.join(dir, 'pg'), port, { durable: false });
    await list.getByRole('link', { name: 'outage job' }).waitFor({ timeout: 60_000 });
    await job.getByRole('heading', { name: 'outage job' }).waitFor({ timeout: 60_000 });
    await job.getByRole('button', { name: 'Trigger run' }).waitFor({ timeout: 15_000 });
    // The error of the failed reads goes once a read succeeds (a read may still fail as the server
    // comes back: it is made again at the feed's next push).
    await list.getByText('PostgreSQL is unreachable').first().waitFor({ state: 'detached', timeout: 30_000 });
    await job.getByText('PostgreSQL is unreachable').first().waitFor({ state: 'detached', timeout: 30_000 });
    // before: the run page filled in from the live feed, under the error, for good (QA round 29)
    await run.getByText('manual', { exact: true }).first().waitFor({ timeout: 60_000 });
    await run.getByText('PostgreSQL is unreachable').first().waitFor({ state: 'detached', timeout: 30_000 });
    assert.equal(await job.getByTestId('job-active').textContent(), 'active');
  } finally {
    await context.close();
  }
});

test("a task's log page opened while PostgreSQL is away fills in once it is back, and its error goes; the API says the outage of its log follows once", { skip: unavailable ?? false, timeout: 120_000 }, async () => {
  const { runId } = await jobWithRun('outage log job');
  await server.stop();
  const context = await browser.newContext();
  try {
    const log = await context.newPage();
    await log.goto(`${api.url}/runs/${runId}/tasks/extract`);
    await log.getByText('PostgreSQL is unreachable: try again shortly').first().waitFor({ timeout: 15_000 });
    await new Promise((r) => setTimeout(r, 3_000)); // the log follow's queries keep failing meanwhile
    server = await startPostgres(path.join(dir, 'pg'), port, { durable: false });
    await log.getByRole('heading', { name: /Log: extract/ }).waitFor({ timeout: 60_000 });
    // before: the error stayed on the page that had filled in (QA round 28).
    await log.getByText('PostgreSQL is unreachable').first().waitFor({ state: 'detached', timeout: 30_000 });
  } finally {
    await context.close();
  }
  // before: a warning every 500 ms for each open log page.
  const said = api.logs.filter((l) => l.includes('log follow quer'));
  assert.ok(said.filter((l) => l.includes('log follow query failed')).length <= 1, said.join(''));
});

test("while PostgreSQL is away, a running try is not said to have stopped beating: its beats are not seen, not missed; once back, silence counts from then", { skip: unavailable ?? false, timeout: 120_000 }, async () => {
  const { runId } = await jobWithRun('beating through an outage');
  // The extract's try running, as a runner would claim it; its last beat 10 s old.
  const ti = await api.db.prisma.taskInstance.findFirstOrThrow({ where: { runId, taskId: 'extract' } });
  await sqlTransaction(api.db.prisma, async (sql) => {
    const [claimed] = await api.engine.store.claimTries(sql, [{ instanceId: ti.id, tryNumber: 1, runnerId: 'outage-runner' }]);
    assert.ok(claimed);
  });
  await api.db.prisma.$executeRaw`UPDATE task_instances SET heartbeat_at = now() - interval '10 seconds' WHERE id = ${ti.id}::uuid`;
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${api.url}/runs/${runId}`);
    await page.locator('table.tasks tr[data-task="extract"][data-state="running"]').waitFor({ timeout: 15_000 });
    await page.getByTestId('silent-try').waitFor({ timeout: 15_000 }); // 15 s without a beat: said
    await server.stop();
    await page.getByText('not updating: the server cannot read the state now').waitFor({ timeout: 15_000 });
    // before: "no heartbeat for 20 s: its runner may have stopped", of a runner beating on (QA round 29)
    await page.getByTestId('silent-try').waitFor({ state: 'detached', timeout: 5_000 });
    // A page opened during the outage cannot connect: the same holds once it can (QA round 30).
    const opened = await context.newPage();
    await opened.goto(`${api.url}/runs/${runId}`);
    await opened.getByText('PostgreSQL is unreachable').first().waitFor({ timeout: 15_000 });
    await new Promise((r) => setTimeout(r, 2_500)); // a failed connection of its live feed
    server = await startPostgres(path.join(dir, 'pg'), port, { durable: false });
    await page.getByText('not updating').waitFor({ state: 'detached', timeout: 60_000 });
    await opened.locator('table.tasks tr[data-task="extract"][data-state="running"]').waitFor({ timeout: 60_000 });
    // Its last beat is old, but the pages have read states again for under 15 s: nothing is said yet.
    await new Promise((r) => setTimeout(r, 3_000));
    assert.equal(await page.getByTestId('silent-try').count(), 0);
    assert.equal(await opened.getByTestId('silent-try').count(), 0);
  } finally {
    await context.close();
  }
});

test('with no scheduler running, the jobs list and a scheduled job say that schedules do not fire; a scheduler that starts ends it', { skip: unavailable ?? false, timeout: 120_000 }, async () => {
  const created = await api.request('POST', '/api/airbyte/ingest', { token: TOKEN, body: ingestBody({ name: 'hourly job', schedule: '0 * * * *' }) });
  assert.equal(created.status, 201, created.text);
  const jobId = (created.body as { job_id: string }).job_id;
  const context = await browser.newContext();
  try {
    const list = await context.newPage();
    await list.goto(`${api.url}/jobs`);
    const job = await context.newPage();
    await job.goto(`${api.url}/jobs/${jobId}`);
    for (const page of [list, job]) {
      await page.getByTestId('no-scheduler').waitFor({ timeout: 15_000 });
      assert.match((await page.getByTestId('no-scheduler').textContent()) ?? '', /^No scheduler is running: scheduled runs do not start until one does\. Runs triggered by hand still run\.$/);
    }
    const scheduler = await startScheduler({ prisma: api.db.prisma, redisUrl: testEnv.redisUrl, queuePrefix: api.queuePrefix, logger: createLogger({ level: 'warn', silent: true }) });
    try {
      for (const page of [list, job]) await page.getByTestId('no-scheduler').waitFor({ state: 'detached', timeout: 15_000 });
    } finally {
      await scheduler.close();
    }
  } finally {
    await context.close();
  }
});


test('while Redis is away, every page says that no task starts and no schedule fires; the warning goes once it is back', { skip: unavailable ?? false, timeout: 120_000 }, async () => {
  // Stopping the shared test Redis would hit other tests: this API gets a Redis of its own.
  const redisDir = path.join(dir, 'redis');
  const redisPort = await freePort();
  let redis = await startRedis(redisDir, redisPort);
  let stopped = false;
  const own = await startApi({ devToken: TOKEN, redisUrl: redis.url });
  const context = await browser.newContext();
  try {
    const created = await own.request('POST', '/api/airbyte/ingest', { token: TOKEN, body: ingestBody({ name: 'redis outage job', max_active_runs: 2 }) });
    assert.equal(created.status, 201, created.text);
    const jobId = (created.body as { job_id: string }).job_id;
    await redis.stop();
    stopped = true;
    const triggered = await own.request('POST', `/api/airbyte/ingest/${jobId}/runs`, { token: TOKEN });
    assert.equal(triggered.status, 201, triggered.text);
    const runId = (triggered.body as { run_id: string }).run_id;

    const pages = [];
    for (const where of ['/jobs', `/jobs/${jobId}`, `/runs/${runId}`, `/runs/${runId}/tasks/extract`]) {
      const page = await context.newPage();
      await page.goto(`${own.url}${where}`);
      pages.push(page);
    }
    // before: the run's page said only "running" and "queued" (QA round 28).
    for (const page of pages) {
      await page.getByTestId('no-redis').waitFor({ timeout: 15_000 });
      assert.match((await page.getByTestId('no-redis').textContent()) ?? '', /^Redis is unreachable: queued tasks do not start and schedules do not fire until it is back\./);
    }
    // No scheduler has run here, but while Redis is away that is not what the list says (QA round 30:
    // a scheduler waiting for Redis stops beating, and the banner sent operators after a dead one).
    const [list, jobPage] = pages as [Page, Page];
    assert.equal(await list.getByTestId('no-scheduler').count(), 0);
    // A trigger's notice says Redis is away while it is (QA round 30: it stayed after Redis was back).
    await jobPage.getByRole('button', { name: 'Trigger run' }).click();
    const notice = jobPage.getByRole('status').filter({ hasText: /^Run [0-9a-f]{8} triggered\./ });
    const noticeSaid = async (pattern: RegExp): Promise<void> => {
      for (let i = 0; i < 150 && !pattern.test(((await notice.textContent()) ?? '').trim()); i++) await new Promise((r) => setTimeout(r, 200));
      assert.match(((await notice.textContent()) ?? '').trim(), pattern);
    };
    await noticeSaid(/^Run [0-9a-f]{8} triggered\. Redis is unreachable: its first tasks are queued/);
    redis = await startRedis(redisDir, redisPort);
    stopped = false;
    for (const page of pages) await page.getByTestId('no-redis').waitFor({ state: 'detached', timeout: 30_000 });
    await noticeSaid(/^Run [0-9a-f]{8} triggered\.$/);
    await list.getByTestId('no-scheduler').waitFor({ timeout: 15_000 });
  } finally {
    await context.close();
    // A failure while Redis was away: it comes back first, for the API's close.
    if (stopped) redis = await startRedis(redisDir, redisPort);
    await own.close();
    await redis.stop();
  }
});
