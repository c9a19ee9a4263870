/**
 * A connector that logs a line per record does not fill PostgreSQL: a try keeps its first
 * MAX_CONNECTOR_LINES_PER_TRY info and debug lines, says that it dropped the rest, and keeps every
 * warning and error (QA round 42b F5: 300,000 lines, 89 MB, in one try). The repository's test
 * connector, run as a real process, logs the lines.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { MAX_CONNECTOR_LINES_PER_TRY } from '../../packages/runner/src/worker/task-log-sink.ts';
import { putTestConnectorOnPath } from '../connectors/support.ts';
import { testEnv } from '../support/env.ts';
import { startSluiceStack, type SluiceStack } from '../support/sluice-stack.ts';

let stack: SluiceStack;
before(async () => {
  putTestConnectorOnPath();
  stack = await startSluiceStack({ storage: 'file', connectorsDir: path.join(testEnv.tmpDir, 'connectors-chatty') });
});
after(async () => {
  await stack.close();
});

test("a chatty connector's info lines past the cap are not kept in its try's log; its warnings are, and the run goes on", { timeout: 180_000 }, async () => {
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name: 'chatty connector',
    source_name: 'source-sluice-test',
    source_config: { records: 3, log_lines: MAX_CONNECTOR_LINES_PER_TRY + 10 },
    schema_name: 'chatty',
    mode: 'append',
    streams: ['users'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${created.body.job_id}/runs`);
  assert.equal((await stack.waitForRun(t.body.run_id, 120_000)).state, 'success');
  const extract = await stack.db.prisma.taskInstance.findFirstOrThrow({ where: { runId: t.body.run_id, taskId: 'extract' } });
  const lines = await stack.db.prisma.taskLog.findMany({ where: { taskInstanceId: extract.id, tryNumber: 1 }, orderBy: { id: 'asc' }, select: { level: true, message: true } });
  const kept = lines.filter((l) => /^source( stderr| stdout)? > /.test(l.message) && (l.level === 'info' || l.level === 'debug'));
  assert.equal(kept.length, MAX_CONNECTOR_LINES_PER_TRY, "the connector's info and debug lines, up to the cap");
  const chatter = kept.filter((l) => /^source > chatter \d+$/.test(l.message));
  assert.ok(chatter.length > MAX_CONNECTOR_LINES_PER_TRY - 100, `${chatter.length} chatter lines`);
  assert.equal(chatter.at(-1)?.message, `source > chatter ${chatter.length - 1}`, 'the first ones, in order, none skipped before the cap');
  const notes = lines.filter((l) => l.message.startsWith("the connector's info and debug lines past the first") || / of the connector's info and debug lines of this try were not kept/.test(l.message));
  assert.deepEqual(notes, [
    {
      level: 'warn',
      message: `the connector's info and debug lines past the first ${MAX_CONNECTOR_LINES_PER_TRY} of this try are not kept in its log (its warnings and errors are); the runner's own log has them only at SLUICE_LOG_LEVEL=debug`,
    },
    // Said at the try's end (QA round 42c F1: how many went was not said): the 10 chatter lines
    // past the cap, and the connector's info lines after them ("done, 3 records").
    { level: 'warn', message: `11 of the connector's info and debug lines of this try were not kept, past its first ${MAX_CONNECTOR_LINES_PER_TRY}` },
  ]);
  assert.ok(lines.some((l) => l.level === 'warn' && l.message === 'source > chatter done'), 'a warning after the cap is kept');
  assert.ok(lines.length < MAX_CONNECTOR_LINES_PER_TRY + 100, `${lines.length} lines`);
});
