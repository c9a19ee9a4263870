import type { Request } from 'express';
import type { z } from 'zod';
import type { Principal, Scope } from '../auth/principal.ts';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** What a route handler gets: the caller and the raw request parts (handlers parse them with the route's schemas). */
export interface RouteContext {
  /** Null only on public routes (`scope: null`). */
  principal: Principal | null;
  params: Record<string, string>;
  query: unknown;
  body: unknown;
  req: Request;
}

/** A JSON answer. */
export interface JsonResult {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/**
 * A plain-text answer written as its parts come (a whole task log), so that a large one is not
 * held in memory; `fileName` makes it a download (Content-Disposition: attachment).
 */
export interface TextResult {
  status: number;
  text: AsyncIterable<string>;
  fileName: string;
}

export type RouteResult = JsonResult | TextResult;

/** A request header a route reads, as the OpenAPI document describes it. */
export interface HeaderParam {
  name: string;
  description: string;
  maxLength: number;
}

/** What the OpenAPI document says about a route. */
export interface RouteDoc {
  method: HttpMethod;
  /** OpenAPI path template, e.g. `/api/airbyte/ingest/{job_id}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** The scope the caller needs; null = public, no authentication. */
  scope: Scope | null;
  /** The request body's schema (documents it; the handler validates with it). */
  body?: z.ZodType;
  query?: z.ZodType;
  headers?: readonly HeaderParam[];
  /** Each answer: its body's schema, and the headers it carries that a client reads (name → what it says). */
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string; headers?: Record<string, string> }>;
}

/**
 * One API route, described once: the express router is built from these, and so is the OpenAPI
 * document (test/api/openapi.test.ts checks that the two agree).
 */
export interface RouteDef extends RouteDoc {
  /** Errors on this route use `{flow_url, job_id: null, error}` (the contract's shape) rather than `{error}`. */
  ingestErrorShape: boolean;
  handle(ctx: RouteContext): Promise<RouteResult>;
}

/** `/api/runs/{run_id}` → `/api/runs/:run_id` (express's syntax). */
export function expressPath(template: string): string {
  return template.replace(/\{([a-z_]+)\}/g, ':$1');
}

export function pathParams(template: string): string[] {
  return [...template.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1] ?? '');
}
