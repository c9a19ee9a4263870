import { z } from 'zod';
import { errorResponse } from '@sluice/core/contract';
import { eventsQuery } from '../ui/events-query.ts';
import { BODY_LIMIT } from './error-handler.ts';
import type { RouteDoc } from './route-def.ts';

/**
 * The two API routes the flow UI's router serves (packages/api/src/ui), documented here so that
 * /openapi.json covers every `/api/…` route the server answers. Their handlers live in the UI's router.
 */
export const UI_API_ROUTE_DOCS: readonly RouteDoc[] = [
  {
    method: 'get',
    path: '/api/ui/config',
    operationId: 'getUiConfig',
    summary: 'How the flow UI signs in (nothing secret)',
    tag: 'ui',
    scope: null,
    responses: {
      200: {
        description: 'the sign-in mode',
        schema: z.object({
          auth: z.object({
            mode: z.enum(['dev', 'oidc', 'none']),
            issuer: z.string().optional(),
            client_id: z.string().optional(),
            scope: z.string().optional(),
            audience: z.string().nullable().optional(),
          }),
        }),
      },
      400: { description: 'a query parameter: this route takes none', schema: errorResponse },
      413: { description: `a JSON body over the ${BODY_LIMIT} limit (this route takes none)`, schema: errorResponse },
      431: { description: "the request line and headers are over Node's 16 KB limit; no body" },
    },
  },
  {
    method: 'get',
    path: '/api/events',
    operationId: 'streamEvents',
    summary: 'Server-sent events: live run and task states, counts and log lines (contract in @sluice/ui/events)',
    tag: 'ui',
    scope: 'sluice:read',
    query: eventsQuery,
    responses: {
      200: { description: 'an event stream (event: jobs | job_lines | job | run | log | scheduler | redis | stale | gone; see packages/ui/src/shared/events.ts)', schema: z.string(), contentType: 'text/event-stream' },
      400: { description: 'invalid query, or a query parameter it does not take', schema: errorResponse },
      401: { description: 'missing or invalid bearer token', schema: errorResponse },
      404: { description: 'the watched job, run or task is not there for this caller', schema: errorResponse },
      413: { description: `a JSON body over the ${BODY_LIMIT} limit (this route takes none)`, schema: errorResponse },
      431: { description: "the request line and headers are over Node's 16 KB limit; no body" },
    },
  },
];
