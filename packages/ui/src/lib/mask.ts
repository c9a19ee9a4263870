import { looksLikeSecretKey } from '@sluice/core/secrets';

export const MASK = '**********';

/**
 * The API already masks secrets; this second guard masks any value under a key named like a
 * secret (the API's own name rule) that still arrives in clear, so the page never shows one. It
 * does not know the connector's spec, so it also hides a value the spec declares not secret
 * under such a name (the API shows those).
 */
export function maskSecrets(value: unknown, key = ''): unknown {
  if (looksLikeSecretKey(key) && value !== null && typeof value !== 'object') return MASK;
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, key));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k)]));
  }
  return value;
}
