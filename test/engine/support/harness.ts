/**
 * Test support for the engine: a job row with its DAG, an engine, runners and schedulers on a
 * test database and queue prefix of their own, and test DAG task handlers (no-op, sleeping,
 * failing, defined in each test) — these are the tasks of a test DAG, not stand-ins for Sluice parts.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskPolicy, TaskType } from '@sluice/core/dag';
import type { PrismaClient } from '@sluice/db';
import { Engine } from '@sluice/engine';
import { createLogger, type Logger } from '@sluice/logging';
import { startRunner, type RunningRunner, type TaskHandlers } from '@sluice/runner';
import { startScheduler, type RunningScheduler, type SchedulerOptions } from '@sluice/scheduler';
import { createTestDatabase, type TestDatabase } from '../../support/database.ts';
import { testEnv } from '../../support/env.ts';
import { testQueuePrefix } from '../../support/names.ts';

export const testLogger: Logger = createLogger({ silent: !process.env['SLUICE_TEST_LOG'], level: 'debug', format: 'pretty' });

/** Quick policies for tests: short delays and timeouts. */
export const FAST_POLICY: TaskPolicy = { retries: 2, retryDelayMs: 100, maxRetryDelayMs: 400, timeoutMs: 10_000 };

export interface JobInput {
  streams?: string[];
  schedule?: string | null;
  timezone?: string;
  maxActiveRuns?: number;
  isPaused?: boolean;
  catchup?: boolean;
  policies?: Partial<Record<TaskType, Partial<TaskPolicy>>>;
}

export interface Harness {
  db: TestDatabase;
  prisma: PrismaClient;
  queuePrefix: string;
  redisUrl: string;
  engine: Engine;
  createJob(input?: JobInput): Promise<string>;
  startRunner(
    handlers?: Partial<TaskHandlers>,
    options?: { concurrency?: number; heartbeatMs?: number; runnerId?: string; stopWaitMs?: number; logger?: Logger },
  ): Promise<RunningRunner>;
  startScheduler(options?: Partial<SchedulerOptions>): Promise<RunningScheduler>;
  close(): Promise<void>;
}

/** Default test handlers: extract maps over the job's streams; the others do nothing. */
export const noopHandlers: TaskHandlers = {
  extract: async (ctx) => ({ mappedStreams: ctx.job.streams, output: { streams: ctx.job.streams } }),
  stage: async (ctx) => ({ output: { staged: ctx.task.stream }, rows: 10 }),
  transform: async () => ({}),
  load: async (ctx) => ({ output: { loaded: ctx.task.stream, staged: await ctx.upstream('stage') } }),
  archive: async () => ({}),
};

export async function createHarness(options: { redisUrl?: string; databaseServerUrl?: string } = {}): Promise<Harness> {
  const db = await createTestDatabase(options.databaseServerUrl ? { serverUrl: options.databaseServerUrl } : {});
  const queuePrefix = testQueuePrefix();
  const redisUrl = options.redisUrl ?? testEnv.redisUrl;
  const engine = await Engine.create({ prisma: db.prisma, redisUrl, queuePrefix, logger: testLogger, allowSecondsInSchedules: true });
  const closers: (() => Promise<void>)[] = [];
  return {
    db,
    prisma: db.prisma,
    queuePrefix,
    redisUrl,
    engine,
    async createJob(input = {}) {
      const id = randomUUID();
      await db.prisma.$transaction(async (tx) => {
        await tx.ingestionJob.create({
          data: {
            id,
            name: `job-${id.slice(0, 8)}`,
            sourceName: 'source-test',
            sourceConfigEncrypted: 'not-a-secret',
            schemaName: 'test',
            mode: 'append',
            streams: input.streams ?? ['a', 'b'],
            schedule: input.schedule ?? null,
            timezone: input.timezone ?? 'UTC',
            maxActiveRuns: input.maxActiveRuns ?? 1,
            isPaused: input.isPaused ?? false,
            catchup: input.catchup ?? false,
          },
        });
        const { dagId } = await engine.writeJobDag(tx, id);
        for (const taskType of ['extract', 'stage', 'transform', 'load', 'archive'] as const) {
          await tx.dagTask.updateMany({ where: { dagId, taskType }, data: { ...FAST_POLICY, ...input.policies?.[taskType] } });
        }
      });
      await engine.syncSchedule(id);
      return id;
    },
    async startRunner(handlers = {}, opts = {}) {
      const r = await startRunner({
        prisma: db.prisma,
        redisUrl,
        queuePrefix,
        logger: opts.logger ?? testLogger,
        concurrency: opts.concurrency ?? 8,
        heartbeatMs: opts.heartbeatMs ?? 500,
        handlers: { ...noopHandlers, ...handlers },
        ...(opts.runnerId ? { runnerId: opts.runnerId } : {}),
        ...(opts.stopWaitMs === undefined ? {} : { stopWaitMs: opts.stopWaitMs }),
      });
      closers.push(() => r.close());
      return r;
    },
    async startScheduler(opts = {}) {
      const s = await startScheduler({
        prisma: db.prisma,
        redisUrl,
        queuePrefix,
        logger: testLogger,
        allowSecondsInSchedules: true,
        sweepIntervalMs: 500,
        staleAfterMs: 3_000,
        requeueAfterMs: 2_000,
        ...opts,
      });
      closers.push(() => s.close());
      return s;
    },
    async close() {
      for (const c of closers.reverse()) await c();
      await engine.close();
      await db.drop();
    },
  };
}

/** Polls `probe` until it answers something truthy; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

export async function waitForRun(prisma: PrismaClient, runId: string, states: string[], timeoutMs = 15_000) {
  return waitFor(
    async () => {
      const r = await prisma.dagRun.findUnique({ where: { id: runId } });
      return r && states.includes(r.state) ? r : null;
    },
    `run ${runId} to be ${states.join('|')}`,
    timeoutMs,
  );
}

/** The run's instances as `task[mapIndex]=state`, sorted, for readable assertions. */
export async function instanceStates(prisma: PrismaClient, runId: string): Promise<Record<string, string>> {
  const rows = await prisma.taskInstance.findMany({ where: { runId }, orderBy: [{ taskId: 'asc' }, { mapIndex: 'asc' }] });
  return Object.fromEntries(rows.map((r) => [`${r.taskId}[${r.mapIndex}]`, r.state]));
}
