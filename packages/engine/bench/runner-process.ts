/**
 * One runner process for the engine benchmark (BENCH_RUNNER_PROCESSES): no-op handlers, the
 * benchmark's database, Redis and queue prefix. Prints `ready` once it takes tries; on SIGTERM it
 * closes (the benchmark reads its CPU time from /proc while it runs, see cpu-meter.ts).
 */
import { createPrismaClient } from '@sluice/db';
import { createLogger } from '@sluice/logging';
import { startRunner } from '../../runner/src/worker/index.ts';
import { noopHandlers } from './noop-handlers.ts';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

const prisma = createPrismaClient(env('DATABASE_URL'), { max: 10 });
const runner = await startRunner({
  prisma,
  redisUrl: env('REDIS_URL'),
  queuePrefix: env('BENCH_QUEUE_PREFIX'),
  logger: createLogger({ silent: true }),
  concurrency: Number(env('BENCH_RUNNER_CONCURRENCY')),
  handlers: noopHandlers,
});
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void (async () => {
    await runner.close();
    await prisma.$disconnect();
    process.exit(0);
  })();
});
