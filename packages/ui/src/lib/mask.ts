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

/**
 * An edited config, with each `**********` this page drew over a value the API showed in clear
 * ({@link maskSecrets}' name rule, where the connector's spec says it is no secret) given that
 * value back: the API keeps a saved secret for its own masks only, and would refuse these.
 */
export function restoreDisplayMasks(edited: unknown, shown: unknown): unknown {
  if (edited === MASK && shown !== MASK && shown !== undefined && shown !== null && typeof shown !== 'object') return shown;
  if (Array.isArray(edited)) return edited.map((v, i) => restoreDisplayMasks(v, Array.isArray(shown) ? shown[i] : undefined));
  if (edited !== null && typeof edited === 'object') {
    const from = shown !== null && typeof shown === 'object' && !Array.isArray(shown) ? (shown as Record<string, unknown>) : {};
    return Object.fromEntries(Object.entries(edited).map(([k, v]) => [k, restoreDisplayMasks(v, from[k])]));
  }
  return edited;
}
