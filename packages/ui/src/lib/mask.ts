const SECRET_KEY = /(password|passwd|secret|token|api_?key|access_?key|private_?key|credentials|client_secret)/i;
export const MASK = '**********';

/**
 * The API already masks secrets; this second guard masks any value under a secret-looking key
 * that still arrives in clear, so the page never shows one.
 */
export function maskSecrets(value: unknown, key = ''): unknown {
  if (SECRET_KEY.test(key) && value !== null && typeof value !== 'object') return MASK;
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, key));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k)]));
  }
  return value;
}
