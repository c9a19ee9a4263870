/**
 * The flow UI over the real ingestion pipeline: a job posted for the repository's Airbyte test
 * connector (`source-sluice-test`, on PATH as PyAirbyte resolution expects) runs extract → stage
 * → transform → load → archive for real, and the browser shows it live — states to success, the
 * Iceberg tables written with the snapshot ids the catalog holds, the connector's log with its
 * secret masked. Screenshots go to test-artifacts/ui/.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser } from 'playwright-core';
import { testEnv } from '../support/env.ts';
import { browserTestsUnavailable, launchBrowser, shot, startUiStack, type UiStack } from './ui-stack.ts';

const connectorDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../packages/connectors/test-connector');
const unavailable = browserTestsUnavailable();
if (unavailable !== null) console.log(`pipeline UI browser test skipped: ${unavailable}`);

const SECRET = 'canary-token-7d1f0c2e9a4b';

describe('flow UI over the real pipeline', { skip: unavailable ?? false }, () => {
  let stack: UiStack;
  let browser: Browser;
  let connectorsDir: string;

  before(async () => {
    process.env['PATH'] = `${connectorDir}${path.delimiter}${process.env['PATH'] ?? ''}`;
    connectorsDir = mkdtempSync(path.join(testEnv.tmpDir, 'ui-connectors-'));
    stack = await startUiStack({ realPipeline: { connectorsDir } });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
    if (connectorsDir) rmSync(connectorsDir, { recursive: true, force: true });
  });

  test('a posted job runs for real and the browser follows it to the Iceberg snapshots it committed', async () => {
    const created = await stack.api('POST', '/api/airbyte/ingest', stack.devToken, {
      name: 'test source to iceberg',
      source_name: 'source-sluice-test',
      source_config: { records: { users: 3000, orders: 1200 }, sleep_seconds: 1.5, api_token: SECRET },
      schema_name: 'ui_e2e',
      mode: 'append',
      // The connector's third stream (events) would be empty; an empty stream's load is the pipeline's concern, not the UI's.
      streams: ['users', 'orders'],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const jobId = created.body.job_id as string;
    const page = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
    await page.goto(created.body.flow_url as string);
    await page.getByRole('heading', { level: 1, name: 'test source to iceberg' }).waitFor();
    await page.evaluate('window.__sameDocument = true');
    await page.getByRole('button', { name: 'Trigger run' }).click();
    let runId = '';
    const seen: string[] = [];
    const deadline = Date.now() + 120_000;
    for (;;) {
      const run = await stack.db.prisma.dagRun.findFirst({ where: { jobId } });
      if (run) {
        runId = run.id;
        const s = await page.locator(`.run-bar[data-run-id="${runId}"]`).getAttribute('data-state', { timeout: 1000 }).catch(() => null);
        if (s !== null && seen.at(-1) !== s) seen.push(s);
        if (s === 'success' || s === 'failed') break;
      }
      if (Date.now() > deadline) {
        const tasks = await stack.db.prisma.taskInstance.findMany({ where: { runId }, select: { taskId: true, mapIndex: true, state: true, error: true } });
        const states = tasks.map((t) => `${t.taskId}[${t.mapIndex}]=${t.state}${t.error ? ` (${t.error})` : ''}`).join(', ');
        throw new Error(`the run did not finish on screen (states seen: ${seen.join(' → ')}; tasks: ${states})`);
      }
      await sleep(100);
    }
    const final = await stack.db.prisma.dagRun.findUniqueOrThrow({ where: { id: runId } });
    assert.equal(seen.at(-1), 'success', `run ended ${final.state}: ${final.stateMessage ?? ''}`);
    assert.ok(seen.includes('running'), `the run was seen running (${seen.join(' → ')})`);
    assert.equal(await page.evaluate('window.__sameDocument === true'), true, 'no reload');
    assert.equal(await page.locator('svg.dag-graph [data-task="load"]').count(), 2, 'the graph fanned out to both streams');
    await shot(page, 'pipeline-01-job-page-success');

    await page.goto(`${stack.url}/runs/${runId}`);
    const tables = page.getByRole('table', { name: 'Tables written' });
    await tables.waitFor();
    const text = (await tables.textContent()) ?? '';
    for (const stream of ['users', 'orders']) {
      const row = await stack.db.prisma.icebergTable.findFirstOrThrow({ where: { tableNamespace: 'ui_e2e', tableName: stream } });
      // Read as text: snapshot ids are 64-bit and JSON.parse would round them.
      const metadata = readFileSync(fileURLToPath(row.metadataLocation ?? ''), 'utf8');
      const snapshot = /"current-snapshot-id"\s*:\s*(-?\d+)/.exec(metadata)?.[1] ?? 'none';
      assert.ok(text.includes(`ui_e2e.${stream}`), `table ui_e2e.${stream} is listed`);
      assert.ok(text.includes(snapshot), `the catalog's current snapshot of ${stream} (${snapshot}) is the one shown`);
    }
    assert.equal(await page.getByTestId('rows-loaded').textContent(), (4200).toLocaleString('en-US'));
    await shot(page, 'pipeline-02-run-page');

    await page.goto(`${stack.url}/runs/${runId}/tasks/extract`);
    const log = page.getByTestId('task-log');
    await log.locator('.log-line').first().waitFor();
    await until(async () => ((await log.locator('.log-line').count()) > 2));
    assert.ok(!(await page.content()).includes(SECRET), 'the secret is not in the task log');
    await shot(page, 'pipeline-03-extract-log');
    await page.goto(created.body.flow_url as string);
    await page.getByTestId('source-config').waitFor();
    assert.ok(!(await page.content()).includes(SECRET), 'the secret is not on the job page');
  });
});

async function until(probe: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(100);
  }
}
