import { z } from 'zod';
import { SCOPES } from '../auth/principal.ts';
import { pathParams, type RouteDoc } from './route-def.ts';

type JsonObject = Record<string, unknown>;

/** Turns `#/$defs/X` references into `#/components/schemas/X` and collects the definitions. */
function toComponent(schema: z.ZodType, io: 'input' | 'output', components: JsonObject): JsonObject {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonObject;
  const rewrite = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(rewrite);
    if (v === null || typeof v !== 'object') return v;
    const out: JsonObject = {};
    for (const [k, val] of Object.entries(v)) {
      out[k] = k === '$ref' && typeof val === 'string' ? val.replace('#/$defs/', '#/components/schemas/') : rewrite(val);
    }
    return out;
  };
  const defs = (json['$defs'] ?? {}) as JsonObject;
  for (const [name, def] of Object.entries(defs)) components[name] ??= rewrite(def);
  const { $schema: _s, $defs: _d, ...rest } = json;
  return rewrite(rest) as JsonObject;
}

export interface OpenApiInfo {
  version: string;
  serverUrl: string;
  issuer: string | null;
}

/**
 * The OpenAPI 3.1 document of `routes`, from the zod schemas the handlers validate with
 * (`z.toJSONSchema`, JSON Schema 2020-12, which OpenAPI 3.1 uses as is).
 */
export function buildOpenApiDocument(routes: readonly RouteDoc[], info: OpenApiInfo): JsonObject {
  const schemas: JsonObject = {};
  const paths: Record<string, JsonObject> = {};
  for (const r of routes) {
    const parameters: JsonObject[] = pathParams(r.path).map((name) => ({
      name,
      in: 'path',
      required: true,
      schema: name === 'job_id' || name === 'run_id' ? { type: 'string', format: 'uuid' } : { type: 'string' },
    }));
    if (r.query) {
      const q = toComponent(r.query, 'input', schemas);
      const props = (q['properties'] ?? {}) as Record<string, JsonObject>;
      const required = new Set((q['required'] ?? []) as string[]);
      for (const [name, schema] of Object.entries(props)) {
        const { description, ...rest } = schema;
        parameters.push({ name, in: 'query', required: required.has(name), schema: rest, ...(description ? { description } : {}) });
      }
    }
    for (const h of r.headers ?? []) {
      parameters.push({ name: h.name, in: 'header', required: false, description: h.description, schema: { type: 'string', minLength: 1, maxLength: h.maxLength } });
    }
    const responses: JsonObject = {};
    for (const [status, res] of Object.entries(r.responses)) {
      responses[status] = {
        description: res.description,
        ...(res.headers ? { headers: Object.fromEntries(Object.entries(res.headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }])) } : {}),
        ...(res.schema ? { content: { [res.contentType ?? 'application/json']: { schema: toComponent(res.schema, 'output', schemas) } } } : {}),
      };
    }
    const op: JsonObject = {
      operationId: r.operationId,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: [r.tag],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(r.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: toComponent(r.body, 'input', schemas) } } } }
        : {}),
      responses,
      security: r.scope === null ? [] : [{ bearer: [r.scope] }, ...(info.issuer ? [{ oauth2: [r.scope] }] : [])],
    };
    (paths[r.path] ??= {})[r.method] = op;
  }
  const scopeDocs = {
    'sluice:read': 'read jobs, runs, task logs, key names',
    'sluice:write': 'also create, change, delete and run jobs; manage encryption keys (includes sluice:read)',
    'sluice:admin': "also every owner's jobs and keys (includes sluice:write)",
  } satisfies Record<(typeof SCOPES)[number], string>;
  return {
    openapi: '3.1.0',
    info: {
      title: 'Sluice API',
      version: info.version,
      description:
        'Scheduled and on-demand ingestion from Airbyte sources into Apache Iceberg tables. ' +
        'Bearer JWTs from the configured OAuth 2.0 issuer; scopes: ' +
        Object.entries(scopeDocs)
          .map(([s, d]) => `${s} (${d})`)
          .join('; '),
    },
    servers: [{ url: info.serverUrl }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: `OAuth 2.0 access token; scopes: ${SCOPES.join(', ')}` },
        ...(info.issuer
          ? { oauth2: { type: 'openIdConnect', openIdConnectUrl: `${info.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration` } }
          : {}),
      },
    },
  };
}
