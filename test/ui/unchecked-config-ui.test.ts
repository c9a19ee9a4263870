/**
 * The config editor says when a save went on without the connector's checks, as the API's
 * `Sluice-Unchecked` header does (QA round 40c F3: the page said "Saved" alone). A real browser
 * against the API with its real connector lookups, whose connector's spec command outlasts their
 * budget (a shell-script connector on PATH).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { MasterKeyring, openSourceConfig } from '@sluice/crypto';
import { createMemoryLogger } from '@sluice/logging';
import { connectorLookups } from '../../packages/cli/src/connector-lookups.ts';
import { ingestBody, startApi, type ApiHarness } from '../api/api-harness.ts';
import { testEnv } from '../support/env.ts';
import { writeSlowSpecConnector } from '../support/slow-spec-connector.ts';
import { browserTestsUnavailable, launchBrowser, shot } from './ui-stack.ts';

const DEV = 'dev-token-unchecked-ui-01';
const NAME = 'source-sluice-unchecked-ui';
const unavailable = browserTestsUnavailable();

describe('config editor of a connector that cannot answer in time', { skip: unavailable ?? false }, () => {
  let api: ApiHarness;
  let browser: Browser;
  let stopLookups: () => void = () => undefined;
  const savedPath = process.env['PATH'];

  before(async () => {
    const bin = mkdtempSync(path.join(testEnv.tmpDir, 'unchecked-ui-bin-'));
    // Its spec takes far longer than the lookups wait; check and discover answer at once.
    writeSlowSpecConnector(bin, NAME, 120);
    process.env['PATH'] = `${bin}${path.delimiter}${savedPath ?? ''}`;
    const { close, ...lookupFns } = connectorLookups(mkdtempSync(path.join(testEnv.tmpDir, 'connectors-unchecked-ui-')), createMemoryLogger().logger, { budgetMs: 500 });
    stopLookups = close;
    api = await startApi({ devToken: DEV, ...lookupFns });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    stopLookups();
    await api?.close();
    process.env['PATH'] = savedPath;
  });

  test('a saved config the connector could not check says what the next run checks', async () => {
    const created = await api.request('POST', '/api/airbyte/ingest', {
      token: DEV,
      body: ingestBody({ name: 'unchecked save', source_name: NAME, streams: ['users'], source_config: { host: 'db.example', password: 'pw-unchecked-ui' } }),
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers.get('sluice-unchecked'), 'spec');
    const jobId = String((created.body as { job_id: string }).job_id);

    const page = await browser.newPage();
    await page.goto(`${api.url}/jobs/${jobId}`);
    await page.getByRole('button', { name: 'Edit source config' }).click();
    await page.getByRole('textbox', { name: 'Source config (JSON)' }).fill('{ "host": "db2.example", "password": "pw-unchecked-ui-b" }');
    await page.getByRole('button', { name: 'Save config' }).click();
    await page
      .getByRole('status')
      .getByText(/^Saved without the connector's spec check \(it did not answer in time: its first install, or a slow command\): the next run makes it before it reads\./)
      .waitFor();
    await shot(page, 'unchecked-config-saved');
    const row = await api.db.prisma.ingestionJob.findUniqueOrThrow({ where: { id: jobId } });
    assert.deepEqual(openSourceConfig(MasterKeyring.fromBase64(api.masterKey), jobId, row.sourceConfigEncrypted), { host: 'db2.example', password: 'pw-unchecked-ui-b' });
    await page.close();
  });
});
