import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { NotFoundError, UnsupportedMediaTypeError, ValidationError } from '@sluice/core';
import { FailureStreak, type Logger } from '@sluice/logging';
import { errorSummary } from '@sluice/db';
import type { Principal } from '../auth/principal.ts';
import { BODY_LIMIT, errorBody, errorHandler } from './error-handler.ts';
import { protoKeyPath } from './proto-keys.ts';
import { expressPath, type RouteDef, type RouteDoc, type TextResult } from './route-def.ts';
import { refuseInvalidUtf8 } from './utf8.ts';

export interface HttpAppDeps {
  routes: readonly RouteDef[];
  /** Decides who is calling; throws an AuthError (401) or ServiceUnavailableError (503). */
  authenticate(req: Request): Promise<Principal>;
  logger: Logger;
  /**
   * Mounted after the API routes and before the 404 handler (the flow UI), with the API routes it
   * serves (their docs), so that another method on one of those paths is a 405 too.
   */
  extraRouter?: { router: express.Router; routes: readonly RouteDoc[] };
}

/**
 * The express app: JSON bodies up to {@link BODY_LIMIT}, the routes of the table, an optional
 * extra router (the UI), a 404 for anything else, and the one error handler.
 */
/**
 * Refuses the query parameters a route does not take, by name, with those it takes (`shape`, the
 * fields of its query's schema; `route` names it, `GET /api/events`): a client's `?purge=true` on a
 * DELETE, say, is not silently ignored. And one given more than once where the route takes one
 * value (QA round 29: `?limit=2&limit=3` was told "must be a whole number from 1 to 200"); a
 * parameter that takes a list (`stream`) takes the repeats.
 */
export function refuseQueryMisuse(req: Request, route: string, shape: Readonly<Record<string, z.ZodType>>): void {
  const known = Object.keys(shape);
  const unknown = Object.keys(req.query).filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    const takes = known.length === 0 ? 'takes none' : `takes ${known.join(', ')}`;
    throw new ValidationError(unknown.map((name) => ({ path: name, message: `unknown query parameter: ${route} ${takes}` })));
  }
  const repeated = Object.entries(req.query).flatMap(([name, value]) => {
    const field = shape[name];
    if (!Array.isArray(value) || field === undefined || field.safeParse(value).success || !field.safeParse(value[0]).success) return [];
    return [{ path: name, message: `is given ${value.length} times: give it once` }];
  });
  if (repeated.length > 0) throw new ValidationError(repeated);
}

export function createHttpApp(d: HttpAppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const log = d.logger.child({ component: 'api.http' });
  // A PostgreSQL outage is said once, when the first call fails for it, and once when a call of
  // the API's succeeds again: not once per call. The calls that tell are those that read
  // PostgreSQL: every authenticated route (the public ones, /healthz and /openapi.json, read none).
  const apiPaths = new Set(d.routes.filter((r) => r.scope !== null).map((r) => expressPath(r.path)));
  const database = new FailureStreak(
    (err) => log.warn('PostgreSQL is unreachable: API calls answer 503 until it answers again', { err: errorSummary(err) }),
    () => log.info('PostgreSQL answers again: API calls are served'),
  );

  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    const said = (status: number, more: Record<string, unknown> = {}): void => {
      log.info('request', {
        method: req.method,
        // The route template, never the query string (which might carry anything).
        route: (req.route as { path?: string } | undefined)?.path ?? req.path,
        status,
        ms: Number((process.hrtime.bigint() - started) / 1_000_000n),
        ...more,
      });
    };
    res.on('finish', () => {
      if (res.statusCode < 300 && req.route !== undefined && apiPaths.has((req.route as { path?: string }).path ?? '')) database.succeeded();
      said(res.statusCode);
    });
    // A client that left before the answer (a closed page, a timeout) is logged too, as nginx's
    // 499: what its request changes still happens (QA round 40b F5: a PATCH that took effect had no line).
    res.on('close', () => {
      if (!res.writableFinished) said(499, { clientClosed: 'the client closed the connection before the answer; the request itself goes on' });
    });
    next();
  });
  const served: readonly Pick<RouteDoc, 'method' | 'path'>[] = [...d.routes, ...(d.extraRouter?.routes ?? [])];
  /**
   * The methods a path of the API answers, for `Allow`: its routes', HEAD beside GET (express
   * answers it), and OPTIONS; none for a path the API does not serve (QA round 43a F9: HEAD was
   * left out, and OPTIONS answered 405 on most paths and express's 200 text on the UI's).
   */
  const allowedOn = (pathname: string): string[] => {
    const methods = new Set(served.filter((r) => pathMatches(r.path, pathname)).map((r) => r.method.toUpperCase()));
    if (methods.size === 0) return [];
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods, 'OPTIONS'].sort();
  };
  app.use((req: Request, res: Response, next: NextFunction) => {
    const allowed = req.method === 'OPTIONS' ? allowedOn(req.path) : [];
    if (allowed.length === 0) {
      next();
      return;
    }
    res.status(204).set('Allow', allowed.join(', ')).end();
  });
  app.use(express.json({ limit: BODY_LIMIT, strict: true, type: ['application/json', 'application/*+json'], verify: refuseInvalidUtf8 }));

  for (const route of d.routes) {
    app[route.method](expressPath(route.path), async (req: Request, res: Response) => {
      const principal = route.scope === null ? null : await d.authenticate(req);
      if (route.body && req.body === undefined) {
        // A body the JSON parser left alone is of another type (a form, text): 415, as HTTP has it; none at all is a bad request.
        if (hasBody(req)) {
          const type = req.headers['content-type'];
          throw new UnsupportedMediaTypeError(`body: ${type === undefined ? 'a body without a Content-Type' : type} is not read here: send a JSON object (Content-Type: application/json)`);
        }
        throw new ValidationError([{ path: 'body', message: 'expected a JSON object (Content-Type: application/json)' }]);
      }
      // A route that reads no body refuses one that says something (Airflow's `conf`, say) rather
      // than ignore it; an empty object, as browsers' clients post, is no body.
      // A body of another type (text, a form) says something too.
      if (!route.body && (req.body !== undefined ? !isEmptyObject(req.body) : hasBody(req))) {
        // Airflow's trigger takes a `conf` for the run (QA round 48b O8): a Sluice run has none to take.
        const conf = typeof req.body === 'object' && req.body !== null && 'conf' in req.body;
        const why = conf ? ": a run has no conf of its own (Airflow's `conf`); it runs with its job's settings, which PATCH changes" : '';
        throw new ValidationError([{ path: 'body', message: `${route.method.toUpperCase()} ${route.path} takes no request body${why}` }]);
      }
      const proto = route.body ? protoKeyPath(req.body) : null;
      if (proto !== null) throw new ValidationError([{ path: proto, message: 'a member named "__proto__" is not accepted (a JavaScript object would take it as its prototype, not keep it): rename it' }]);
      refuseQueryMisuse(req, `${route.method.toUpperCase()} ${route.path}`, route.query instanceof z.ZodObject ? route.query.shape : {});
      const result = await route.handle({ principal, params: req.params as Record<string, string>, query: req.query, body: req.body, req });
      if ('text' in result) await sendText(res, result, log);
      else res.status(result.status).set({ ...result.headers, 'Cache-Control': 'no-store' }).json(result.body);
    });
  }

  if (d.extraRouter) app.use(d.extraRouter.router);

  // A path the API serves, with a method it does not: 405 and the methods it does (Allow).
  app.use((req: Request, res: Response, next: NextFunction) => {
    const allowed = allowedOn(req.path);
    if (allowed.length === 0) {
      next();
      return;
    }
    res
      .status(405)
      .set('Allow', allowed.join(', '))
      .json(errorBody(req, `${req.method} is not allowed on ${req.path} (allowed: ${allowed.join(', ')})`));
  });
  app.use((req: Request) => {
    throw new NotFoundError('route', `${req.method} ${req.path}`);
  });
  app.use(errorHandler(log, (err) => database.failed(err)));
  return app;
}

/**
 * Writes a text answer as its parts come, waiting while the client is behind, and stops reading
 * when the client has gone. A read that fails once the answer has begun cannot be told in a
 * status: the connection is cut before the chunked answer's end, so a client sees an incomplete
 * answer (a browser's download fails), not a whole file that lacks its end.
 */
async function sendText(res: Response, result: TextResult, log: Logger): Promise<void> {
  const parts = result.text[Symbol.asyncIterator]();
  // The first part is read before the answer begins: a read that fails then is answered as any
  // failed request is (PostgreSQL away: 503 and why).
  let next = await parts.next();
  res.status(result.status).set({
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Disposition': attachment(result.fileName),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  try {
    while (next.done !== true) {
      if (res.destroyed) {
        await parts.return?.();
        return;
      }
      if (!res.write(next.value)) await drainedOrClosed(res);
      next = await parts.next();
    }
    res.end();
  } catch (err) {
    log.warn('a text answer failed after it began; its connection is cut', { path: res.req.path, error: errorSummary(err) });
    res.destroy();
  }
}

/**
 * The response's next 'drain' or 'close', whichever comes first, leaving no listener behind: a
 * slow client makes a long answer wait many times (QA round 52a D2: `once` for each left its
 * loser's listeners, and Node warned of a leak after ten waits).
 */
function drainedOrClosed(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Content-Disposition of a download: a name any client takes (ASCII, no path or quote) and the
 * exact one in RFC 8187's form for those that read it. Path separators and control characters
 * become `_` in both.
 */
function attachment(fileName: string): string {
  const safe = fileName.replace(/[\u0000-\u001f\u007f/\\]/g, '_');
  const ascii = safe.replace(/[^A-Za-z0-9._-]/g, '_');
  const exact = encodeURIComponent(safe).replace(/['()*!]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}

function isEmptyObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
}

/** Whether `pathname` is an instance of the route template `template` (`/api/runs/{run_id}`). */
function pathMatches(template: string, pathname: string): boolean {
  const want = template.split('/');
  const got = pathname.split('/');
  return want.length === got.length && want.every((seg, i) => (seg.startsWith('{') ? (got[i] ?? '') !== '' : seg === got[i]));
}

/** Whether a request carries a body at all (chunked, or a length above 0), whatever its type. */
function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
