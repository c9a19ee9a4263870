import { findSecretPaths, secretValues } from '@sluice/core/secrets';
import type { ConnectorConfig, ConnectorSpecification } from './protocol.ts';

/**
 * The secret values of a connector config, for the log redactor: what the API masks (the spec's
 * `airbyte_secret` fields, and keys the spec does not declare that are named like a secret) and,
 * beyond it, every value under a key named like a secret even where the spec declares the key
 * (a log hides a value the API would show: hiding costs a log line little, leaking costs a
 * secret). One name rule for both: `looksLikeSecretKey` in @sluice/core/secrets. Each value also
 * appears in its JSON-escaped form, the way it shows up inside a JSON log line.
 */
export function collectSecretValues(spec: ConnectorSpecification | undefined, config: ConnectorConfig): string[] {
  const paths = new Set([...findSecretPaths(config, spec), ...findSecretPaths(config, undefined)]);
  const found = new Set(secretValues(config, [...paths]).filter((v) => v !== ''));
  for (const v of [...found]) {
    const escaped = JSON.stringify(v).slice(1, -1);
    if (escaped !== v) found.add(escaped);
  }
  return [...found];
}
