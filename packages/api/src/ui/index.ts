import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { z } from 'zod';
import { NotFoundError } from '@sluice/core';
import { DagCache, errorSummary, type PrismaClient } from '@sluice/db';
import { FailureStreak, type Logger } from '@sluice/logging';
import { uiDistDir } from '@sluice/ui/dist-dir';
import { LIVE_HEARTBEAT_MS, type LiveEventType, type LiveEvents } from '@sluice/ui/events';
import { isUuid, LOG_PAGE_LINES, parseRequest, queriedTry } from '@sluice/core/contract';
import { redisConnected, type Pingable } from '../health/readiness.ts';
import { refuseQueryMisuse } from '../http/create-http-app.ts';
import { DevSession } from './dev-session.ts';
import { eventsQuery } from './events-query.ts';
import { LiveHub } from './live-hub.ts';
import { findTaskInstance, jobLinesChange, loadJob, loadJobLines, loadLogLines, logTailStart, loadRun, loadSchedulerSeen } from './live-queries.ts';
import type { UiPrincipal } from './principal.ts';

export { DevSession, DEV_SESSION_COOKIE, DEV_PRINCIPAL } from './dev-session.ts';
export type { UiPrincipal } from './principal.ts';

/** How the browser signs in; the UI learns it from `GET /api/ui/config` (nothing secret in it). */
export type UiAuthSettings =
  | { mode: 'dev'; devToken: string; publicUrl: string }
  | { mode: 'oidc'; issuer: string; clientId: string; audience?: string | undefined; scope?: string | undefined }
  | { mode: 'none' };

export interface UiRouterDeps {
  prisma: PrismaClient;
  logger: Logger;
  auth: UiAuthSettings;
  /**
   * The API's own check of a request's credentials (bearer JWT or dev token); throws an
   * AuthError when there are none or they are bad. The live endpoint uses it after the
   * development-mode session cookie.
   */
  authenticate(req: Request): Promise<UiPrincipal>;
  /** Where the built UI is; defaults to @sluice/ui's dist. */
  distDir?: string;
  /** The API's Redis client: every page says while it is not connected (QA round 28: a run then seemed merely slow). */
  redis: Pingable;
  /** How often watched rows are polled (default 500 ms). */
  pollIntervalMs?: number;
  /** How often an idle stream is written to (default LIVE_HEARTBEAT_MS); its first block tells the client. */
  heartbeatMs?: number;
}

export interface UiRouter extends express.Router {
  /**
   * Development-mode sessions: the API's authentication middleware must accept
   * `devSession.verify(req)` (the dev admin) before asking for a bearer token. Null unless dev mode.
   */
  readonly devSession: DevSession | null;
  /** Ends every live stream and stops polling (call before closing the HTTP server). */
  close(): void;
}

/** The client reconnects after this long when a stream drops. */
const RETRY_MS = 2000;
/** The longest delay a timer takes (a longer one fires at once); a stream of a longer-lived token ends then, and is opened again. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The flow UI's server side, mounted at the root of the API's express app (before its 404
 * handler): the built single-page app with fallbacks for its routes (`/`, `/jobs/*`,
 * `/runs/*`, `/auth/*`), `GET /api/ui/config`, and `GET /api/events`, server-sent events that
 * push run and task states, counts and log lines as they change (contract in @sluice/ui/events).
 * Errors go to `next(err)` as Sluice's typed errors, for the API's error handler to map.
 */
export function createUiRouter(deps: UiRouterDeps): UiRouter {
  const distDir = deps.distDir ?? uiDistDir;
  const logger = deps.logger.child({ component: 'ui' });
  const hub = new LiveHub({ intervalMs: deps.pollIntervalMs ?? 500, logger });
  const heartbeatMs = deps.heartbeatMs ?? LIVE_HEARTBEAT_MS;
  const dags = new DagCache();
  const devSession = deps.auth.mode === 'dev' ? new DevSession(deps.auth.devToken, deps.auth.publicUrl) : null;
  const streams = new Set<Response>();
  const router = express.Router();
  // The log pages' follow queries fail together while PostgreSQL is away: said once, and once when one works again.
  const follows = new FailureStreak(
    (err) => logger.warn('log follow query failed; retrying every tick', { error: errorSummary(err) }),
    () => logger.info('log follow queries work again'),
  );

  const issuerOrigin = deps.auth.mode === 'oidc' ? new URL(deps.auth.issuer).origin : '';
  const csp = [
    "default-src 'self'",
    `connect-src 'self'${issuerOrigin ? ` ${issuerOrigin}` : ''}`,
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
  ].join('; ');

  router.get('/api/ui/config', (req, res) => {
    refuseQueryMisuse(req, 'GET /api/ui/config', {});
    const a = deps.auth;
    const auth =
      a.mode === 'oidc'
        ? { mode: 'oidc', issuer: a.issuer, client_id: a.clientId, scope: a.scope ?? 'openid profile sluice:read sluice:write', audience: a.audience ?? null }
        : { mode: a.mode };
    res.set('Cache-Control', 'no-store').json({ auth });
  });

  router.get('/api/events', async (req: Request, res: Response, next: NextFunction) => {
    try {
      const principal = devSession?.verify(req) ?? (await deps.authenticate(req));
      refuseQueryMisuse(req, 'GET /api/events', eventsQuery.shape);
      await streamEvents(principal, parseRequest(eventsQuery, req.query), req, res);
    } catch (err) {
      if (res.headersSent) {
        logger.warn('live stream failed', { error: errorSummary(err) });
        res.end();
      } else next(err);
    }
  });

  async function streamEvents(principal: UiPrincipal, q: z.output<typeof eventsQuery>, req: Request, res: Response): Promise<void> {
    const scope = principal.admin ? '*' : principal.subject;
    const tryNumber = queriedTry(q);
    // Refuse before streaming when the watched thing is not there for this viewer (404, as the API does).
    if (q.job_id !== undefined && (await loadJob(deps.prisma, principal, q.job_id)) === null) throw new NotFoundError('job', q.job_id);
    if (q.run_id !== undefined && (await loadRun(deps.prisma, dags, principal, q.run_id)) === null) throw new NotFoundError('run', q.run_id);
    let logTask: { id: string } | null = null;
    if (q.run_id !== undefined && q.task_id !== undefined) {
      logTask = await findTaskInstance(deps.prisma, principal, q.run_id, q.task_id, q.map_index);
      if (logTask === null) throw new NotFoundError('task', `${q.task_id}[${q.map_index}]`);
    }

    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    // `heartbeat:` is Sluice's own field (an EventSource ignores it): how long the client may hear nothing.
    res.write(`retry: ${RETRY_MS}\nheartbeat: ${heartbeatMs}\n\n`);
    streams.add(res);

    let open = true;
    const send = <T extends LiveEventType>(type: T, data: LiveEvents[T]): void => {
      if (open) res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const unsubscribes: (() => void)[] = [];
    const timers: NodeJS.Timeout[] = [];
    const finish = (): void => {
      if (!open) return;
      open = false;
      for (const u of unsubscribes) u();
      for (const t of timers) clearTimeout(t);
      streams.delete(res);
      res.end();
    };
    req.on('close', finish);
    const gone = (message: string) => (): void => {
      send('gone', { message });
      finish();
    };
    const stale = (isStale: boolean): void => send('stale', { stale: isStale });

    if (q.run_id !== undefined) {
      const runId = q.run_id;
      unsubscribes.push(
        hub.subscribe(`run:${runId}:${scope}`, () => loadRun(deps.prisma, dags, principal, runId), {
          change: (run) => send('run', { run }),
          gone: gone(`run ${runId} is gone`),
          stale,
        }),
      );
    } else if (q.job_id !== undefined) {
      const jobId = q.job_id;
      unsubscribes.push(
        hub.subscribe(`job:${jobId}:${scope}`, () => loadJob(deps.prisma, principal, jobId), {
          change: (job) => send('job', { job }),
          gone: gone(`job ${jobId} is gone`),
          stale,
        }),
      );
    } else {
      unsubscribes.push(
        hub.subscribe(`jobs:${scope}`, () => loadJobLines(deps.prisma, principal), {
          change: (jobs, previous) => {
            const change = jobLinesChange(jobs, previous);
            if ('jobs' in change) send('jobs', change);
            else send('job_lines', change);
          },
          gone: gone('jobs are gone'),
          stale,
        }),
      );
    }
    if (q.run_id === undefined) {
      // The jobs list and a job's page say when no scheduler is running: schedules do not fire then.
      unsubscribes.push(
        hub.subscribe('scheduler', () => loadSchedulerSeen(deps.prisma), {
          change: (scheduler) => send('scheduler', scheduler),
          gone: () => undefined,
          stale,
        }),
      );
    }

    // Every page says while Redis is away: no task starts and no schedule fires then.
    unsubscribes.push(
      hub.subscribe('redis', () => Promise.resolve({ reachable: redisConnected(deps.redis) }), {
        change: (redis) => send('redis', redis),
        gone: () => undefined,
        stale: () => undefined,
      }),
    );

    if (logTask !== null && q.task_id !== undefined && tryNumber !== undefined) {
      const { id } = logTask;
      const taskId = q.task_id;
      // From the try's last lines on (QA round 33b F3: a try of 200,000 lines was sent whole).
      let { after, offset } = await logTailStart(deps.prisma, id, tryNumber, LOG_PAGE_LINES);
      const follow = async (): Promise<void> => {
        try {
          const lines = await loadLogLines(deps.prisma, id, tryNumber, after);
          follows.succeeded();
          const last = lines.at(-1);
          if (last !== undefined) {
            after = BigInt(last.id);
            send('log', { task_id: taskId, map_index: q.map_index, try_number: tryNumber, offset, lines });
            offset += lines.length;
          }
        } catch (err) {
          follows.failed(err);
        }
        if (open) timers[0] = setTimeout(() => void follow(), deps.pollIntervalMs ?? 500);
      };
      await follow();
    }

    const beat = (): void => {
      if (!open) return;
      res.write(': keep-alive\n\n');
      timers[1] = setTimeout(beat, heartbeatMs);
    };
    timers[1] = setTimeout(beat, heartbeatMs);
    // A stream opened with a token ends when the token does: the client reconnects with the token
    // it holds then (a refreshed one, or a refused one and a new sign-in), so no lapsed or revoked
    // access keeps receiving states and logs.
    if (principal.expiresAt !== undefined) timers[2] = setTimeout(finish, Math.min(MAX_TIMER_MS, Math.max(0, principal.expiresAt - Date.now())));
  }

  // The built app. Hashed assets are immutable; pages are never cached.
  router.use('/assets', express.static(path.join(distDir, 'assets'), { immutable: true, maxAge: '1y', index: false }), (req: Request) => {
    throw new NotFoundError('asset', req.path);
  });
  router.get('/favicon.svg', (_req, res, next) => {
    res.sendFile(path.join(distDir, 'favicon.svg'), (err) => {
      if (err) next();
    });
  });

  /** The app's page, answered with `status`: 404 for a path the app has no page for (it says so). */
  const sendPage = (status: number) => (req: Request, res: Response, next: NextFunction): void => {
    const index = path.join(distDir, 'index.html');
    if (!existsSync(index)) {
      res.status(503).type('text/plain').send(`The flow UI is not built: run \`pnpm --filter @sluice/ui build\` (looked in ${distDir}).\n`);
      return;
    }
    if (devSession !== null) {
      if (!devSession.servesHost(req)) {
        // A name re-bound to this address by another site (DNS rebinding) gets no page and no session.
        res.status(421).type('text/plain').send(`This development-mode Sluice answers to localhost and its SLUICE_PUBLIC_URL (${devSession.publicUrl}) only.\n`);
        return;
      }
      devSession.issue(res);
    }
    res.status(status).set({
      'Cache-Control': 'no-store',
      'Content-Security-Policy': csp,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    });
    res.sendFile(index, (err) => {
      if (err) next(err);
    });
  };
  router.get('/', (_req, res) => res.redirect(302, '/jobs'));
  // The app's pages (app.tsx's), and its sign-in's return.
  router.get(['/jobs', '/auth/{*rest}'], sendPage(200));
  // A job or run path whose id is not a UUID names nothing, as in the API: it is left to the 404
  // below (QA round 52a O6: `/jobs/abc` answered 200, and the page then said the job was not found).
  router.get(['/jobs/:job_id', '/runs/:run_id', '/runs/:run_id/tasks/:task_id'], (req: Request, res: Response, next: NextFunction) => {
    const ids = [req.params['job_id'], req.params['run_id']].filter((v) => v !== undefined);
    if (ids.every((v) => typeof v === 'string' && isUuid(v))) sendPage(200)(req, res, next);
    else next();
  });
  // Any other path a browser opens gets the app's "nothing lives here" page as a 404 (QA round 50b
  // O5: it got the API's JSON error); a client that asks for JSON, and every /api path, the API's 404.
  router.get('/{*rest}', (req: Request, res: Response, next: NextFunction) => {
    if (req.path === '/api' || req.path.startsWith('/api/') || req.accepts(['json', 'html']) !== 'html') next();
    else sendPage(404)(req, res, next);
  });

  const close = (): void => {
    hub.close();
    for (const res of streams) res.end();
    streams.clear();
  };
  return Object.assign(router, { devSession, close });
}
