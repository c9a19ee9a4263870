import { Ajv, type ErrorObject } from 'ajv';
import type { FieldIssue } from '@sluice/core';
import { undeclaredConfigKeys, type ConnectorSpec } from '@sluice/core/secrets';

/**
 * A connector's spec, waiting at most `waitMs` (the lookups' budget by default); undefined when it
 * cannot be had in time. `quiet`: a late spec is not said (a request that only wants it if it is
 * at hand).
 */
export type GetConnectorSpec = (sourceName: string, options?: { waitMs?: number; quiet?: boolean }) => Promise<ConnectorSpec | undefined>;

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

const TYPE_WORDS: Record<string, string> = { integer: 'an integer', number: 'a number', string: 'a string', boolean: 'a boolean', object: 'an object', array: 'an array', null: 'null' };

/** Ajv's message, but a type's in words: "must be an integer or an object" (Ajv: "must be integer,object"; QA round 48b D4). */
function messageOf(e: ErrorObject): string {
  if (e.keyword !== 'type') return e.message ?? 'invalid';
  const types = String((e.params as { type: unknown }).type).split(',').map((t) => TYPE_WORDS[t] ?? t);
  return `must be ${types.length > 1 ? `${types.slice(0, -1).join(', ')} or ${types.at(-1) ?? ''}` : (types[0] ?? '')}`;
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
    const message = e.keyword === 'required' ? 'required by the connector spec' : `${messageOf(e)} (connector spec)`;
    const key = `${path}:${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      issues.push({ path, message });
    }
  }
  return issues;
}

/** How many names a hint lists at most. */
const NAMES_SAID = 10;
const namesSaid = (names: readonly string[]): string => (names.length > NAMES_SAID ? `${names.slice(0, NAMES_SAID).join(', ')}, …` : names.join(', '));

/**
 * What the spec can tell of a connector's refusal of a config (QA round 33a F9: source-faker
 * answered a misspelt `cnt`, and a config without `count`, with "Something went wrong … ('count')"):
 * top-level keys the spec does not declare, and declared keys the config leaves out that the spec
 * gives a default and the refusal names in quotes (a connector may read them without one, as
 * Python's KeyError says: Airbyte's UI fills them in). Said after the connector's words, in
 * parentheses; empty when the spec tells nothing.
 */
export function configKeysHint(config: Record<string, unknown>, spec: ConnectorSpec, refusal: string): string {
  const keys = undeclaredConfigKeys(config, spec);
  if (keys === null) return '';
  const { declared, undeclared: unknown } = keys;
  const names = Object.keys(declared);
  const parts: string[] = [];
  if (unknown.length > 0) parts.push(`${namesSaid(unknown)} ${unknown.length === 1 ? 'is' : 'are'} not in the connector's spec, whose properties are ${namesSaid(names)}`);
  const named = (k: string): boolean => refusal.includes(`'${k}'`) || refusal.includes(`"${k}"`);
  const defaulted = names.filter((k) => !(k in config) && named(k) && typeof declared[k] === 'object' && declared[k] !== null && 'default' in declared[k]);
  if (defaulted.length > 0) {
    const said = defaulted.map((k) => `${k}: ${JSON.stringify((declared[k] as { default: unknown }).default)}`);
    parts.push(`it leaves out ${namesSaid(said)}, which the spec gives as ${defaulted.length === 1 ? 'a default' : 'defaults'}, and the connector asks for ${defaulted.length === 1 ? 'it' : 'them'}: give ${defaulted.length === 1 ? 'it' : 'them'}`);
  }
  return parts.length === 0 ? '' : ` (${parts.join('; ')})`;
}
