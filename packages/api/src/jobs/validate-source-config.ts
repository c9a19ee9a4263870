import { Ajv, type ErrorObject } from 'ajv';
import type { FieldIssue } from '@sluice/core';
import type { ConnectorSpec } from '@sluice/core/secrets';

/** Looks up a connector's spec; undefined when it cannot be had (not installed, no network). */
export type GetConnectorSpec = (sourceName: string) => Promise<ConnectorSpec | undefined>;

/**
 * Runs a connector's `check` with a config (Airbyte's "test the source"): it connected, or why it
 * could not in the connector's words; undefined when the check cannot be had (not installed, late).
 */
export type CheckConnection = (sourceName: string, config: Record<string, unknown>) => Promise<{ status: 'succeeded' } | { status: 'failed'; message: string } | undefined>;

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });

function issuePath(e: ErrorObject): string {
  const segs = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let path = 'source_config';
  for (const s of segs) path += /^\d+$/.test(s) ? `[${s}]` : `.${s}`;
  if (e.keyword === 'required') path += `.${String((e.params as { missingProperty: string }).missingProperty)}`;
  return path;
}

/**
 * Checks `source_config` against the connector spec's JSON schema. Messages say what the schema
 * wants (type, required, enum) and never quote the submitted value.
 */
export function validateSourceConfig(config: Record<string, unknown>, spec: ConnectorSpec): FieldIssue[] {
  let validate;
  try {
    validate = ajv.compile(spec.connectionSpecification);
  } catch {
    return []; // A spec whose schema does not compile cannot judge the config; the connector's `check` will.
  }
  if (validate(config)) return [];
  const seen = new Set<string>();
  const issues: FieldIssue[] = [];
  for (const e of validate.errors ?? []) {
    // oneOf branches produce one error per failed branch; keep the summary line.
    if (e.schemaPath.includes('/oneOf/') && e.keyword !== 'oneOf') continue;
    const path = issuePath(e);
    const message = e.keyword === 'required' ? 'required by the connector spec' : `${e.message ?? 'invalid'} (connector spec)`;
    const key = `${path}:${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      issues.push({ path, message });
    }
  }
  return issues;
}
