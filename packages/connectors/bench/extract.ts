/**
 * Extract benchmark: records/s and MB/s through `runExtract` (connector → protocol parsing →
 * NDJSON parts in the object store) beside the same connector's own `read` piped to /dev/null
 * in the same run (the source's ceiling), for the repository's test connector at full speed
 * (the pipeline's own ceiling) and for source-faker from PyPI. Reports medians, the ratio to
 * the ceiling, and peak RSS of this process at two sizes (memory must not grow with records).
 *
 *   pnpm exec tsx packages/connectors/bench/extract.ts [--runs 3] [--records 300000] [--faker-count 20000]
 *                       [--store file:///tmp/x | s3://bucket/prefix] [--connectors-dir DIR] [--no-faker]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openObjectStore } from '@sluice/storage';
import { buildConfiguredCatalog, resolveConnector, runExtract, type Connector, type ConnectorConfig } from '../src/index.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    records: { type: 'string', default: '300000' },
    'faker-count': { type: 'string', default: '20000' },
    store: { type: 'string' },
    'connectors-dir': { type: 'string' },
    'no-faker': { type: 'boolean', default: false },
  },
});
const runs = Number(args.runs);
const here = path.dirname(fileURLToPath(import.meta.url));
process.env['PATH'] = `${path.resolve(here, '../test-connector')}${path.delimiter}${process.env['PATH'] ?? ''}`;
const out = (line: string): void => void process.stdout.write(`${line}\n`);

const work = await mkdtemp(path.join(os.tmpdir(), 'sluice-bench-extract-'));
const store = openObjectStore(args.store ?? `file://${path.join(work, 'store')}`);

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 10);

/** The connector's own `read`, its stdout straight to /dev/null: nothing parsed, nothing stored. */
async function ceiling(connector: Connector, config: ConnectorConfig, catalog: unknown): Promise<number> {
  const dir = await mkdtemp(path.join(work, 'ceiling-'));
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config), { mode: 0o600 });
  await writeFile(path.join(dir, 'catalog.json'), JSON.stringify(catalog), { mode: 0o600 });
  const launch = connector.launch(['read', '--config', path.join(dir, 'config.json'), '--catalog', path.join(dir, 'catalog.json')], dir);
  const started = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(launch.command, launch.args, { stdio: ['ignore', 'ignore', 'ignore'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`read exited ${String(code)}`))));
  });
  const s = Number(process.hrtime.bigint() - started) / 1e9;
  await rm(dir, { recursive: true, force: true });
  return s;
}

async function sluice(connector: Connector, config: ConnectorConfig, catalog: Awaited<ReturnType<Connector['discover']>>, runId: string) {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const r = await runExtract({ connector, config, mode: 'overwrite', store, runId, catalog });
  const s = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  cpuSeconds.push((used.user + used.system) / 1e6);
  if (r.status !== 'succeeded') throw new Error(`extract failed: ${r.failure.message}`);
  await store.deletePrefix(`staging/${runId}/`);
  return { s, records: r.progress.records, bytes: r.progress.bytes };
}

/** CPU seconds this process spent in each Sluice run (the pipeline's own cost, apart from the connector's). */
let cpuSeconds: number[] = [];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function bench(label: string, connector: Connector, config: ConnectorConfig) {
  const catalog = await connector.discover(config);
  const configured = buildConfiguredCatalog(catalog, { streams: null, mode: 'overwrite' });
  await connector.spec();
  cpuSeconds = [];
  const ceil: number[] = [];
  const pipe: number[] = [];
  let records = 0;
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    // Alternate, so machine noise hits both sides alike.
    ceil.push(await ceiling(connector, config, configured));
    const r = await sluice(connector, config, catalog, `bench-${label}-${i}`);
    pipe.push(r.s);
    records = r.records;
    bytes = r.bytes;
  }
  const mc = median(ceil);
  const mp = median(pipe);
  const row = {
    source: label,
    records,
    mb: +(bytes / 1e6).toFixed(1),
    ceiling_rec_s: Math.round(records / mc),
    sluice_rec_s: Math.round(records / mp),
    ceiling_mb_s: +(bytes / 1e6 / mc).toFixed(1),
    sluice_mb_s: +(bytes / 1e6 / mp).toFixed(1),
    ratio: +(mc / mp).toFixed(3),
    sluice_cpu_us_per_record: +((median(cpuSeconds) / records) * 1e6).toFixed(2),
    runs_s: { ceiling: ceil.map((x) => +x.toFixed(2)), sluice: pipe.map((x) => +x.toFixed(2)) },
  };
  out(JSON.stringify(row));
  return row;
}

try {
  out(`# ${runs} runs each, store ${store.rootUrl}, node ${process.version}, ${os.cpus().length} cpus`);
  const test = await resolveConnector('source-sluice-test');
  const n = Number(args.records);
  const rows = [await bench('source-sluice-test', test, { records: n, state_every: 10_000 })];

  // Peak RSS at 1x and 4x the records: the difference is what memory grows with size.
  const rssAt = async (records: number): Promise<number> => {
    global.gc?.();
    peakRss = process.memoryUsage().rss;
    const r = await runExtract({ connector: test, config: { records, state_every: 10_000 }, mode: 'overwrite', store, runId: `bench-rss-${records}` });
    if (r.status !== 'succeeded') throw new Error(r.failure.message);
    await store.deletePrefix(`staging/bench-rss-${records}/`);
    return peakRss;
  };
  const small = await rssAt(Math.round(n / 4));
  const big = await rssAt(n * 4);
  out(JSON.stringify({ peak_rss_mb: { [`${(n / 4) * 3} records`]: +(small / 1e6).toFixed(0), [`${n * 12} records`]: +(big / 1e6).toFixed(0) } }));

  if (!args['no-faker']) {
    const faker = await resolveConnector('source-faker', {
      connectorsDir: args['connectors-dir'] ?? path.join(work, 'connectors'),
      version: '7.2.1',
    });
    rows.push(await bench('source-faker', faker, { count: Number(args['faker-count']), seed: 1, parallelism: 2, always_updated: true }));
  }
  out('');
  out('| source | records | MB | ceiling rec/s | sluice rec/s | ceiling MB/s | sluice MB/s | sluice/ceiling | sluice CPU µs/record |');
  out('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    out(
      `| ${r.source} | ${r.records} | ${r.mb} | ${r.ceiling_rec_s} | ${r.sluice_rec_s} | ${r.ceiling_mb_s} | ${r.sluice_mb_s} | ${r.ratio} | ${r.sluice_cpu_us_per_record} |`,
    );
  }
  out(`peak RSS of this process over the whole run: ${(peakRss / 1e6).toFixed(0)} MB`);
} finally {
  clearInterval(sampler);
  await store.close();
  await rm(work, { recursive: true, force: true });
}
