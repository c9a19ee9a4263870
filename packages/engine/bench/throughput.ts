/**
 * Benchmark: no-op tasks per second through the whole DAG machinery (run creation, claims,
 * state transitions, downstream dispatch through BullMQ) and the hand-off latency from an
 * upstream instance's end to its downstream instance's start (p50/p95/p99), beside raw BullMQ
 * no-op jobs per second measured in the same process, on the same Redis, in the same rounds.
 *
 *   pnpm --filter @sluice/engine bench            (starts local PostgreSQL and Redis)
 *   DATABASE_URL=… REDIS_URL=… pnpm --filter @sluice/engine bench
 *
 * After a warm-up of both (so that neither is measured while V8 still compiles it), each round
 * measures, one after the other:
 * - raw BullMQ, drain: RAW_JOBS jobs added first, then timed while one worker (same concurrency
 *   as the runner) takes them: BullMQ's fastest case, its adds outside the timed window;
 * - raw BullMQ, enqueue + process: the same jobs added in batches of 25 (about what one of the
 *   runner's report batches enqueues under this load) by one producer while the worker runs,
 *   timed from the first add (as the DAG's tasks are: each is enqueued by the machinery) — the
 *   reference of the target ratio (ADR 0029: like for like, each side adds and processes its jobs);
 * - the DAG machinery: JOBS jobs × RUNS runs triggered at once, timed until every run ended.
 * The report gives every round and the medians; the machine is shared, so read the ratios.
 * Each phase is also measured in CPU time per raw job / per DAG task, by process (this one,
 * runner processes, PostgreSQL, Redis; cpu-meter.ts): a raw job's CPU counts its add too, in
 * both modes (drain's adds are outside its timed window, not outside its cost).
 *
 * Knobs (environment): BENCH_ROUNDS (3), BENCH_JOBS (20), BENCH_RUNS (25 per job and round),
 * BENCH_MAX_ACTIVE_RUNS (each job's max_active_runs; default BENCH_RUNS, so a round's runs all start
 * at once; with the contract's default of 1 a job's runs queue behind each other),
 * BENCH_STREAMS (4), BENCH_CONCURRENCY (50), BENCH_RUNNER_PROCESSES (0: the runner runs in the benchmark's
 * process; N > 0: N runner processes of `bench/runner-process.ts` share the concurrency, as a
 * scaled-out installation's would), BENCH_RAW_JOBS (20000), BENCH_LATENCY_RUNS (20: runs
 * measured one at a time), BENCH_STEADY_FRACTION (0.5) and BENCH_STEADY_SECONDS (10; 0: none):
 * after the rounds, runs triggered at that fraction of the rounds' median rate for that long.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import pg from 'pg';
import { createPrismaClient, migrate, sqlOf, type PrismaClient, type Sql } from '@sluice/db';
import { createLogger } from '@sluice/logging';
import { freePort, startPostgres, startRedis, type LocalService } from '@sluice/local-services';
import { Engine, createRedis, quitRedis } from '../src/index.ts';
import { startRunner } from '../../runner/src/worker/index.ts';
import { cpuPerUnit, createCpuMeter, type CpuPerUnit } from './cpu-meter.ts';
import { noopHandlers } from './noop-handlers.ts';
import { median } from './stats.ts';

const num = (name: string, dflt: number): number => Number(process.env[name] ?? dflt);
const JOBS = num('BENCH_JOBS', 20);
const ROUNDS = num('BENCH_ROUNDS', 3);
const RUNS = num('BENCH_RUNS', 25);
/** Each job's max_active_runs: by default all of a round's runs of a job run at once (the contract's default is 1). */
const MAX_ACTIVE_RUNS = num('BENCH_MAX_ACTIVE_RUNS', RUNS);
const STREAMS = num('BENCH_STREAMS', 4);
const CONCURRENCY = num('BENCH_CONCURRENCY', 50);
const RUNNER_PROCESSES = num('BENCH_RUNNER_PROCESSES', 0);
const RAW_JOBS = num('BENCH_RAW_JOBS', 20_000);
/** Jobs per addBulk of the raw enqueue + process measure (the producer awaits each). */
const ENQUEUE_BATCH = num('BENCH_ENQUEUE_BATCH', 25);
const LATENCY_RUNS = num('BENCH_LATENCY_RUNS', 20);
const STEADY_FRACTION = num('BENCH_STEADY_FRACTION', 0.5);
const STEADY_SECONDS = num('BENCH_STEADY_SECONDS', 10);
const DEADLINE_S = num('BENCH_DEADLINE_S', 300);

const logger = createLogger({ silent: true });
const services: LocalService[] = [];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-'));
chmodSync(tmp, 0o755); // PostgreSQL runs as its own user and must reach its data directory

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/**
 * Hand-off latency of the given runs: each instance's start minus the latest end of its
 * upstream instances (both stamped by the engine's clock in PostgreSQL rows).
 */
async function handoffLatencies(prisma: PrismaClient, runIds: string[]): Promise<number[]> {
  const rows = await prisma.$queryRaw<{ latency_ms: number }[]>`
    WITH up AS (
      SELECT d.id, d.started_at,
        (SELECT max(u.ended_at) FROM task_instances u
          WHERE u.run_id = d.run_id AND u.task_id = ANY(t.upstream_task_ids)
            AND (u.map_index = d.map_index OR u.map_index = -1 OR d.map_index = -1)) AS upstream_done
      FROM task_instances d
      JOIN dag_runs r ON r.id = d.run_id
      JOIN dag_tasks t ON t.dag_id = r.dag_id AND t.task_id = d.task_id
      WHERE cardinality(t.upstream_task_ids) > 0 AND d.run_id = ANY(${runIds}::uuid[]))
    SELECT EXTRACT(EPOCH FROM (started_at - upstream_done)) * 1000 AS latency_ms FROM up WHERE upstream_done IS NOT NULL`;
  return rows.map((r) => Number(r.latency_ms)).sort((a, b) => a - b);
}

function summary(sorted: number[]): Record<string, number> {
  return { samples: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN };
}

/** Medians of the rounds' CPU per unit of work (totals and by process), and what one DAG task costs in raw jobs. */
function cpuMedians(
  rounds: readonly { raw_drain_cpu_ms_per_job: CpuPerUnit | null; raw_enqueue_process_cpu_ms_per_job: CpuPerUnit | null; dag_cpu_ms_per_task: CpuPerUnit | null }[],
): Record<string, number> | null {
  const m = (pick: (r: (typeof rounds)[number]) => number | undefined): number | null => {
    const xs = rounds.map(pick).filter((x): x is number => x !== undefined);
    return xs.length === rounds.length ? Number(median(xs).toFixed(4)) : null;
  };
  const dag = m((r) => r.dag_cpu_ms_per_task?.total);
  const drain = m((r) => r.raw_drain_cpu_ms_per_job?.total);
  const flow = m((r) => r.raw_enqueue_process_cpu_ms_per_job?.total);
  if (dag === null || drain === null || flow === null) return null;
  return {
    dag_per_task: dag,
    dag_per_task_this_process: m((r) => r.dag_cpu_ms_per_task?.node) ?? NaN,
    dag_per_task_runner_processes: m((r) => r.dag_cpu_ms_per_task?.runners) ?? NaN,
    dag_per_task_postgres: m((r) => r.dag_cpu_ms_per_task?.postgres) ?? NaN,
    dag_per_task_redis: m((r) => r.dag_cpu_ms_per_task?.redis) ?? NaN,
    raw_drain_per_job: drain,
    raw_enqueue_process_per_job: flow,
    // A fifth of raw BullMQ's rate on a saturated machine would need a DAG task to cost at most five raw jobs.
    raw_drain_jobs_per_dag_task: Number((dag / drain).toFixed(2)),
    raw_enqueue_process_jobs_per_dag_task: Number((dag / flow).toFixed(2)),
  };
}

/** Raw BullMQ no-op jobs per second; see the header for the two modes. */
async function rawBullmq(redisUrl: string, jobs: number, mode: 'drain' | 'enqueue+process'): Promise<number> {
  const prefix = `bench-raw-${randomBytes(4).toString('hex')}`;
  const conn = createRedis(redisUrl);
  const queue = new Queue('raw', { connection: conn, prefix });
  let done = 0;
  let resolveAll: () => void = () => undefined;
  const all = new Promise<void>((r) => {
    resolveAll = r;
  });
  const workerConn = createRedis(redisUrl);
  const worker = new Worker(
    'raw',
    async () => {
      if (++done === jobs) resolveAll();
    },
    { connection: workerConn, prefix, concurrency: CONCURRENCY, autorun: false },
  );
  const add = async (batch: number): Promise<void> => {
    for (let i = 0; i < jobs; i += batch) {
      await queue.addBulk(Array.from({ length: Math.min(batch, jobs - i) }, (_, j) => ({ name: 'noop', data: { i: i + j }, opts: { removeOnComplete: true } })));
    }
  };
  if (mode === 'drain') await add(1000);
  const start = performance.now();
  void worker.run();
  if (mode === 'enqueue+process') await add(ENQUEUE_BATCH);
  await all;
  const rate = jobs / ((performance.now() - start) / 1000);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  await quitRedis(workerConn);
  await quitRedis(conn);
  return rate;
}

/** BENCH_RUNNER_PROCESSES runner processes sharing the concurrency; `close` stops them. */
async function startRunnerProcesses(databaseUrl: string, redisUrl: string, queuePrefix: string): Promise<{ close(): Promise<void>; pids(): number[] }> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'runner-process.ts');
  const children = await Promise.all(
    Array.from({ length: RUNNER_PROCESSES }, () => {
      const child = spawn(process.execPath, ['--import', 'tsx', script], {
        env: { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, BENCH_QUEUE_PREFIX: queuePrefix, BENCH_RUNNER_CONCURRENCY: String(Math.max(1, Math.round(CONCURRENCY / RUNNER_PROCESSES))) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const lines = createInterface({ input: child.stdout });
      return new Promise<ChildProcess>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`a runner process exited with ${code} before it was ready`)));
        lines.on('line', (line) => {
          if (line === 'ready') resolve(child);
        });
      });
    }),
  );
  return {
    async close() {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              c.removeAllListeners('exit');
              c.once('close', () => resolve());
              c.kill('SIGTERM');
            }),
        ),
      );
    },
    pids: () => children.flatMap((c) => (c.pid === undefined ? [] : [c.pid])),
  };
}

/** Triggers `runs` runs of every job, all at once (as concurrent API calls would), and waits until they all ended. */
async function dagRound(engine: Engine, sql: Sql, jobIds: string[], runs: number): Promise<{ seconds: number; runIds: string[] }> {
  const start = performance.now();
  const triggered = await Promise.all(Array.from({ length: runs }, () => jobIds.map((jobId) => engine.triggerRun(jobId))).flat());
  const runIds = triggered.map((t) => t.runId);
  await waitForRunsToEnd(sql, runIds);
  return { seconds: (performance.now() - start) / 1000, runIds };
}

/**
 * Steady load: runs triggered one after another at a fixed rate (`tasksPerSecond` worth of
 * tasks), spread over the jobs, for `seconds`, then waited for. What a machine that keeps up
 * gives, between the burst of a round (every slot busy) and one run at a time.
 */
async function steadyLoad(
  engine: Engine,
  sql: Sql,
  jobIds: string[],
  tasksPerSecond: number,
  seconds: number,
  tasksPerRun: number,
): Promise<{ runIds: string[]; tasksPerSecond: number }> {
  const runsPerSecond = tasksPerSecond / tasksPerRun;
  const total = Math.max(1, Math.round(runsPerSecond * seconds));
  const start = performance.now();
  const triggered: Promise<{ runId: string }>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = start + (i / runsPerSecond) * 1000 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const jobId = jobIds[i % jobIds.length];
    if (jobId !== undefined) triggered.push(engine.triggerRun(jobId));
  }
  const runIds = (await Promise.all(triggered)).map((t) => t.runId);
  await waitForRunsToEnd(sql, runIds);
  return { runIds, tasksPerSecond: (runIds.length * tasksPerRun) / ((performance.now() - start) / 1000) };
}

/**
 * Waits until no run is open. The benchmark's database holds only its own runs and a phase starts
 * after the previous one ended, so "no open run" is "these runs ended". The poll asks whether one
 * open run exists (one probe of the state index), not for the count of the phase's runs: that
 * looked up every run id each 20 ms, and cost the DAG side about a tenth of its PostgreSQL CPU
 * and a tenth of its rate, work the machinery does not do (raw BullMQ's end is counted in its
 * worker, for nothing).
 */
async function waitForRunsToEnd(sql: Sql, runIds: string[]): Promise<void> {
  const deadline = Date.now() + DEADLINE_S * 1000;
  for (;;) {
    const [open] = await sql.query<{ any: boolean }[]>`SELECT EXISTS (SELECT 1 FROM dag_runs WHERE state IN ('queued', 'running')) AS any`;
    if (!open?.any) break;
    if (Date.now() > deadline) {
      const stuck = await sql.query`
        SELECT ti.task_id, ti.state::text AS state, count(*)::int AS n FROM task_instances ti
        WHERE ti.run_id = ANY(${runIds}::uuid[]) GROUP BY 1, 2`;
      throw new Error(`runs still open after ${DEADLINE_S} s; their instances: ${JSON.stringify(stuck)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function main(): Promise<void> {
  let databaseUrl = process.env['DATABASE_URL'];
  let redisUrl = process.env['REDIS_URL'];
  if (!databaseUrl) {
    const s = await startPostgres(path.join(tmp, 'pg'), await freePort(), { durable: false });
    services.push(s);
    databaseUrl = s.url;
  }
  if (!redisUrl) {
    const s = await startRedis(path.join(tmp, 'redis'), await freePort());
    services.push(s);
    redisUrl = s.url;
  }
  const dbName = `sluice_bench_${randomBytes(4).toString('hex')}`;
  const adminUrl = new URL(databaseUrl);
  adminUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(databaseUrl);
  url.pathname = `/${dbName}`;
  await migrate(url.toString());
  const prisma = createPrismaClient(url.toString(), { max: num('BENCH_DB_POOL', 20) });
  const queuePrefix = `bench-${randomBytes(4).toString('hex')}`;

  try {
    const engine = await Engine.create({ prisma, redisUrl, queuePrefix, logger });
    const sql = sqlOf(prisma);
    const streams = Array.from({ length: STREAMS }, (_, i) => `s${i}`);
    const jobIds: string[] = [];
    for (let j = 0; j < JOBS; j++) {
      const id = randomUUID();
      await prisma.$transaction(async (tx) => {
        await tx.ingestionJob.create({
          data: { id, name: `bench-${j}`, sourceName: 'source-bench', sourceConfigEncrypted: 'x', schemaName: 'bench', mode: 'append', streams, maxActiveRuns: MAX_ACTIVE_RUNS },
        });
        await engine.writeJobDag(tx, id);
      });
      jobIds.push(id);
    }
    const runner =
      RUNNER_PROCESSES > 0
        ? await startRunnerProcesses(url.toString(), redisUrl, queuePrefix)
        : await startRunner({
            prisma,
            redisUrl,
            queuePrefix,
            logger,
            concurrency: CONCURRENCY,
            handlers: noopHandlers,
          });
    const meterRedis = createRedis(redisUrl);
    const meter = await createCpuMeter(sql, meterRedis, () => ('pids' in runner ? runner.pids() : []));
    /** Runs a phase and answers its result with the CPU it cost per unit of work (null when the machine cannot be read). */
    const metered = async <T>(units: number, phase: () => Promise<T>): Promise<{ result: T; cpu: CpuPerUnit | null }> => {
      const before = await meter?.sample();
      const result = await phase();
      const after = await meter?.sample();
      return { result, cpu: before && after ? cpuPerUnit(before, after, units) : null };
    };
    const tasksPerRun = 2 + 3 * STREAMS;
    const roundTasks = JOBS * RUNS * tasksPerRun;

    // Warm-up of both sides, not reported.
    await rawBullmq(redisUrl, Math.min(RAW_JOBS, 5000), 'drain');
    await rawBullmq(redisUrl, Math.min(RAW_JOBS, 5000), 'enqueue+process');
    await dagRound(engine, sql, jobIds, Math.max(1, Math.ceil(RUNS / 5)));

    const rounds: {
      raw_drain_jobs_per_s: number;
      raw_enqueue_process_jobs_per_s: number;
      dag_tasks_per_s: number;
      seconds: number;
      // CPU milliseconds per raw job / per DAG task, by process (this one, runner processes, PostgreSQL, Redis).
      raw_drain_cpu_ms_per_job: CpuPerUnit | null;
      raw_enqueue_process_cpu_ms_per_job: CpuPerUnit | null;
      dag_cpu_ms_per_task: CpuPerUnit | null;
    }[] = [];
    let lastRunIds: string[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const drain = await metered(RAW_JOBS, () => rawBullmq(redisUrl, RAW_JOBS, 'drain'));
      const flow = await metered(RAW_JOBS, () => rawBullmq(redisUrl, RAW_JOBS, 'enqueue+process'));
      const dag = await metered(roundTasks, () => dagRound(engine, sql, jobIds, RUNS));
      lastRunIds = dag.result.runIds;
      rounds.push({
        raw_drain_jobs_per_s: Math.round(drain.result),
        raw_enqueue_process_jobs_per_s: Math.round(flow.result),
        dag_tasks_per_s: Math.round(roundTasks / dag.result.seconds),
        seconds: Number(dag.result.seconds.toFixed(2)),
        raw_drain_cpu_ms_per_job: drain.cpu,
        raw_enqueue_process_cpu_ms_per_job: flow.cpu,
        dag_cpu_ms_per_task: dag.cpu,
      });
    }
    await quitRedis(meterRedis);
    const saturated = await handoffLatencies(prisma, lastRunIds);
    const dagMedian = median(rounds.map((x) => x.dag_tasks_per_s));

    const steadyTarget = Math.round(dagMedian * STEADY_FRACTION);
    const steady = STEADY_SECONDS > 0 ? await steadyLoad(engine, sql, jobIds, steadyTarget, STEADY_SECONDS, tasksPerRun) : null;
    const steadyLatencies = steady ? await handoffLatencies(prisma, steady.runIds) : [];

    // Unloaded hand-off: one run at a time, so no try waits behind others for a runner slot.
    const quietRuns: string[] = [];
    for (let r = 0; r < LATENCY_RUNS; r++) {
      const first = jobIds[0];
      if (first === undefined) break;
      const { runId } = await engine.triggerRun(first);
      quietRuns.push(runId);
      for (;;) {
        const run = await prisma.dagRun.findUniqueOrThrow({ where: { id: runId }, select: { state: true } });
        if (run.state !== 'queued' && run.state !== 'running') break;
        await new Promise((res) => setTimeout(res, 10));
      }
    }
    const quiet = await handoffLatencies(prisma, quietRuns);

    const failed = await prisma.dagRun.count({ where: { state: { not: 'success' } } });
    await runner.close();
    await engine.close();
    const drainMedian = median(rounds.map((x) => x.raw_drain_jobs_per_s));
    const flowMedian = median(rounds.map((x) => x.raw_enqueue_process_jobs_per_s));
    const report = {
      machine: `${os.cpus().length} cpus, node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
      rounds: ROUNDS,
      tasks_per_round: roundTasks,
      runs_not_successful: failed,
      runner_concurrency: CONCURRENCY,
      runner_processes: RUNNER_PROCESSES,
      per_round: rounds,
      median: {
        dag_tasks_per_s: dagMedian,
        raw_drain_jobs_per_s: drainMedian,
        raw_enqueue_process_jobs_per_s: flowMedian,
      },
      // CPU per unit of work, medians of the rounds' totals (every process of the machinery and of raw BullMQ):
      // what one DAG task costs against one raw job, whatever else the machine did meanwhile.
      cpu_ms: cpuMedians(rounds),
      // The target (ADR 0029): DAG machinery / raw BullMQ adding and processing its jobs ≥ 0.2; drain beside it.
      ratio_dag_to_raw_drain: Number((dagMedian / drainMedian).toFixed(3)),
      ratio_dag_to_raw_enqueue_process: Number((dagMedian / flowMedian).toFixed(3)),
      handoff_latency_ms_one_run_at_a_time: summary(quiet),
      handoff_latency_ms_under_full_load_last_round: summary(saturated),
      // Runs triggered at a steady rate, STEADY_FRACTION of the rounds' median, for STEADY_SECONDS.
      handoff_latency_ms_steady_load: steady
        ? { target_tasks_per_s: steadyTarget, achieved_tasks_per_s: Math.round(steady.tasksPerSecond), ...summary(steadyLatencies) }
        : null,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await prisma.$disconnect();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
    for (const s of services.reverse()) await s.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
