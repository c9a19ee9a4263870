import { createHash } from 'node:crypto';
import { ValidationError } from '@sluice/core';
import { canonicalJson } from '@sluice/core/json';
import type { IngestJobSpec } from '@sluice/core/contract';

/** The request header a client sets to make a create safe to retry. */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** The response header that says an answer repeats an earlier create's. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';
export const IDEMPOTENCY_KEY_MAX = 255;

/**
 * The `Idempotency-Key` header's value, or null when the request has none. Taken as sent, or
 * unquoted when sent as a structured-field string (`"…"`, as the IETF draft writes it): printable
 * ASCII, 1–255 characters.
 */
export function parseIdempotencyKey(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const trimmed = raw.trim();
  const key = trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"') ? trimmed.slice(1, -1) : trimmed;
  if (key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX || !/^[\x20-\x7e]+$/.test(key)) {
    throw new ValidationError([
      { path: `${IDEMPOTENCY_HEADER} header`, message: `must be 1–${IDEMPOTENCY_KEY_MAX} printable ASCII characters (a UUID is a good key), got ${key.length === 0 ? 'an empty value' : `${key.length} characters`}` },
    ]);
  }
  return key;
}

/**
 * SHA-256 of a create request as validated, without its source_config: that holds secrets, and a
 * plain digest of a short password could be guessed from it. The config is compared with the job's
 * sealed one instead.
 */
export function requestDigest(spec: IngestJobSpec, ownerId: string): string {
  const { sourceConfig: _secrets, ...rest } = spec;
  return createHash('sha256').update(canonicalJson({ ...rest, ownerId })).digest('hex');
}
