import { valueAt } from '@sluice/core/secrets';
import { REDACTED } from '@sluice/logging';

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A copy of `config` with the value at every secret path (`findSecretPaths`) replaced by `**********`. */
export function maskSecrets(config: Record<string, unknown>, paths: readonly string[]): Record<string, unknown> {
  const copy = structuredClone(config);
  for (const path of paths) {
    const segs = path.split('.');
    const last = segs.pop();
    if (last === undefined) continue;
    const parent = segs.length === 0 ? copy : valueAt(copy, segs.join('.'));
    if (isObject(parent) && parent[last] !== undefined && parent[last] !== null) parent[last] = REDACTED;
    else if (Array.isArray(parent) && parent[Number(last)] !== undefined && parent[Number(last)] !== null) parent[Number(last)] = REDACTED;
  }
  return copy;
}
