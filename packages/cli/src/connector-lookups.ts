import { setMaxListeners } from 'node:events';
import { resolveConnector, type Connector, type ConnectorSpecification } from '@sluice/connectors';
import { ConnectorConfigError, ConnectorNotFoundError, errorMessage } from '@sluice/core';
import type { Logger } from '@sluice/logging';

/** How long a `POST /api/airbyte/ingest` waits for a connector's spec or catalog before going on without it. */
const LOOKUP_BUDGET_MS = 20_000;
/**
 * How long a connector found nowhere is answered so without looking again: a client's retries, or
 * a typo sent again, do not build a virtualenv each (QA round 43a F10: 5–12 s a create). Short, so
 * that a connector installed after a refusal is found a minute later.
 */
const NOT_FOUND_MEMORY_MS = 60_000;

function within<T>(p: Promise<T | undefined>, ms: number, onTimeout: () => void): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      onTimeout();
      resolve(undefined);
    }, ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The API's connector lookups. A connector that is on PATH or already installed answers at once;
 * one that must be pip-installed first is installed in the background and, if that takes longer
 * than the budget, the request goes on without the spec (secrets then found by key name) and a
 * later request finds it ready. A request's check and discover, which come after its spec, do not
 * wait for an install its spec already waited out (QA rounds 35c F2, 36b F5: a create during an
 * install waited the budget twice, and went on unchecked all the same). Resolutions are shared
 * per source name, and so is a spec command under way: one that takes longer than a request waits
 * goes on (up to the connector's command timeout) for the requests after it, and check and
 * discover do not start the spec again for their masking (QA round 38a F3: three spec commands
 * for one create, which waited the budget twice); while the spec is not known, every string of the
 * config is masked in their output. `close` stops what the lookups started (installs, connector
 * commands): nothing of theirs outlives the API (QA round 38a F4).
 *
 * @param options.budgetMs how long each lookup waits (LOOKUP_BUDGET_MS; shorter in tests)
 * @param options.notFoundMemoryMs how long a connector found nowhere is answered so from memory (NOT_FOUND_MEMORY_MS; shorter in tests)
 */
export function connectorLookups(connectorsDir: string, logger: Logger, options: { budgetMs?: number; notFoundMemoryMs?: number } = {}) {
  const budget = options.budgetMs ?? LOOKUP_BUDGET_MS;
  const notFoundMemory = options.notFoundMemoryMs ?? NOT_FOUND_MEMORY_MS;
  const stopping = new AbortController();
  const { signal } = stopping;
  // Every install and connector command under way listens on it until it ends; past ten at once
  // (concurrent creates) Node's leak warning was printed, a raw line amid JSON logs (QA round 43a F8).
  setMaxListeners(0, signal);
  const connectors = new Map<string, Promise<Connector | undefined>>();
  /** Source names whose resolution (an install, on a first use) is still under way. */
  const installing = new Set<string>();
  /** Source names found nowhere, with the refusal and when it was made (kept notFoundMemory ms). */
  const notFound = new Map<string, { err: ConnectorNotFoundError; at: number }>();
  const connector = (name: string): Promise<Connector | undefined> => {
    const missing = notFound.get(name);
    if (missing !== undefined && Date.now() - missing.at < notFoundMemory) return Promise.reject(missing.err);
    notFound.delete(name);
    let p = connectors.get(name);
    if (!p) {
      // A request that waits for an install says why, once per connector and process.
      logger.info(`looking up connector ${name} to check the job against its spec and catalog (a first use may install it; each lookup waits at most ${budget / 1000} s)`);
      installing.add(name);
      p = resolveConnector(name, { connectorsDir, signal })
        .catch((err: unknown) => {
          connectors.delete(name);
          // A connector that exists nowhere is the request's error (the API answers 400), not a lookup's.
          if (err instanceof ConnectorNotFoundError) {
            const now = Date.now();
            // Oldest first (a Map keeps its insertion order): the expired ones go, so fuzzed names do not pile up.
            for (const [old, { at }] of notFound) {
              if (now - at < notFoundMemory) break;
              notFound.delete(old);
            }
            notFound.set(name, { err, at: now });
            throw err;
          }
          if (!signal.aborted) logger.warn(`connector ${name} could not be resolved for validation: ${errorMessage(err)}`);
          return undefined;
        })
        .finally(() => installing.delete(name));
      connectors.set(name, p);
    }
    return p;
  };
  /** Spec commands under way, by source name; a spec read is kept by its Connector. */
  const specRuns = new Map<string, Promise<ConnectorSpecification>>();
  const spec = (name: string, c: Connector): Promise<ConnectorSpecification> => {
    // Read already (by a run's extract in this process, say): not behind a command still under way (QA round 39a F2).
    const known = c.knownSpec;
    if (known) return Promise.resolve(known);
    let run = specRuns.get(name);
    if (!run) {
      const started = c.spec({ signal });
      run = started;
      specRuns.set(name, started);
      void started.then(
        () => specRuns.delete(name),
        () => specRuns.delete(name),
      );
    }
    return run;
  };
  /** One lookup with a connector, within the budget: undefined when it fails or comes late (said), a ConnectorNotFoundError passed on. */
  const lookup = <T>(name: string, what: string, use: (c: Connector) => Promise<T>, whenLate: string | null, budgetMs = budget): Promise<T | undefined> =>
    within(
      connector(name)
        .then(async (c) => (c ? await use(c) : undefined))
        .catch((err: unknown) => {
          // No such connector, or the source says the job's config is wrong (a bucket that does not
          // exist, say): the request's errors, which the API answers with 400.
          if (err instanceof ConnectorNotFoundError || err instanceof ConnectorConfigError) throw err;
          if (!signal.aborted) logger.warn(`${what} of ${name} unavailable: ${errorMessage(err)}`);
          return undefined;
        }),
      budgetMs,
      () => {
        if (whenLate !== null) logger.info(`no ${what} of ${name} within ${budgetMs / 1000} s: ${whenLate}`);
      },
    );
  /**
   * A lookup with a config comes after the request's spec, which waited for the connector: while
   * its install is still under way, it answers at once without the connector (said), instead of
   * waiting the budget again for the same install. Null when the connector is ready.
   */
  const afterInstall = (name: string, what: string, whenLate: string): Promise<undefined> | null => {
    if (!installing.has(name)) return null;
    logger.info(`no ${what} of ${name}: it is still being installed: ${whenLate}`);
    return Promise.resolve(undefined);
  };
  return {
    getConnectorSpec: (name: string, wait?: { waitMs?: number; quiet?: boolean }) =>
      lookup(
        name,
        'spec',
        (c) => spec(name, c),
        wait?.quiet ? null : 'the job is checked without it (secrets found by key name); later requests use it once ready',
        wait?.waitMs,
      ),
    discoverCatalog: (name: string, config: Record<string, unknown>) =>
      afterInstall(name, 'catalog', 'streams and columns are checked when the job runs') ??
      lookup(name, 'catalog', (c) => c.discover(config, { timeoutMs: budget, signal }, c.maskerWithoutWaiting(config)), 'streams and columns are checked when the job runs'),
    checkConnection: (name: string, config: Record<string, unknown>) =>
      afterInstall(name, 'connection check', 'the connection is tried when the job runs') ??
      lookup(name, 'connection check', (c) => c.check(config, { timeoutMs: budget, signal }, c.maskerWithoutWaiting(config)), 'the connection is tried when the job runs'),
    /** Stops the installs and connector commands the lookups started; later lookups answer nothing. */
    close: (): void => stopping.abort(new Error('Sluice is stopping')),
  };
}
