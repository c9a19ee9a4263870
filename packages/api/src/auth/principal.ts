import { ForbiddenError } from '@sluice/core';

/**
 * Scopes a bearer token may carry (in `scope`, space-separated, or `scp`, a string or array):
 *
 * - `sluice:read` — list and read jobs, runs, task logs and key names;
 * - `sluice:write` — also create, change, delete and trigger jobs, cancel runs, clear tasks,
 *   create and rotate encryption keys;
 * - `sluice:admin` — also every owner's jobs and keys, and creating jobs for another owner.
 *
 * Each scope includes the ones above it. A `roles` claim (array) holding `sluice:admin` also makes
 * the caller an admin (for issuers that put roles, not scopes, into access tokens).
 */
export const SCOPES = ['sluice:read', 'sluice:write', 'sluice:admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling, as authentication decided. */
export interface Principal {
  /** The token's `sub`: the owner id of the caller's jobs. */
  subject: string;
  admin: boolean;
  /** The effective scopes (implied ones included). */
  scopes: ReadonlySet<Scope>;
  /** When the credentials stop being accepted (ms since the epoch; a JWT's `exp` and the clock tolerance); absent: never. */
  expiresAt?: number;
}

/** The effective scopes for the scopes granted: admin ⊇ write ⊇ read. */
export function effectiveScopes(granted: Iterable<string>, admin: boolean): Set<Scope> {
  const g = new Set(granted);
  const out = new Set<Scope>();
  if (admin || g.has('sluice:admin')) out.add('sluice:admin');
  if (out.has('sluice:admin') || g.has('sluice:write')) out.add('sluice:write');
  if (out.has('sluice:write') || g.has('sluice:read')) out.add('sluice:read');
  return out;
}

/** Throws a ForbiddenError unless the principal holds `scope`. */
export function requireScope(p: Principal, scope: Scope): void {
  if (!p.scopes.has(scope)) throw new ForbiddenError(`this needs scope ${scope}`);
}

/** Whether `p` may see and touch something owned by `ownerId` (ownerless things are admin-only). */
export function owns(p: Principal, ownerId: string | null): boolean {
  return p.admin || (ownerId !== null && ownerId === p.subject);
}
