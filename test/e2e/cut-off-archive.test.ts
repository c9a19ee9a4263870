/**
 * An archive try cut off while it wrote a compressed file into `archive/{run}/` (its runner
 * killed): the retry archives the run and discards what that try left unfinished there, so the
 * archive holds only whole files (QA round 49a D1: a truncated `.sluice-tmp-…jsonl.gz.<hex>` stayed
 * in it for good, and a reader globbing the run's raw records hit a broken gzip). The cut-off try is
 * played by a wrapper of the real archive handler that starts writing and then dies.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Writable } from 'node:stream';
import type { TaskHandlers } from '@sluice/runner';
import { putTestConnectorOnPath } from '../connectors/support.ts';
import { testEnv } from '../support/env.ts';
import { startSluiceStack, type SluiceStack } from '../support/sluice-stack.ts';

let stack: SluiceStack;
/** The cut-off try's writes, ended after the test (a killed process's would never end). */
const abandoned: Writable[] = [];

function cutFirstArchive(h: TaskHandlers): TaskHandlers {
  return {
    ...h,
    archive: async (ctx) => {
      if (ctx.task.tryNumber > 1) return h.archive(ctx);
      const w = stack.store.createWriteStream(`archive/${ctx.run.id}/raw/users/part-00000.jsonl.gz`);
      abandoned.push(w);
      w.write(Buffer.alloc(4096, 1));
      // The temporary file is on disk: the try dies here, as if its runner were killed.
      const dir = path.dirname(stack.store.localFile(`archive/${ctx.run.id}/raw/users/x`) ?? '');
      for (let i = 0; i < 200 && !(await tempFilesIn(dir)).length; i++) await new Promise((r) => setTimeout(r, 10));
      throw new Error('runner lost mid-archive (test)');
    },
  };
}

async function tempFilesIn(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true })).filter((f) => path.basename(f).startsWith('.sluice-tmp-'));
  } catch {
    return [];
  }
}

before(async () => {
  putTestConnectorOnPath();
  stack = await startSluiceStack({ storage: 'file', connectorsDir: path.join(testEnv.tmpDir, 'connectors-cut-off-archive'), wrapHandlers: cutFirstArchive });
});
after(async () => {
  for (const w of abandoned) w.destroy();
  await stack.close();
});

test("an archive try cut off mid-write leaves nothing unfinished in the run's archive once its retry archived it", { timeout: 180_000 }, async () => {
  const created = await stack.api<{ job_id: string }>('POST', '/api/airbyte/ingest', {
    name: 'cut-off archive',
    source_name: 'source-sluice-test',
    source_config: { records: 4 },
    schema_name: 'cut_off_archive',
    mode: 'append',
    streams: ['users'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const job = created.body.job_id;
  await stack.db.prisma.dagTask.updateMany({ where: { dag: { jobId: job }, taskType: 'archive' }, data: { retryDelayMs: 200, maxRetryDelayMs: 200 } });
  const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${job}/runs`);
  const run = await stack.waitForRun(t.body.run_id, 90_000);
  assert.equal(run.state, 'success', JSON.stringify(run.tasks));
  assert.equal(run.tasks.find((x) => x.task_id === 'archive')?.try_number, 2);

  const archiveDir = path.dirname(path.dirname(path.dirname(stack.store.localFile(`archive/${t.body.run_id}/raw/users/x`) ?? '')));
  // Before: raw/users/.sluice-tmp-part-00000.jsonl.gz.<hex>, the cut-off try's 4 KB.
  assert.deepEqual(await tempFilesIn(archiveDir), []);
  const log = await stack.api<{ lines: { message: string }[] }>('GET', `/api/runs/${t.body.run_id}/tasks/archive/logs?try=2`);
  assert.ok(log.body.lines.some((l) => /^discarded 1 unfinished write an earlier try of this archive left in file:\/\//.test(l.message)), JSON.stringify(log.body.lines));
  const archived: string[] = [];
  for await (const o of stack.store.list(`archive/${t.body.run_id}/`)) archived.push(o.key);
  assert.ok(archived.includes(`archive/${t.body.run_id}/raw/users/part-00000.jsonl.gz`), archived.join(', '));
});
