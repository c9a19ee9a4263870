import type { ErrorRequestHandler, Request } from 'express';
import {
  AuthError,
  ConfigError,
  ConflictError,
  PreconditionFailedError,
  ForbiddenError,
  NotFoundError,
  ServiceUnavailableError,
  STATEMENT_CANCELLED_SAID,
  UnprocessableError,
  UnsupportedMediaTypeError,
  ValidationError,
  errorMessage,
  type SluiceError,
} from '@sluice/core';
import { errorSummary, isDatabaseBusy, isDatabaseUnreachable } from '@sluice/db';
import { secrets, type Logger } from '@sluice/logging';
import { INVALID_UTF8 } from './utf8.ts';

/** Where errors use the contract's `{flow_url, job_id: null, error}` shape. */
export const INGEST_ROUTES_PREFIX = '/api/airbyte/ingest';

/** Limit on request bodies; larger ones answer 413. */
export const BODY_LIMIT = '1mb';

interface Mapped {
  status: number;
  message: string;
  headers?: Record<string, string>;
  /** For a failure the server cannot help (a dependency away): the one line its log needs, instead of the whole error. */
  logLine?: string;
}

/** express's body parser reports its failures with `type` and `status`. */
function bodyParserError(err: unknown): { type: string; status: number } | null {
  if (typeof err !== 'object' || err === null) return null;
  const { type, status } = err as { type?: unknown; status?: unknown };
  return typeof type === 'string' && typeof status === 'number' ? { type, status } : null;
}

/** The 4xx status an error of express's own carries (`status` or `statusCode`), or null. */
function clientErrorStatus(err: unknown): number | null {
  if (typeof err !== 'object' || err === null) return null;
  const { status, statusCode } = err as { status?: unknown; statusCode?: unknown };
  const s = typeof status === 'number' ? status : statusCode;
  return typeof s === 'number' && s >= 400 && s < 500 ? s : null;
}

/** zlib's error for data that does not inflate (its code `Z_DATA_ERROR`, `Z_BUF_ERROR`, …), which body-parser passes on with status 400. */
function isZlibError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code } = err as { code?: unknown };
  return typeof code === 'string' && code.startsWith('Z_');
}

function quote(s: string): string {
  return s.replace(/["\\]/g, "'");
}

/** The one place errors become HTTP statuses. */
export function mapError(err: unknown): Mapped {
  if (err instanceof ValidationError) return { status: 400, message: err.message };
  if (err instanceof AuthError) {
    const missing = /^missing bearer token/.test(err.message);
    return {
      status: 401,
      message: err.message,
      headers: {
        'WWW-Authenticate': missing ? 'Bearer realm="sluice"' : `Bearer realm="sluice", error="invalid_token", error_description="${quote(err.message)}"`,
      },
    };
  }
  if (err instanceof ForbiddenError) {
    const scope = /scope (sluice:\w+)/.exec(err.message)?.[1];
    return {
      status: 403,
      message: err.message,
      ...(scope ? { headers: { 'WWW-Authenticate': `Bearer realm="sluice", error="insufficient_scope", scope="${scope}"` } } : {}),
    };
  }
  if (err instanceof NotFoundError) return { status: 404, message: err.message };
  if (err instanceof ConflictError) return { status: 409, message: err.message };
  if (err instanceof PreconditionFailedError) return { status: 412, message: err.message };
  if (err instanceof UnprocessableError) return { status: 422, message: err.message };
  if (err instanceof UnsupportedMediaTypeError) return { status: 415, message: err.message };
  // A statement PostgreSQL cancelled (its limit: a lock, an overloaded server), said one way on
  // every path; the server's address is for the log (QA round 32b: two wordings, one with it).
  if (isDatabaseBusy(err)) return { status: 503, message: `PostgreSQL ${STATEMENT_CANCELLED_SAID}: try again shortly`, headers: { 'Retry-After': '5' }, logLine: errorSummary(err) };
  // A dependency away (the OAuth issuer): retryable, and one line in the log, not a stack trace.
  if (err instanceof ServiceUnavailableError) return { status: 503, message: err.message, headers: { 'Retry-After': '5' }, logLine: err.message };
  if (err instanceof ConfigError) return { status: 500, message: 'the server is misconfigured (see its log)' };
  if (isDatabaseUnreachable(err)) {
    return {
      status: 503,
      message: 'PostgreSQL is unreachable: try again shortly',
      headers: { 'Retry-After': '5' },
      logLine: errorSummary(err),
    };
  }
  const bp = bodyParserError(err);
  if (bp) {
    switch (bp.type) {
      case 'entity.too.large':
        return { status: 413, message: `body: larger than the ${BODY_LIMIT} limit` };
      case 'entity.parse.failed':
        // The parser's message quotes the body, which may hold secrets: never pass it on.
        return { status: 400, message: 'body: must be a JSON object (it is not JSON, or a bare value such as null)' };
      case INVALID_UTF8:
        // Its message is ours (utf8.ts), naming the bad byte and its offset, and nothing else of the body.
        return { status: 400, message: `body: ${errorMessage(err)}` };
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return { status: 415, message: 'body: unsupported encoding or charset (send UTF-8 JSON)' };
      default:
        return { status: bp.status >= 400 && bp.status < 500 ? bp.status : 400, message: 'body: could not be read' };
    }
  }
  // express's router and body-parser report what they could not read with a 4xx `status` and no
  // `type` (QA round 43a F1, F2: a malformed percent-escape in a path, `%ff`; a gzip body that does
  // not inflate): the client's mistake, not a 500 with a stack in the log. Their messages may quote
  // the request, so the answer is ours.
  const status = clientErrorStatus(err);
  if (err instanceof URIError && status !== null) return { status: 400, message: 'path: a percent-escape in it does not decode (e.g. %ff): escape each byte of UTF-8 as %XX' };
  if (status !== null) return { status, message: isZlibError(err) ? 'body: does not decode by its Content-Encoding (gzip, deflate or br)' : 'the request could not be read' };
  return { status: 500, message: 'internal error (see the server log)' };
}

/** The error body for a request: the contract's shape on the ingest routes, `{error}` elsewhere. */
export function errorBody(req: Request, message: string): Record<string, unknown> {
  return req.path === INGEST_ROUTES_PREFIX || req.path.startsWith(`${INGEST_ROUTES_PREFIX}/`)
    ? { flow_url: '', job_id: null, error: message }
    : { error: message };
}

/**
 * Express error middleware: maps typed errors, masks secret values, logs what the server must see.
 * A request failed for PostgreSQL being unreachable goes to `databaseAway` (said once per outage)
 * and is logged at debug level only.
 */
export function errorHandler(logger: Logger, databaseAway: (err: unknown) => void): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    // No one to answer: the API's stop cut the connection after its wait (the request was held
    // past it, on a lock say), or the client left. One line, not a 500 with a stack (QA round 34a
    // F4: "Cannot use a pool after calling end", the database client closed meanwhile).
    if (req.socket.destroyed) {
      logger.warn(`request ended after its connection was closed (cut at the API's stop, or its client left): ${errorSummary(err)}`, { method: req.method, path: req.path });
      return;
    }
    const mapped = mapError(err);
    if (mapped.status === 503 && isDatabaseUnreachable(err)) {
      databaseAway(err);
      logger.debug(`request failed: ${mapped.logLine ?? mapped.message}`, { method: req.method, path: req.path, status: mapped.status });
    } else if (mapped.logLine) {
      logger.warn(`request failed: ${mapped.logLine}`, { method: req.method, path: req.path, status: mapped.status });
    } else if (mapped.status >= 500) {
      logger.error('request failed', { method: req.method, path: req.path, status: mapped.status, error: err });
    } else {
      logger.info('request refused', {
        method: req.method,
        path: req.path,
        status: mapped.status,
        code: (err as Partial<SluiceError>).code ?? bodyParserError(err)?.type,
        error: mapped.message,
      });
    }
    if (mapped.headers) res.set(mapped.headers);
    res.status(mapped.status).json(errorBody(req, secrets.mask(mapped.message)));
  };
}
