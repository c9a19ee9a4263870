/**
 * A/B of the engine benchmark: this working tree against another commit, in alternating pairs
 * on one PostgreSQL and one Redis, so that both sides meet the same moments of a shared machine.
 *
 *   pnpm --filter @sluice/engine bench:compare <base-rev> [pairs]      (pairs: 4)
 *
 * The base is checked out in a temporary git worktree (installed offline from the store this
 * checkout already filled, its Prisma client generated), both sides run `bench/throughput.ts`
 * with the same environment (BENCH_* knobs pass through; BENCH_LATENCY_RUNS and
 * BENCH_STEADY_SECONDS default to 0 here, as only the rounds are compared), each pair in the
 * other order from the one before. Prints each pair and the medians; read the medians and how
 * many pairs each side won, not one pair.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startPostgres, startRedis, type LocalService } from '@sluice/local-services';
import { median } from './stats.ts';

interface Side {
  name: 'base' | 'head';
  engineDir: string;
}

interface Sample {
  tasksPerS: number;
  ratioToDrain: number;
  cpuMsPerTask: number | null;
  handoffP95UnderLoad: number;
}

const [baseRev, pairsArg] = process.argv.slice(2).filter((a) => a !== '--');
if (!baseRev) {
  process.stderr.write('usage: pnpm --filter @sluice/engine bench:compare <base-rev> [pairs]\n');
  process.exit(2);
}
const pairs = Number(pairsArg ?? 4);
if (!Number.isInteger(pairs) || pairs < 1) {
  process.stderr.write(`pairs must be a positive integer, not ${JSON.stringify(pairsArg)}\n`);
  process.exit(2);
}

const engineDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: engineDir, encoding: 'utf8' }).trim();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-compare-'));
chmodSync(tmp, 0o755); // PostgreSQL runs as its own user and must reach its data directory
const worktree = path.join(tmp, 'base');
const services: LocalService[] = [];

function run(cmd: string, args: string[], cwd: string): void {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** One run of the benchmark in a tree; answers the figures compared. */
function bench(side: Side, env: NodeJS.ProcessEnv): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/throughput.ts'], { cwd: side.engineDir, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`the ${side.name} benchmark exited with ${code}`));
      try {
        const r = JSON.parse(out) as {
          median: { dag_tasks_per_s: number };
          ratio_dag_to_raw_drain: number;
          cpu_ms: { dag_per_task: number } | null;
          handoff_latency_ms_under_full_load_last_round: { p95: number };
        };
        resolve({
          tasksPerS: r.median.dag_tasks_per_s,
          ratioToDrain: r.ratio_dag_to_raw_drain,
          cpuMsPerTask: r.cpu_ms?.dag_per_task ?? null,
          handoffP95UnderLoad: r.handoff_latency_ms_under_full_load_last_round.p95,
        });
      } catch (err) {
        reject(new Error(`the ${side.name} benchmark printed no report: ${String(err)}`));
      }
    });
  });
}

try {
  process.stderr.write(`checking out ${baseRev} in ${worktree}\n`);
  run('git', ['worktree', 'add', '--detach', worktree, baseRev], repoRoot);
  run('pnpm', ['install', '--frozen-lockfile', '--offline'], worktree);
  run('node', ['scripts/prisma-generate.mjs'], worktree);
  const pgService = await startPostgres(path.join(tmp, 'pg'), await freePort(), { durable: false });
  services.push(pgService);
  const redisService = await startRedis(path.join(tmp, 'redis'), await freePort());
  services.push(redisService);
  const env = {
    ...process.env,
    DATABASE_URL: pgService.url,
    REDIS_URL: redisService.url,
    BENCH_LATENCY_RUNS: process.env['BENCH_LATENCY_RUNS'] ?? '0',
    BENCH_STEADY_SECONDS: process.env['BENCH_STEADY_SECONDS'] ?? '0',
  };
  const base: Side = { name: 'base', engineDir: path.join(worktree, 'packages', 'engine') };
  const head: Side = { name: 'head', engineDir };
  const results: Record<Side['name'], Sample[]> = { base: [], head: [] };
  let headAhead = 0;
  for (let i = 0; i < pairs; i++) {
    const order = i % 2 === 0 ? [base, head] : [head, base];
    for (const side of order) results[side.name].push(await bench(side, env));
    const b = results.base[i];
    const h = results.head[i];
    if (!b || !h) throw new Error('a pair is missing a side');
    if (h.tasksPerS > b.tasksPerS) headAhead++;
    process.stdout.write(
      `pair ${i + 1}: base ${b.tasksPerS} tasks/s (${b.ratioToDrain} of drain, ${b.cpuMsPerTask ?? '?'} ms CPU/task, p95 ${b.handoffP95UnderLoad} ms)` +
        ` · head ${h.tasksPerS} tasks/s (${h.ratioToDrain} of drain, ${h.cpuMsPerTask ?? '?'} ms CPU/task, p95 ${h.handoffP95UnderLoad} ms)\n`,
    );
  }
  const summary = (xs: Sample[]): string =>
    `${median(xs.map((x) => x.tasksPerS))} tasks/s, ${median(xs.map((x) => x.ratioToDrain)).toFixed(3)} of drain, ` +
    `${xs.every((x) => x.cpuMsPerTask !== null) ? median(xs.map((x) => x.cpuMsPerTask ?? NaN)).toFixed(3) : '?'} ms CPU/task, ` +
    `hand-off p95 under load ${median(xs.map((x) => x.handoffP95UnderLoad))} ms`;
  process.stdout.write(`medians — base (${baseRev}): ${summary(results.base)}\n`);
  process.stdout.write(`medians — head (working tree): ${summary(results.head)}\n`);
  process.stdout.write(`head ahead in ${headAhead} of ${pairs} pairs\n`);
} finally {
  for (const s of services.reverse()) await s.stop();
  try {
    run('git', ['worktree', 'remove', '--force', worktree], repoRoot);
  } catch {
    // not created (a bad revision): nothing to remove
  }
  run('git', ['worktree', 'prune'], repoRoot);
  rmSync(tmp, { recursive: true, force: true });
}
