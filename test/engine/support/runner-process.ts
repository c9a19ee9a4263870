/**
 * A runner in a child process, for the SIGKILL test: its stage task logs until aborted so the
 * test can kill the process mid-task. Settings come from the environment the test gives it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createPrismaClient } from '@sluice/db';
import { startRunner } from '@sluice/runner';
import { noopHandlers, testLogger } from './harness.ts';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

const prisma = createPrismaClient(env('TEST_DATABASE_URL'), { max: 3 });
const runner = await startRunner({
  prisma,
  redisUrl: env('REDIS_URL'),
  queuePrefix: env('TEST_QUEUE_PREFIX'),
  logger: testLogger,
  concurrency: 4,
  runnerId: env('TEST_RUNNER_ID'),
  heartbeatMs: 300,
  handlers: {
    ...noopHandlers,
    stage: async (ctx) => {
      // Lines between beats: the try was alive after its last beat (QA round 35b F4).
      for (let i = 0; ; i++) {
        ctx.log.info(`staging, step ${i}`);
        await sleep(50, undefined, { signal: ctx.signal });
      }
    },
  },
});
process.stdout.write(`ready ${runner.runnerId}\n`);
