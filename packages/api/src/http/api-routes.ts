import { z } from 'zod';
import { NotFoundError, PreconditionFailedError, ValidationError } from '@sluice/core';
import {
  cancelledQueuedRuns,
  clearTaskQuery,
  createEncryptionKeyRequest,
  createIngestJobRequest,
  deletedJobResponse,
  encryptionKeyListView,
  encryptionKeyView,
  errorResponse,
  isUuid,
  ingestResponse,
  jobListView,
  jobStateView,
  jobStatusView,
  jobView,
  listJobsQuery,
  listRunsQuery,
  parseRequest,
  resetStateQuery,
  runListView,
  runView,
  stateResetView,
  taskLogQuery,
  taskLogTextQuery,
  taskLogView,
  text,
  triggerRunResponse,
  updateJobRequest,
  parseUpdateJobRequest,
  parseStateImport,
  putStateRequest,
} from '@sluice/core/contract';
import type { Principal } from '../auth/principal.ts';
import { checkReadiness, type ReadinessDeps } from '../health/readiness.ts';
import { UNCHECKED_HEADER, type JobService } from '../jobs/job-service.ts';
import { etagOf } from '../jobs/settings-version.ts';
import { IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY_MAX, parseIdempotencyKey, REPLAYED_HEADER } from '../jobs/idempotency.ts';
import type { EncryptionKeyService } from '../keys/encryption-key-service.ts';
import type { RouteContext, RouteDef } from './route-def.ts';
import { BODY_LIMIT } from './error-handler.ts';

export interface ApiRouteDeps {
  jobs: JobService;
  keys: EncryptionKeyService;
  readiness: ReadinessDeps;
  /** The OpenAPI document (built from these same routes). */
  openApi: () => unknown;
}

/**
 * A path id that is not a UUID names nothing: 404, as an unknown id does. An id is answered in its
 * canonical lower case, whatever case the path wrote it in (QA round 43a F9: a trigger's answer
 * echoed `E79C5BD4-…`, and a client comparing ids as strings saw two jobs).
 */
function id(ctx: RouteContext, name: 'job_id' | 'run_id'): string {
  const v = ctx.params[name] ?? '';
  if (!isUuid(v)) throw new NotFoundError(name === 'job_id' ? 'job' : 'run', v);
  return v.toLowerCase();
}

/** A path segment that is text (a task id, a key name) follows the contract's text rule: 400 naming it. */
function textParam(ctx: RouteContext, name: 'task_id' | 'name'): string {
  return parseRequest(text, ctx.params[name] ?? '', name);
}

const IF_MATCH_MAX = 200;

/** What a job's ETag is, as the document says it. */
const ETAG_SAID = 'the job\'s settings_version, quoted: sent back in a PATCH\'s If-Match, the change is made only on these settings';
const UNCHECKED_SAID =
  "present when the connector could not answer in time (its first install, or a slow command): which of its checks (spec, catalog, connection; comma-separated) the job's next run makes instead; a create replayed by its Idempotency-Key repeats it";

/**
 * A PATCH's If-Match: the settings versions it names (ETags as GET sent them, or bare
 * settings_versions; a list matches any of them), or null for none or `*` (any: the job exists). A
 * weak tag (`W/"…"`) stays as it is, and so matches nothing, as If-Match's strong comparison says.
 */
function parseIfMatch(header: string | undefined): string[] | null {
  if (header === undefined) return null;
  const v = header.trim();
  if (v === '*') return null;
  if (v.length > IF_MATCH_MAX) throw new ValidationError([{ path: 'If-Match', message: `longer than ${IF_MATCH_MAX} characters` }]);
  const tags = v.split(',').map((tag) => tag.trim());
  // A value that is no tag is the client's mistake (400), not a change made meanwhile (QA round 29).
  const malformed = tags.find((tag) => !/^(W\/)?"[^"]*"$/.test(tag) && !/^[0-9a-f]{32}$/.test(tag));
  if (malformed !== undefined) {
    throw new ValidationError([{ path: 'If-Match', message: 'is no entity tag: send the ETag as GET answered it (a quoted settings_version), several separated by commas, or *' }]);
  }
  // Said as what it is, not as a change made meanwhile (QA round 28).
  if (tags.every((tag) => tag.startsWith('W/'))) throw new PreconditionFailedError('If-Match: a weak tag (W/"…") never matches, as If-Match compares strongly: send the ETag as GET answered it');
  return tags.map((tag) => (/^"[^"]*"$/.test(tag) ? tag.slice(1, -1) : tag));
}

function who(ctx: RouteContext): Principal {
  if (ctx.principal === null) throw new Error('route needs a principal but is public');
  return ctx.principal;
}

const readyView = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    checks: z.record(z.string(), z.object({ ok: z.boolean(), error: z.string().optional() })),
    error: z.string().optional().describe('names the services that did not answer'),
  })
  .meta({ id: 'Readiness' });

/** Any call can meet PostgreSQL away: retryable, with a Retry-After header. */
const UNAVAILABLE = 'PostgreSQL is unreachable: retry after the seconds its Retry-After header gives';
const ingestErrors = {
  400: { description: 'invalid request: `error` names each bad field', schema: ingestResponse },
  401: { description: 'missing or invalid bearer token', schema: ingestResponse },
  403: { description: 'the token lacks the scope', schema: ingestResponse },
  503: { description: UNAVAILABLE, schema: ingestResponse },
};
const jobErrors = {
  401: { description: 'missing or invalid bearer token', schema: ingestResponse },
  403: { description: 'the token lacks the scope', schema: ingestResponse },
  404: { description: "no such job (or another owner's)", schema: ingestResponse },
  503: { description: UNAVAILABLE, schema: ingestResponse },
};
const plainErrors = {
  401: { description: 'missing or invalid bearer token', schema: errorResponse },
  403: { description: 'the token lacks the scope', schema: errorResponse },
  404: { description: 'not found', schema: errorResponse },
  503: { description: UNAVAILABLE, schema: errorResponse },
};

/** Every route of the API, in one table. */
export function apiRoutes(d: ApiRouteDeps): RouteDef[] {
  return declaredRoutes(d).map(withRequestErrors);
}

/**
 * A route as it answers a request it cannot read, documented where the route does not say more:
 * every route's 413 and 431; a body route's 400 and 415; a query route's 400; another write route's 400 for a body sent;
 * every route's 400 for a query parameter it does not take (the app's handler refuses each so,
 * create-http-app.ts; QA round 29: GET routes without a query answered a 400 they did not list).
 */
function withRequestErrors(route: RouteDef): RouteDef {
  const schema = route.ingestErrorShape ? ingestResponse : errorResponse;
  const bad = [
    ...(route.body ? ['invalid body'] : route.method === 'get' ? [] : ['a request body was sent: this route takes none']),
    route.query ? 'invalid query, or a query parameter it does not take' : 'a query parameter: this route takes none',
  ];
  const add: RouteDef['responses'] = {};
  if (bad.length > 0) add[400] = { description: bad.join('; '), schema };
  // Node's HTTP parser answers it, without a body, before the app sees the request, on any route
  // (Schemathesis made a `?stream=…` list that long: the 431 was undocumented; QA round 43a F7: a
  // path that long gets it too).
  add[431] = { description: `the request line and headers are over Node's 16 KB limit (${route.query ? 'e.g. a parameter repeated thousands of times' : 'e.g. a very long path'}); no body` };
  // A JSON body is read before the route is, so one over the limit is refused on every route (QA round 43a F7).
  add[413] = { description: route.body ? 'body too large' : `a JSON body over the ${BODY_LIMIT} limit (this route takes none)`, schema };
  if (route.body) add[415] = { description: 'the body is not JSON (Content-Type: application/json)', schema };
  return { ...route, responses: { ...add, ...route.responses } };
}

function declaredRoutes(d: ApiRouteDeps): RouteDef[] {
  return [
    {
      method: 'post',
      path: '/api/airbyte/ingest',
      operationId: 'createIngestionJob',
      summary: 'Create PyAirbyte ingestion job',
      description:
        'Stores the job and its DAG, registers its schedule, and answers the flow UI address. ' +
        `With an \`${IDEMPOTENCY_HEADER}\` header, a retry of a create (after a timeout, say) is answered with the job the first one made, ` +
        `and the header \`${REPLAYED_HEADER}: true\`; nothing is created twice.`,
      tag: 'ingestion',
      scope: 'sluice:write',
      body: createIngestJobRequest,
      headers: [
        {
          name: IDEMPOTENCY_HEADER,
          description:
            "A key the client makes for this create (a UUID, say). The same key with the same request answers the job it made, for as long as the job exists, deleted or not; with a different request it answers 422. Keys are one owner's: another owner's key is another key.",
          maxLength: IDEMPOTENCY_KEY_MAX,
        },
      ],
      ingestErrorShape: true,
      responses: {
        201: {
          description: `ingestion job created (or, with \`${REPLAYED_HEADER}: true\`, created earlier by a request with the same ${IDEMPOTENCY_HEADER})`,
          schema: ingestResponse,
          headers: { [UNCHECKED_HEADER]: UNCHECKED_SAID },
        },
        ...ingestErrors,
        413: { description: 'body too large', schema: ingestResponse },
        422: { description: `the ${IDEMPOTENCY_HEADER} was used for a different request`, schema: ingestResponse },
      },
      async handle(ctx) {
        const key = parseIdempotencyKey(ctx.req.get(IDEMPOTENCY_HEADER));
        const { jobId, flowUrl, replayed, unchecked } = await d.jobs.create(who(ctx), ctx.body, key);
        const headers = { ...(replayed ? { [REPLAYED_HEADER]: 'true' } : {}), ...(unchecked.length > 0 ? { [UNCHECKED_HEADER]: unchecked.join(', ') } : {}) };
        return { status: 201, body: { flow_url: flowUrl, job_id: jobId, error: null }, ...(Object.keys(headers).length > 0 ? { headers } : {}) };
      },
    },
    {
      method: 'get',
      path: '/api/airbyte/ingest',
      operationId: 'listIngestionJobs',
      summary: 'List ingestion jobs (paged; filter by owner, status, name)',
      tag: 'ingestion',
      scope: 'sluice:read',
      query: listJobsQuery,
      ingestErrorShape: true,
      responses: { 200: { description: 'jobs, newest first', schema: jobListView }, ...ingestErrors },
      async handle(ctx) {
        return { status: 200, body: await d.jobs.list(who(ctx), parseRequest(listJobsQuery, ctx.query)) };
      },
    },
    {
      method: 'get',
      path: '/api/airbyte/ingest/{job_id}',
      operationId: 'getIngestionJob',
      summary: 'Read one ingestion job (secrets masked)',
      tag: 'ingestion',
      scope: 'sluice:read',
      ingestErrorShape: true,
      responses: { 200: { description: 'the job', schema: jobView, headers: { ETag: ETAG_SAID } }, ...jobErrors },
      async handle(ctx) {
        const job = await d.jobs.get(who(ctx), id(ctx, 'job_id'));
        return { status: 200, body: job, headers: { ETag: etagOf(job.settings_version) } };
      },
    },
    {
      method: 'patch',
      path: '/api/airbyte/ingest/{job_id}',
      operationId: 'updateIngestionJob',
      summary: "Change schedule or time zone, pause or resume, or replace the connector's configuration (keeping the saved state)",
      description:
        "The fields of the job's definition (name, source_name, schema_name, mode, streams, merge, domain, tags, owner_id, column_transformations, archive_staging, add_ingestion_metadata) " +
        'are set at create: sent with the values GET answers (a client that sends back the job it read, its schedule changed) they are no change; a change of one is refused with 400 naming it.',
      tag: 'ingestion',
      scope: 'sluice:write',
      body: updateJobRequest,
      headers: [
        {
          name: 'If-Match',
          description:
            'the ETag (or settings_version) of the job as the client read it, or a list of them: the change is made only if the job still has those settings, else 412. Without it, the change is made on whatever the job has',
          maxLength: IF_MATCH_MAX,
        },
      ],
      ingestErrorShape: true,
      responses: {
        200: { description: 'the changed job', schema: jobView, headers: { ETag: ETAG_SAID, [UNCHECKED_HEADER]: UNCHECKED_SAID } },
        ...jobErrors,
        400: { description: 'invalid change', schema: ingestResponse },
        409: { description: 'the job is deleted', schema: ingestResponse },
        412: { description: 'If-Match names settings the job no longer has: it changed since the client read it', schema: ingestResponse },
      },
      async handle(ctx) {
        const jobId = id(ctx, 'job_id');
        const { view, unchecked } = await d.jobs.update(who(ctx), jobId, parseUpdateJobRequest(ctx.body), parseIfMatch(ctx.req.get('If-Match')));
        return { status: 200, body: view, headers: { ETag: etagOf(view.settings_version), ...(unchecked.length > 0 ? { [UNCHECKED_HEADER]: unchecked.join(', ') } : {}) } };
      },
    },
    {
      method: 'delete',
      path: '/api/airbyte/ingest/{job_id}',
      operationId: 'deleteIngestionJob',
      summary: 'Soft-delete a job: its schedule stops and its runs under way are cancelled; its runs, history and tables stay',
      tag: 'ingestion',
      scope: 'sluice:write',
      ingestErrorShape: true,
      responses: { 200: { description: 'deleted', schema: deletedJobResponse }, ...jobErrors },
      async handle(ctx) {
        const { jobId, flowUrl, cancelledRunIds } = await d.jobs.delete(who(ctx), id(ctx, 'job_id'));
        return { status: 200, body: { flow_url: flowUrl, job_id: jobId, error: null, cancelled_run_ids: cancelledRunIds } };
      },
    },
    {
      method: 'post',
      path: '/api/airbyte/ingest/{job_id}/runs',
      operationId: 'triggerRun',
      summary: 'Trigger a run now',
      description:
        `With an \`${IDEMPOTENCY_HEADER}\` header, a retry of a trigger (after a timeout, say) is answered with the run the first one made, ` +
        `in its state now, and the header \`${REPLAYED_HEADER}: true\`; no second run is made.`,
      tag: 'runs',
      scope: 'sluice:write',
      headers: [
        {
          name: IDEMPOTENCY_HEADER,
          description:
            "A key the client makes for this trigger (a UUID, say). The same key on the same job answers the run it made, for as long as the run's history is kept (SLUICE_RUN_HISTORY_RETENTION_DAYS); on another job it is another key.",
          maxLength: IDEMPOTENCY_KEY_MAX,
        },
      ],
      ingestErrorShape: true,
      responses: {
        201: { description: `run created (or, with \`${REPLAYED_HEADER}: true\`, created earlier by a trigger with the same ${IDEMPOTENCY_HEADER})`, schema: triggerRunResponse },
        400: { description: 'a request body was sent: this route takes none', schema: ingestResponse },
        ...jobErrors,
        409: { description: 'the job is deleted, or a run cannot start now', schema: ingestResponse },
      },
      async handle(ctx) {
        const jobId = id(ctx, 'job_id');
        const { runId, state, message, replayed } = await d.jobs.triggerRun(who(ctx), jobId, parseIdempotencyKey(ctx.req.get(IDEMPOTENCY_HEADER)));
        return { status: 201, body: { run_id: runId, job_id: jobId, state, message }, ...(replayed ? { headers: { [REPLAYED_HEADER]: 'true' } } : {}) };
      },
    },
    {
      method: 'post',
      path: '/api/airbyte/ingest/{job_id}/runs/cancel',
      operationId: 'cancelQueuedRuns',
      summary: "Cancel the job's queued runs",
      description:
        'Cancels every queued run of the job: a backlog (a catch-up resumed by mistake, triggers waiting behind max_active_runs) stopped at once. Runs under way go on; cancel them one by one. Pausing the job first stops new fires.',
      tag: 'runs',
      scope: 'sluice:write',
      ingestErrorShape: true,
      responses: {
        200: { description: 'the queued runs cancelled (none is not an error)', schema: cancelledQueuedRuns },
        400: { description: 'a request body was sent: this route takes none', schema: ingestResponse },
        ...jobErrors,
        409: { description: 'the job is deleted', schema: ingestResponse },
      },
      async handle(ctx) {
        const jobId = id(ctx, 'job_id');
        return { status: 200, body: { job_id: jobId, cancelled_run_ids: await d.jobs.cancelQueuedRuns(who(ctx), jobId) } };
      },
    },
    {
      method: 'get',
      path: '/api/airbyte/ingest/{job_id}/runs',
      operationId: 'listRuns',
      summary: "List a job's runs, newest first",
      tag: 'runs',
      scope: 'sluice:read',
      query: listRunsQuery,
      ingestErrorShape: true,
      responses: { 200: { description: 'runs', schema: runListView }, ...jobErrors },
      async handle(ctx) {
        const jobId = id(ctx, 'job_id');
        return { status: 200, body: await d.jobs.listRuns(who(ctx), jobId, parseRequest(listRunsQuery, ctx.query)) };
      },
    },
    {
      method: 'get',
      path: '/api/airbyte/ingest/{job_id}/state',
      operationId: 'getJobState',
      summary: "A job's saved connector state, which its next run hands the connector",
      tag: 'ingestion',
      scope: 'sluice:read',
      ingestErrorShape: true,
      responses: { 200: { description: 'the saved state, stream by stream', schema: jobStateView }, ...jobErrors },
      async handle(ctx) {
        return { status: 200, body: await d.jobs.state(who(ctx), id(ctx, 'job_id')) };
      },
    },
    {
      method: 'put',
      path: '/api/airbyte/ingest/{job_id}/state',
      operationId: 'replaceJobState',
      summary:
        "Replace a job's saved connector state with Airbyte STATE messages: to carry a state over from another job or tool, or to move a cursor back so that the next run reads a window again",
      tag: 'ingestion',
      scope: 'sluice:write',
      body: putStateRequest,
      ingestErrorShape: true,
      responses: {
        200: { description: 'the saved state now, stream by stream', schema: jobStateView },
        ...jobErrors,
        400: { description: 'invalid state, a stream the job does not have, or a job that overwrites (it is handed no state)', schema: ingestResponse },
        409: { description: 'a run of the job is queued or running, or the job is deleted', schema: ingestResponse },
      },
      async handle(ctx) {
        const jobId = id(ctx, 'job_id');
        return { status: 200, body: await d.jobs.replaceState(who(ctx), jobId, parseStateImport(ctx.body)) };
      },
    },
    {
      method: 'delete',
      path: '/api/airbyte/ingest/{job_id}/state',
      operationId: 'resetJobState',
      summary: "Forget a job's saved connector state (of some streams, or all), so that its next run reads them from the start; the tables keep their rows",
      tag: 'ingestion',
      scope: 'sluice:write',
      query: resetStateQuery,
      ingestErrorShape: true,
      responses: {
        200: { description: 'what was forgotten', schema: stateResetView },
        ...jobErrors,
        400: { description: 'invalid query', schema: ingestResponse },
        409: { description: 'a run of the job is queued or running, or the state is connector-wide and a stream was named', schema: ingestResponse },
      },
      async handle(ctx) {
        const jobId = id(ctx, 'job_id');
        const { stream } = parseRequest(resetStateQuery, ctx.query);
        const streams = stream === undefined ? null : typeof stream === 'string' ? [stream] : stream;
        return { status: 200, body: await d.jobs.resetState(who(ctx), jobId, streams) };
      },
    },
    {
      method: 'get',
      path: '/api/jobs/{job_id}',
      operationId: 'getJobStatus',
      summary: "A job's status (the platform's fields)",
      tag: 'ingestion',
      scope: 'sluice:read',
      ingestErrorShape: false,
      responses: { 200: { description: 'status', schema: jobStatusView }, ...plainErrors },
      async handle(ctx) {
        return { status: 200, body: await d.jobs.status(who(ctx), id(ctx, 'job_id')) };
      },
    },
    {
      method: 'get',
      path: '/api/runs/{run_id}',
      operationId: 'getRun',
      summary: 'A run with its task instances',
      tag: 'runs',
      scope: 'sluice:read',
      ingestErrorShape: false,
      responses: { 200: { description: 'the run', schema: runView }, ...plainErrors },
      async handle(ctx) {
        return { status: 200, body: await d.jobs.getRun(who(ctx), id(ctx, 'run_id')) };
      },
    },
    {
      method: 'post',
      path: '/api/runs/{run_id}/cancel',
      operationId: 'cancelRun',
      summary: 'Cancel a run',
      tag: 'runs',
      scope: 'sluice:write',
      ingestErrorShape: false,
      responses: {
        200: { description: 'the run after cancelling', schema: runView },
        400: { description: 'a request body was sent: this route takes none', schema: errorResponse },
        ...plainErrors,
        409: { description: 'the run has already finished', schema: errorResponse },
      },
      async handle(ctx) {
        return { status: 200, body: await d.jobs.cancelRun(who(ctx), id(ctx, 'run_id')) };
      },
    },
    {
      method: 'post',
      path: '/api/runs/{run_id}/tasks/{task_id}/clear',
      operationId: 'clearTask',
      summary: 'Re-run a failed or cancelled task and what follows it',
      description:
        'The task and its downstream tasks run again in the same run. A failed or cancelled run runs again under its job\'s max_active_runs: at once when a slot is free, queued until one is otherwise.',
      tag: 'runs',
      scope: 'sluice:write',
      query: clearTaskQuery,
      ingestErrorShape: false,
      responses: {
        200: { description: 'the run after clearing', schema: runView },
        400: { description: 'a bad task id or map_index, or a request body (this route takes none)', schema: errorResponse },
        ...plainErrors,
        409: { description: 'the task cannot be cleared now', schema: errorResponse },
      },
      async handle(ctx) {
        const runId = id(ctx, 'run_id');
        const q = parseRequest(clearTaskQuery, ctx.query);
        return { status: 200, body: await d.jobs.clearTask(who(ctx), runId, textParam(ctx, 'task_id'), q.map_index) };
      },
    },
    {
      method: 'get',
      path: '/api/runs/{run_id}/tasks/{task_id}/logs',
      operationId: 'getTaskLog',
      summary: "A task's log for one try",
      tag: 'runs',
      scope: 'sluice:read',
      query: taskLogQuery,
      ingestErrorShape: false,
      responses: {
        200: { description: 'log lines, oldest first', schema: taskLogView },
        400: { description: 'a bad task id, map_index or try', schema: errorResponse },
        ...plainErrors,
        404: { description: 'no such run or task, or a try the task has not reached (the answer says which tries it has)', schema: errorResponse },
      },
      async handle(ctx) {
        const runId = id(ctx, 'run_id');
        return { status: 200, body: await d.jobs.taskLog(who(ctx), runId, textParam(ctx, 'task_id'), parseRequest(taskLogQuery, ctx.query)) };
      },
    },
    {
      method: 'get',
      path: '/api/runs/{run_id}/tasks/{task_id}/logs/text',
      operationId: 'downloadTaskLog',
      summary: "A task's whole log for one try, as a text file",
      description:
        'Every line of the try, oldest first, one per line: its time (ISO 8601, UTC), its level and its message (secrets masked as in the JSON log). Answered as a download (Content-Disposition: attachment) and written as it is read: a cut connection, not a short file, tells a read that failed midway.',
      tag: 'runs',
      scope: 'sluice:read',
      query: taskLogTextQuery,
      ingestErrorShape: false,
      responses: {
        200: { description: "the try's log", schema: z.string(), contentType: 'text/plain' },
        400: { description: 'a bad task id, map_index or try', schema: errorResponse },
        ...plainErrors,
        404: { description: 'no such run or task, or a try the task has not reached (the answer says which tries it has)', schema: errorResponse },
      },
      async handle(ctx) {
        const runId = id(ctx, 'run_id');
        const { fileName, text } = await d.jobs.taskLogText(who(ctx), runId, textParam(ctx, 'task_id'), parseRequest(taskLogTextQuery, ctx.query));
        return { status: 200, text, fileName };
      },
    },
    {
      method: 'post',
      path: '/api/encryption-keys',
      operationId: 'createEncryptionKey',
      summary: 'Create a named key for column encryption (its material is never returned)',
      tag: 'encryption keys',
      scope: 'sluice:write',
      body: createEncryptionKeyRequest,
      ingestErrorShape: false,
      responses: {
        201: { description: 'created', schema: encryptionKeyView },
        ...plainErrors,
        400: { description: 'invalid name', schema: errorResponse },
        409: { description: 'the name is taken', schema: errorResponse },
      },
      async handle(ctx) {
        const { name } = parseRequest(createEncryptionKeyRequest, ctx.body);
        return { status: 201, body: await d.keys.create(who(ctx), name) };
      },
    },
    {
      method: 'get',
      path: '/api/encryption-keys',
      operationId: 'listEncryptionKeys',
      summary: 'List named keys (never their material)',
      tag: 'encryption keys',
      scope: 'sluice:read',
      ingestErrorShape: false,
      responses: { 200: { description: 'keys by name', schema: encryptionKeyListView }, ...plainErrors },
      async handle(ctx) {
        return { status: 200, body: { keys: await d.keys.list(who(ctx)) } };
      },
    },
    {
      method: 'post',
      path: '/api/encryption-keys/{name}/rotate',
      operationId: 'rotateEncryptionKey',
      summary: 'Rotate a key: a new version encrypts from now on; older versions still decrypt',
      tag: 'encryption keys',
      scope: 'sluice:write',
      ingestErrorShape: false,
      responses: {
        200: { description: 'the key after rotation', schema: encryptionKeyView },
        ...plainErrors,
        400: { description: 'the name holds a NUL character', schema: errorResponse },
      },
      async handle(ctx) {
        return { status: 200, body: await d.keys.rotate(who(ctx), textParam(ctx, 'name')) };
      },
    },
    {
      method: 'get',
      path: '/openapi.json',
      operationId: 'getOpenApi',
      summary: 'This OpenAPI 3.1 document',
      tag: 'service',
      scope: null,
      ingestErrorShape: false,
      responses: { 200: { description: 'the document' } },
      handle() {
        return Promise.resolve({ status: 200, body: d.openApi() });
      },
    },
    {
      method: 'get',
      path: '/healthz',
      operationId: 'health',
      summary: 'Answers while the process lives',
      tag: 'service',
      scope: null,
      ingestErrorShape: false,
      responses: { 200: { description: 'alive', schema: z.object({ status: z.literal('ok') }) } },
      handle() {
        return Promise.resolve({ status: 200, body: { status: 'ok' } });
      },
    },
    {
      method: 'get',
      path: '/readyz',
      operationId: 'ready',
      summary: 'Whether PostgreSQL, Redis and the object store answer',
      tag: 'service',
      scope: null,
      ingestErrorShape: false,
      responses: {
        200: { description: 'all three answer', schema: readyView },
        503: { description: 'one or more do not; `error` names them', schema: readyView },
      },
      async handle() {
        const r = await checkReadiness(d.readiness);
        if (r.ready) return { status: 200, body: { status: 'ready', checks: r.checks } };
        const down = Object.entries(r.checks)
          .filter(([, c]) => !c.ok)
          .map(([name, c]) => `${name} (${c.ok ? '' : c.error})`);
        return { status: 503, body: { status: 'not_ready', checks: r.checks, error: `not reachable: ${down.join(', ')}` } };
      },
    },
  ];
}
