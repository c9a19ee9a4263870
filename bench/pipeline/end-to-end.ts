/**
 * End-to-end pipeline benchmark: one Sluice ingestion job, trigger → committed Iceberg snapshot,
 * driven only through the HTTP API, beside (in the same invocation, runs interleaved)
 *   (a) the connector's own `read` with its stdout to /dev/null — the source's ceiling, and
 *   (b) PyAirbyte reading the same connector executable into its default cache (DuckDB).
 *
 * It stands up its own PostgreSQL and Redis (@sluice/local-services, in a temp directory on free
 * ports) and the whole of Sluice in this process (test/support/sluice-stack.ts: API, engine,
 * scheduler, one runner at concurrency 4) over a file:// object store, so it needs no running
 * services. PyAirbyte is pip-installed once into its own virtualenv under --work-dir.
 *
 *   pnpm exec tsx bench/pipeline/end-to-end.ts [--runs 3] [--records 1000000] [--faker-count 200000]
 *       [--work-dir /tmp/sluice-bench-e2e] [--no-faker] [--no-test-connector] [--no-pyairbyte] [--results FILE]
 *
 * Results: a table on stdout and JSON in --results (default bench/results/end-to-end-<UTC date>.json).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, startPostgres, startRedis, type LocalService } from '@sluice/local-services';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    records: { type: 'string', default: '1000000' },
    'faker-count': { type: 'string', default: '200000' },
    'work-dir': { type: 'string', default: path.join(os.tmpdir(), 'sluice-bench-e2e') },
    'no-faker': { type: 'boolean', default: false },
    'no-test-connector': { type: 'boolean', default: false },
    'no-pyairbyte': { type: 'boolean', default: false },
    /** Where the JSON goes; default bench/results/end-to-end-<UTC date>.json. */
    results: { type: 'string' },
  },
});
const runs = Number(args.runs);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const workDir = path.resolve(args['work-dir']);
const connectorsDir = path.join(workDir, 'connectors');
const testConnectorDir = path.join(repo, 'packages/connectors/test-connector');
process.env['PATH'] = `${testConnectorDir}${path.delimiter}${process.env['PATH'] ?? ''}`;
const out = (line: string): void => void process.stdout.write(`${line}\n`);
const seconds = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e9;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

/** Runs a command to completion; answers its stdout, throws with stderr's tail on failure. */
async function run(command: string, argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; stdout?: 'pipe' | 'ignore' } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', opts.stdout ?? 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${command} ${argv[0] ?? ''} exited ${String(code)}: ${stderr}`))));
  });
}

/** The code measured: the commit, and files changed in the working tree at the start (other work in progress). */
const git = {
  commit: (await run('git', ['rev-parse', 'HEAD'], { cwd: repo })).trim(),
  uncommitted_changes: (await run('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repo })).split('\n').filter((l) => l.trim() !== ''),
};

// ---------------------------------------------------------------------------------------------
// Services and the Sluice stack
// ---------------------------------------------------------------------------------------------
await mkdir(connectorsDir, { recursive: true });
const tmp = await mkdtemp(path.join(os.tmpdir(), 'sluice-bench-e2e-run-'));
await chmod(tmp, 0o755);
const services: LocalService[] = [];
const pgService = await startPostgres(path.join(tmp, 'pg'), await freePort(), { durable: false });
services.push(pgService);
const redisService = await startRedis(path.join(tmp, 'redis'), await freePort());
services.push(redisService);
// test/support reads the services' URLs from the environment the test runner would set.
process.env['DATABASE_URL'] = pgService.url;
process.env['REDIS_URL'] = redisService.url;
process.env['SLUICE_TEST_TMP'] = tmp;
const { startSluiceStack } = await import('../../test/support/sluice-stack.ts');
const stack = await startSluiceStack({ storage: 'file', connectorsDir });

interface TaskTiming {
  task_id: string;
  stream: string | null;
  state: string;
  rows: number;
  bytes: number;
  queued_at: string | null;
  started_at: string | null;
  ended_at: string | null;
}
interface RunDetail {
  run_id: string;
  state: string;
  state_message: string | null;
  queued_at: string;
  started_at: string | null;
  ended_at: string | null;
  tasks: TaskTiming[];
}

interface SourceCase {
  label: string;
  sourceName: string;
  config: Record<string, unknown>;
  stream: string;
  records: number;
  /** The connector executable that Sluice resolves (found after Sluice's first run installs it). */
  executable(): string;
}

let jobCounter = 0;
/** Posts a fresh job (its own namespace, so every run creates and commits a new table). */
async function createJob(c: SourceCase): Promise<{ jobId: string; schema: string }> {
  const schema = `bench_${c.label.replace(/[^a-z0-9]/g, '_')}_${++jobCounter}`;
  const r = await stack.api<{ job_id: string | null; error: string | null }>('POST', '/api/airbyte/ingest', {
    name: `bench ${c.label} ${jobCounter}`,
    source_name: c.sourceName,
    source_config: c.config,
    schema_name: schema,
    mode: 'append',
    streams: [c.stream],
  });
  if (r.status !== 201 || !r.body.job_id) throw new Error(`POST /api/airbyte/ingest: ${r.status} ${JSON.stringify(r.body)}`);
  return { jobId: r.body.job_id, schema };
}

/** Reads the table's committed snapshot from the SQL catalog and its metadata file. */
async function committedRecords(schema: string, table: string): Promise<number> {
  const rows = await stack.db.prisma.$queryRawUnsafe<{ metadata_location: string }[]>(
    `SELECT metadata_location FROM iceberg_tables WHERE catalog_name = 'sluice' AND table_namespace = $1 AND table_name = $2`,
    schema,
    table,
  );
  const location = rows[0]?.metadata_location;
  if (!location) throw new Error(`no Iceberg table ${schema}.${table} in the catalog`);
  const metadata = JSON.parse(await readFile(fileURLToPath(location), 'utf8')) as {
    'current-snapshot-id'?: number | null;
    snapshots?: { 'snapshot-id': number; summary: Record<string, string> }[];
  };
  const current = metadata.snapshots?.find((s) => s['snapshot-id'] === metadata['current-snapshot-id']);
  if (!current) throw new Error(`${schema}.${table} has no current snapshot`);
  return Number(current.summary['total-records']);
}

interface SluiceRun {
  s: number;
  server_s: number;
  run: RunDetail;
}

/** One job run: POST trigger → polls GET /api/runs/{id} every 100 ms until success. */
async function sluiceRun(c: SourceCase): Promise<SluiceRun> {
  const { jobId, schema } = await createJob(c);
  const started = process.hrtime.bigint();
  const t = await stack.api<{ run_id: string }>('POST', `/api/airbyte/ingest/${jobId}/runs`);
  if (t.status !== 201) throw new Error(`trigger: ${t.status} ${JSON.stringify(t.body)}`);
  let run: RunDetail;
  for (;;) {
    const r = await stack.api<RunDetail>('GET', `/api/runs/${t.body.run_id}`);
    if (r.status !== 200) throw new Error(`GET /api/runs: ${r.status} ${JSON.stringify(r.body)}`);
    run = r.body;
    if (['success', 'failed', 'cancelled'].includes(run.state)) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  const s = seconds(started);
  if (run.state !== 'success') {
    throw new Error(`run ${run.run_id} ${run.state}: ${run.state_message ?? ''} ${JSON.stringify(run.tasks.filter((x) => x.state !== 'success'))}`);
  }
  const committed = await committedRecords(schema, c.stream);
  if (committed !== c.records) throw new Error(`${schema}.${c.stream}: committed snapshot holds ${committed} records, expected ${c.records}`);
  const server_s = (Date.parse(run.ended_at ?? '') - Date.parse(run.queued_at)) / 1000;
  return { s, server_s, run };
}

async function discoverCatalog(executable: string, configPath: string, stream: string): Promise<unknown> {
  const output = await run(executable, ['discover', '--config', configPath]);
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    const msg = JSON.parse(line) as { type?: string; catalog?: { streams: { name: string; supported_sync_modes?: string[] }[] } };
    if (msg.type !== 'CATALOG' || !msg.catalog) continue;
    const s = msg.catalog.streams.find((x) => x.name === stream);
    if (!s) throw new Error(`stream ${stream} not in the catalog`);
    return { streams: [{ stream: s, sync_mode: 'full_refresh', destination_sync_mode: 'append' }] };
  }
  throw new Error(`${executable} discover printed no CATALOG`);
}

interface CeilingRun {
  /** `read` alone: the source's ceiling. */
  read_s: number;
  /** `spec` and `discover`, which Sluice's extract also runs (each a connector process start). */
  spec_s: number;
  discover_s: number;
}
/** The connector's own `read`, stdout to /dev/null: nothing parsed, nothing stored. */
async function ceilingRun(c: SourceCase): Promise<CeilingRun> {
  const dir = await mkdtemp(path.join(workDir, 'ceiling-'));
  try {
    const config = path.join(dir, 'config.json');
    const catalog = path.join(dir, 'catalog.json');
    await writeFile(config, JSON.stringify(c.config));
    let started = process.hrtime.bigint();
    await run(c.executable(), ['spec'], { cwd: dir, stdout: 'ignore' });
    const spec_s = seconds(started);
    started = process.hrtime.bigint();
    await writeFile(catalog, JSON.stringify(await discoverCatalog(c.executable(), config, c.stream)));
    const discover_s = seconds(started);
    started = process.hrtime.bigint();
    await run(c.executable(), ['read', '--config', config, '--catalog', catalog], { cwd: dir, stdout: 'ignore' });
    return { read_s: seconds(started), spec_s, discover_s };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const pyVenv = path.join(workDir, 'pyairbyte');
const pyBin = path.join(pyVenv, 'bin', 'python');
async function ensurePyAirbyte(): Promise<void> {
  if (existsSync(path.join(pyVenv, 'bin', 'pip')) && (await run(pyBin, ['-c', 'import airbyte']).then(() => true, () => false))) return;
  out(`# installing PyAirbyte into ${pyVenv} (once)`);
  await run('python3', ['-m', 'venv', pyVenv]);
  await run(path.join(pyVenv, 'bin', 'pip'), ['install', '--quiet', 'airbyte']);
}

interface PyAirbyteRun {
  read_s: number;
  process_s: number;
  records: Record<string, number>;
  airbyte_version: string;
  cache: string;
}
/** PyAirbyte reads the same executable into its default DuckDB cache, in a fresh directory. */
async function pyAirbyteRun(c: SourceCase): Promise<PyAirbyteRun> {
  const dir = await mkdtemp(path.join(workDir, 'pyairbyte-run-'));
  try {
    const payload = JSON.stringify({ name: c.sourceName, executable: c.executable(), config: c.config, streams: [c.stream] });
    const env = { ...process.env, AIRBYTE_OFFLINE_MODE: '1', DO_NOT_TRACK: '1', AIRBYTE_NO_UI: '1' };
    const stdout = await run(pyBin, [path.join(here, 'pyairbyte-read.py'), payload], { cwd: dir, env });
    const last = stdout.trim().split('\n').at(-1) ?? '';
    const r = JSON.parse(last) as PyAirbyteRun;
    if (r.records[c.stream] !== c.records) throw new Error(`PyAirbyte cached ${JSON.stringify(r.records)}, expected ${c.records}`);
    return r;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Per task: medians of the time from run start to the task's start, and of its own duration. */
function taskBreakdown(sluiceRuns: SluiceRun[]): { task: string; start_offset_s: number; wait_s: number; duration_s: number; rows: number }[] {
  const acc = new Map<string, { offset: number[]; wait: number[]; dur: number[]; rows: number }>();
  for (const { run: r } of sluiceRuns) {
    const base = Date.parse(r.queued_at);
    for (const t of r.tasks) {
      if (!t.started_at || !t.ended_at) continue;
      const key = t.stream ? `${t.task_id} [${t.stream}]` : t.task_id;
      const a = acc.get(key) ?? { offset: [], wait: [], dur: [], rows: t.rows };
      a.offset.push((Date.parse(t.started_at) - base) / 1000);
      a.wait.push((Date.parse(t.started_at) - Date.parse(t.queued_at ?? t.started_at)) / 1000);
      a.dur.push((Date.parse(t.ended_at) - Date.parse(t.started_at)) / 1000);
      acc.set(key, a);
    }
  }
  return [...acc.entries()]
    .map(([task, a]) => ({ task, start_offset_s: round(median(a.offset)), wait_s: round(median(a.wait)), duration_s: round(median(a.dur)), rows: a.rows }))
    .sort((x, y) => x.start_offset_s - y.start_offset_s);
}

async function bench(c: SourceCase): Promise<Record<string, unknown>> {
  out(`# ${c.label}: ${c.records} records of ${c.stream}, config ${JSON.stringify(c.config)}`);
  // Warm-up: installs the connector if needed (source-faker from PyPI) and warms the runner; not measured.
  await sluiceRun({ ...c, config: { ...c.config, ...(c.sourceName === 'source-faker' ? { count: 1000 } : { records: { [c.stream]: 1000 } }) }, records: 1000 });
  const ceilingRuns: CeilingRun[] = [];
  const ceiling: number[] = [];
  const sluice: SluiceRun[] = [];
  const pyairbyte: PyAirbyteRun[] = [];
  for (let i = 0; i < runs; i++) {
    // Interleaved, so machine noise falls on every side alike.
    const cr = await ceilingRun(c);
    ceilingRuns.push(cr);
    ceiling.push(cr.read_s);
    out(`  run ${i + 1}: connector read ${round(ceiling.at(-1) ?? 0)} s`);
    sluice.push(await sluiceRun(c));
    out(`  run ${i + 1}: sluice ${round(sluice.at(-1)?.s ?? 0)} s`);
    if (!args['no-pyairbyte']) {
      pyairbyte.push(await pyAirbyteRun(c));
      out(`  run ${i + 1}: pyairbyte read ${round(pyairbyte.at(-1)?.read_s ?? 0)} s (process ${round(pyairbyte.at(-1)?.process_s ?? 0)} s)`);
    }
  }
  const mc = median(ceiling);
  const ms = median(sluice.map((r) => r.s));
  const mp = pyairbyte.length > 0 ? median(pyairbyte.map((r) => r.read_s)) : null;
  const ratioCeiling = ms / mc;
  return {
    source: c.label,
    stream: c.stream,
    records: c.records,
    config: c.config,
    median_s: { connector_read: round(mc), sluice_whole_run: round(ms), sluice_server_run: round(median(sluice.map((r) => r.server_s))), pyairbyte_read: mp === null ? null : round(mp), pyairbyte_process: pyairbyte.length > 0 ? round(median(pyairbyte.map((r) => r.process_s))) : null },
    rows_per_s: { connector_read: Math.round(c.records / mc), sluice_whole_run: Math.round(c.records / ms), pyairbyte_read: mp === null ? null : Math.round(c.records / mp) },
    sluice_over_connector_read: round(ratioCeiling, 3),
    sluice_over_pyairbyte: mp === null ? null : round(ms / mp, 3),
    target_within_1_5x_of_read: ratioCeiling <= 1.5,
    target_faster_than_pyairbyte: mp === null ? null : ms < mp,
    connector_startup_median_s: {
      spec: round(median(ceilingRuns.map((r) => r.spec_s))),
      discover: round(median(ceilingRuns.map((r) => r.discover_s))),
    },
    runs_s: {
      connector_read: ceiling.map((x) => round(x)),
      sluice_whole_run: sluice.map((r) => round(r.s)),
      pyairbyte_read: pyairbyte.map((r) => round(r.read_s)),
    },
    tasks: taskBreakdown(sluice),
    pyairbyte: pyairbyte[0] ? { version: pyairbyte[0].airbyte_version, cache: pyairbyte[0].cache } : null,
    run_ids: sluice.map((r) => r.run.run_id),
  };
}

/**
 * source-faker as Sluice installed it. Its console script's shebang names the temporary directory
 * the virtualenv was built in (Sluice runs it through the virtualenv's python instead), so the
 * ceiling and PyAirbyte get a one-line wrapper that does the same.
 */
function fakerExecutable(): string {
  const dir = readdirSync(connectorsDir).find((d) => d.startsWith('source-faker') && existsSync(path.join(connectorsDir, d, 'bin', 'source-faker')));
  if (!dir) throw new Error(`source-faker is not installed under ${connectorsDir}`);
  const venv = path.join(connectorsDir, dir);
  const wrapper = path.join(workDir, 'source-faker');
  writeFileSync(wrapper, `#!/bin/sh\nexec "${venv}/bin/python" "${venv}/bin/source-faker" "$@"\n`, { mode: 0o755 });
  return wrapper;
}
async function fakerVersion(): Promise<string> {
  const dir = readdirSync(connectorsDir).find((d) => d.startsWith('source-faker')) ?? 'source-faker';
  const py = path.join(connectorsDir, dir, 'bin', 'python');
  return (await run(py, ['-c', 'import importlib.metadata as m; print(m.version("airbyte-source-faker"))'])).trim();
}

const loadStart = os.loadavg();
const results: Record<string, unknown>[] = [];
try {
  if (!args['no-pyairbyte']) await ensurePyAirbyte();
  out(`# ${runs} runs each; node ${process.version}; ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}; load ${loadStart.map((x) => x.toFixed(2)).join(' ')}`);
  if (!args['no-test-connector']) {
    const n = Number(args.records);
    results.push(
      await bench({
        label: 'source-sluice-test',
        sourceName: 'source-sluice-test',
        config: { records: { users: n }, state_every: 10_000 },
        stream: 'users',
        records: n,
        executable: () => path.join(testConnectorDir, 'source-sluice-test'),
      }),
    );
  }
  if (!args['no-faker']) {
    const n = Number(args['faker-count']);
    results.push(
      await bench({
        label: 'source-faker',
        sourceName: 'source-faker',
        config: { count: n, seed: 1, parallelism: 2, always_updated: true },
        stream: 'users',
        records: n,
        executable: fakerExecutable,
      }),
    );
    const fakerResult = results.at(-1);
    if (fakerResult) fakerResult['connector_version'] = await fakerVersion();
  }
} finally {
  await stack.close();
  for (const s of services.reverse()) await s.stop();
  await rm(tmp, { recursive: true, force: true });
}

const report = {
  benchmark: 'bench/pipeline/end-to-end.ts',
  command: `pnpm exec tsx bench/pipeline/end-to-end.ts ${process.argv.slice(2).join(' ')}`.trim(),
  date: new Date().toISOString(),
  machine: {
    node: process.version,
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? null,
    memory_gb: round(os.totalmem() / 2 ** 30, 1),
    load_average_start: loadStart.map((x) => round(x)),
    load_average_end: os.loadavg().map((x) => round(x)),
  },
  storage: 'file:// (local disk)',
  git,
  runs,
  results,
};
out('');
out('| source | records | connector read s (rows/s) | Sluice whole run s (rows/s) | PyAirbyte read s (rows/s) | Sluice ÷ read | Sluice ÷ PyAirbyte | ≤1.5× read | faster than PyAirbyte |');
out('|---|---:|---:|---:|---:|---:|---:|---|---|');
for (const r of results as {
  source: string;
  records: number;
  median_s: { connector_read: number; sluice_whole_run: number; pyairbyte_read: number | null };
  rows_per_s: { connector_read: number; sluice_whole_run: number; pyairbyte_read: number | null };
  sluice_over_connector_read: number;
  sluice_over_pyairbyte: number | null;
  target_within_1_5x_of_read: boolean;
  target_faster_than_pyairbyte: boolean | null;
  tasks: { task: string; start_offset_s: number; wait_s: number; duration_s: number; rows: number }[];
}[]) {
  const py = r.median_s.pyairbyte_read === null ? 'n/a' : `${r.median_s.pyairbyte_read} (${r.rows_per_s.pyairbyte_read ?? ''})`;
  out(
    `| ${r.source} | ${r.records} | ${r.median_s.connector_read} (${r.rows_per_s.connector_read}) | ${r.median_s.sluice_whole_run} (${r.rows_per_s.sluice_whole_run}) | ${py} | ${r.sluice_over_connector_read} | ${r.sluice_over_pyairbyte ?? 'n/a'} | ${r.target_within_1_5x_of_read ? 'yes' : 'NO'} | ${r.target_faster_than_pyairbyte === null ? 'n/a' : r.target_faster_than_pyairbyte ? 'yes' : 'NO'} |`,
  );
}
for (const r of results as {
  source: string;
  connector_startup_median_s: { spec: number; discover: number };
  tasks: { task: string; start_offset_s: number; wait_s: number; duration_s: number; rows: number }[];
}[]) {
  out('');
  out(`Where the time goes, ${r.source} (medians; offsets from the run's queued_at):`);
  out(`(the connector's own spec takes ${r.connector_startup_median_s.spec} s and discover ${r.connector_startup_median_s.discover} s; extract runs both before read)`);
  out('| task | starts at s | queue wait s | duration s | rows |');
  out('|---|---:|---:|---:|---:|');
  for (const t of r.tasks) out(`| ${t.task} | ${t.start_offset_s} | ${t.wait_s} | ${t.duration_s} | ${t.rows} |`);
}
const file = path.resolve(args.results ?? path.join(repo, 'bench/results', `end-to-end-${report.date.slice(0, 10)}.json`));
await mkdir(path.dirname(file), { recursive: true });
await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
out('');
out(`JSON: ${path.relative(repo, file)}`);
