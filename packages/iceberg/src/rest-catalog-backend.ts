import { ServiceUnavailableError, ValidationError } from '@sluice/core';
import type { CatalogBackend, CommitOutcome, LoadedTable, TableCommit, TableIdentifier } from './catalog-backend.ts';
import { parseWithSnapshotIds, stringifyWithBigints } from './metadata-json.ts';
import type { TableMetadata } from './types.ts';

export interface RestCatalogOptions {
  /** Base URI of the catalog service, e.g. `http://iceberg-rest:8181` (without `/v1`). */
  uri: string;
  /** Catalog name reported by this backend (default `sluice`). */
  name?: string;
  /** Sent as `?warehouse=` to `GET /v1/config`. */
  warehouse?: string;
  /** A bearer token for every request. */
  token?: string;
  /** Extra headers for every request. */
  headers?: Record<string, string>;
  /** Per-request timeout in ms (default 30 s). */
  timeoutMs?: number;
}

/** An error answer of the catalog service (the REST spec's ErrorModel). */
export class RestCatalogError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(`Iceberg REST catalog: HTTP ${status} ${type}: ${message}`);
  }
}

/** Why a request reached no answer: the connection's own error (ECONNREFUSED …), or the timeout. */
function unreachableWhy(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs / 1000} s`;
  const cause = err instanceof Error ? err.cause : undefined;
  if (cause instanceof Error && cause.message !== '') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

interface LoadTableResult {
  'metadata-location'?: string;
  metadata: TableMetadata;
}

/**
 * An Iceberg REST catalog client (the Iceberg REST catalog OpenAPI spec). Data files, manifests
 * and manifest lists are still written by this package; table metadata is written by the service
 * from the commit's requirements (`assert-table-uuid`, `assert-ref-snapshot-id` on `main`, and on
 * schema changes `assert-current-schema-id`/`assert-last-assigned-field-id`) and updates
 * (`add-schema`, `set-current-schema`, `add-snapshot`, `set-snapshot-ref`). HTTP 409 is a lost
 * race; 500/502/503/504 leave the commit's outcome unknown, as the spec says.
 */
export class RestCatalogBackend implements CatalogBackend {
  readonly name: string;
  private prefix: Promise<string> | undefined;

  constructor(private readonly options: RestCatalogOptions) {
    this.name = options.name ?? 'sluice';
  }

  private async request(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { Accept: 'application/json', ...(this.options.headers ?? {}) };
    if (this.options.token) headers['Authorization'] = `Bearer ${this.options.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    const url = `${this.options.uri.replace(/\/+$/, '')}${path}`;
    // A read is tried three times over a few seconds (a catalog restarting); a write once: its
    // outcome, when the answer is lost, is the commit's to settle.
    const attempts = method === 'GET' ? 3 : 1;
    for (let attempt = 1; ; attempt++) {
      const init: RequestInit = { method, headers, signal: AbortSignal.timeout(timeoutMs) };
      if (body !== undefined) init.body = stringifyWithBigints(body);
      try {
        const res = await fetch(url, init);
        return { status: res.status, text: await res.text() };
      } catch (err) {
        if (attempt < attempts) {
          await new Promise((r) => setTimeout(r, 1_000 * attempt));
          continue;
        }
        // Said with the catalog's address and why (QA round 35c F3: a bare "fetch failed").
        throw new ServiceUnavailableError('the Iceberg REST catalog', this.options.uri, unreachableWhy(err, timeoutMs), { cause: err });
      }
    }
  }

  private static fail(status: number, text: string): never {
    let type = 'Error';
    // An answer that is not the spec's error model (a server's own error page): one line, cut short
    // (QA round 35c F4: a Jetty stack of several lines went whole into every try's error).
    const plain = text.replace(/\s+/g, ' ').trim();
    let message = plain.length > 300 ? `${plain.slice(0, 300)}… (${plain.length} characters)` : plain;
    try {
      const parsed = JSON.parse(text) as { error?: { type?: string; message?: string } };
      type = parsed.error?.type ?? type;
      message = parsed.error?.message ?? message;
    } catch {
      // not JSON: keep the text
    }
    throw new RestCatalogError(status, type, message);
  }

  /** `/v1/{prefix}` as `GET /v1/config` configures it. */
  private async base(): Promise<string> {
    this.prefix ??= (async () => {
      const q = this.options.warehouse ? `?warehouse=${encodeURIComponent(this.options.warehouse)}` : '';
      const { status, text } = await this.request('GET', `/v1/config${q}`);
      if (status !== 200) RestCatalogBackend.fail(status, text);
      const config = JSON.parse(text) as { defaults?: Record<string, string>; overrides?: Record<string, string> };
      const prefix = config.overrides?.['prefix'] ?? config.defaults?.['prefix'];
      return prefix ? `/v1/${prefix.split('/').map(encodeURIComponent).join('/')}` : '/v1';
    })();
    try {
      return await this.prefix;
    } catch (err) {
      this.prefix = undefined;
      throw err;
    }
  }

  private async tablePath(id: TableIdentifier): Promise<string> {
    return `${await this.base()}/namespaces/${encodeURIComponent(id.namespace)}/tables/${encodeURIComponent(id.name)}`;
  }

  async ensureNamespace(namespace: string): Promise<void> {
    const { status, text } = await this.request('POST', `${await this.base()}/namespaces`, { namespace: [namespace], properties: {} });
    if (status !== 200 && status !== 409) RestCatalogBackend.fail(status, text);
  }

  async listNamespaces(): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const q = token ? `?pageToken=${encodeURIComponent(token)}` : '';
      const { status, text } = await this.request('GET', `${await this.base()}/namespaces${q}`);
      if (status !== 200) RestCatalogBackend.fail(status, text);
      const page = JSON.parse(text) as { namespaces: string[][]; 'next-page-token'?: string | null };
      out.push(...page.namespaces.map((n) => n.join('.')));
      token = page['next-page-token'] ?? undefined;
    } while (token);
    return out.sort();
  }

  async listTables(namespace: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const q = token ? `?pageToken=${encodeURIComponent(token)}` : '';
      const { status, text } = await this.request('GET', `${await this.base()}/namespaces/${encodeURIComponent(namespace)}/tables${q}`);
      if (status === 404) return [];
      if (status !== 200) RestCatalogBackend.fail(status, text);
      const page = JSON.parse(text) as { identifiers: Array<{ name: string }>; 'next-page-token'?: string | null };
      out.push(...page.identifiers.map((i) => i.name));
      token = page['next-page-token'] ?? undefined;
    } while (token);
    return out.sort();
  }

  private static loaded(text: string): LoadedTable {
    const result = parseWithSnapshotIds(text) as LoadTableResult;
    if (!result['metadata-location']) {
      throw new ValidationError([{ path: 'metadata-location', message: 'the REST catalog answered a table without a metadata location' }]);
    }
    return { metadataLocation: result['metadata-location'], metadata: result.metadata };
  }

  async loadTable(id: TableIdentifier): Promise<LoadedTable | undefined> {
    const { status, text } = await this.request('GET', await this.tablePath(id));
    if (status === 404) return undefined;
    if (status !== 200) RestCatalogBackend.fail(status, text);
    return RestCatalogBackend.loaded(text);
  }

  async createTable(id: TableIdentifier, metadata: TableMetadata): Promise<LoadedTable | undefined> {
    await this.ensureNamespace(id.namespace);
    const schema = metadata.schemas.find((s) => s['schema-id'] === metadata['current-schema-id']);
    const { status, text } = await this.request('POST', `${await this.base()}/namespaces/${encodeURIComponent(id.namespace)}/tables`, {
      name: id.name,
      location: metadata.location,
      schema,
      'partition-spec': { 'spec-id': 0, fields: [] },
      'write-order': { 'order-id': 0, fields: [] },
      'stage-create': false,
      properties: { ...metadata.properties, 'format-version': '2' },
    });
    if (status === 409) return undefined;
    if (status !== 200) RestCatalogBackend.fail(status, text);
    return RestCatalogBackend.loaded(text);
  }

  async commit(id: TableIdentifier, commit: TableCommit): Promise<CommitOutcome> {
    const base = commit.base.metadata;
    const mainId = base.refs['main']?.['snapshot-id'] ?? (base['current-snapshot-id'] === -1n ? null : base['current-snapshot-id']);
    const requirements: Array<Record<string, unknown>> = [
      { type: 'assert-table-uuid', uuid: base['table-uuid'] },
      { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': mainId ?? null },
    ];
    const updates: Array<Record<string, unknown>> = [];
    if (commit.newSchema) {
      requirements.push(
        { type: 'assert-current-schema-id', 'current-schema-id': base['current-schema-id'] },
        { type: 'assert-last-assigned-field-id', 'last-assigned-field-id': base['last-column-id'] },
      );
      updates.push(
        { action: 'add-schema', schema: commit.newSchema.schema, 'last-column-id': commit.newSchema.lastColumnId },
        { action: 'set-current-schema', 'schema-id': -1 },
      );
    }
    if (commit.snapshot) {
      updates.push(
        { action: 'add-snapshot', snapshot: commit.snapshot },
        { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': commit.snapshot['snapshot-id'] },
      );
    }
    if (commit.setProperties) updates.push({ action: 'set-properties', updates: commit.setProperties });
    if (commit.removedSnapshotIds && commit.removedSnapshotIds.length > 0) {
      updates.push({ action: 'remove-snapshots', 'snapshot-ids': commit.removedSnapshotIds });
    }
    let res: { status: number; text: string };
    try {
      res = await this.request('POST', await this.tablePath(id), {
        identifier: { namespace: [id.namespace], name: id.name },
        requirements,
        updates,
      });
    } catch (error) {
      return { status: 'unknown', error };
    }
    if (res.status === 200) return { status: 'committed', table: RestCatalogBackend.loaded(res.text) };
    if (res.status === 409) return { status: 'conflict' };
    if ([500, 502, 503, 504].includes(res.status)) {
      return { status: 'unknown', error: new RestCatalogError(res.status, 'CommitStateUnknownException', res.text.slice(0, 500)) };
    }
    return RestCatalogBackend.fail(res.status, res.text);
  }

  async dropTable(id: TableIdentifier): Promise<boolean> {
    const { status, text } = await this.request('DELETE', await this.tablePath(id));
    if (status === 404) return false;
    if (status !== 204 && status !== 200) RestCatalogBackend.fail(status, text);
    return true;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
