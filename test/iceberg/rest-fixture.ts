import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '@sluice/local-services';

const pom = path.join(path.dirname(fileURLToPath(import.meta.url)), 'rest-fixture', 'pom.xml');

/** The fixture's jars, fetched from Maven Central once per pom version into the OS temp dir. */
function fixtureJars(): string {
  const hash = createHash('sha256').update(readFileSync(pom)).digest('hex').slice(0, 12);
  const lib = path.join(os.tmpdir(), `sluice-iceberg-rest-fixture-${hash}`);
  if (!existsSync(path.join(lib, 'done'))) {
    const r = spawnSync('mvn', ['-q', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${lib}`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`fetching the Iceberg REST fixture with Maven failed (needs java and mvn): ${r.stderr || r.stdout || String(r.error)}`);
    spawnSync('touch', [path.join(lib, 'done')]);
  }
  return lib;
}

export interface RestFixture {
  uri: string;
  stop(): Promise<void>;
}

/**
 * Starts Apache Iceberg's REST catalog test server (a JdbcCatalog on in-memory SQLite, one
 * connection, behind the REST API; metadata files in an in-memory FileIO, data and manifests where the client puts them).
 */
export async function startRestFixture(): Promise<RestFixture> {
  const lib = fixtureJars();
  const port = await freePort();
  const child: ChildProcess = spawn('java', ['-Xmx256m', '-cp', `${lib}/*`, 'org.apache.iceberg.rest.RESTCatalogServer'], {
    env: {
      ...process.env,
      CATALOG_REST_PORT: String(port),
      CATALOG_WAREHOUSE: `file://${os.tmpdir()}/sluice-rest-fixture-warehouse`,
      CATALOG_IO__IMPL: 'org.apache.iceberg.inmemory.InMemoryFileIO',
      // The backing store is `jdbc:sqlite::memory:`, where every JDBC connection opens its own
      // empty database. Iceberg's pool opens a second connection only when two requests overlap
      // (the racing-writers test), which then fails with "no such table": one connection keeps
      // a single database. Commits still race at the compare-and-swap, which is what is tested.
      CATALOG_CLIENTS: '1',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log: string[] = [];
  child.stderr?.on('data', (c: Buffer) => log.push(c.toString()));
  const uri = `http://127.0.0.1:${port}`;
  for (let ready = false; !ready; ) {
    if (child.exitCode !== null) throw new Error(`the Iceberg REST fixture exited: ${log.join('').slice(-2000)}`);
    try {
      ready = (await fetch(`${uri}/v1/config`)).ok;
    } catch {
      // not listening yet; the test's own timeout bounds the wait
      await sleep(100);
    }
  }
  return {
    uri,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
