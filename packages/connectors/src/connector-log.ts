import { configSecrets, SecretRegistry } from '@sluice/logging';

export type ConnectorLogLevel = 'error' | 'warn' | 'info' | 'debug';

/** One line for the task log. `message` has every known secret masked. */
export interface ConnectorLogEntry {
  level: ConnectorLogLevel;
  message: string;
  /** `connector`: an Airbyte LOG message; `stderr`: the process's stderr; `stdout`: a non-protocol stdout line; `sluice`: what Sluice did. */
  origin: 'connector' | 'stderr' | 'stdout' | 'sluice';
}

export type ConnectorLogHandler = (entry: ConnectorLogEntry) => void;

export function airbyteLogLevel(level: string): ConnectorLogLevel {
  switch (level.toUpperCase()) {
    case 'FATAL':
    case 'ERROR':
      return 'error';
    case 'WARN':
    case 'WARNING':
      return 'warn';
    case 'DEBUG':
    case 'TRACE':
      return 'debug';
    default:
      return 'info';
  }
}

/**
 * Masks a connector's secret values in text. Every value is also registered with the process's
 * `configSecrets` ('@sluice/logging'), so the process's log lines mask it too.
 */
export class SecretMasker {
  readonly #registry = new SecretRegistry();

  add(values: Iterable<string>): void {
    for (const v of values) {
      this.#registry.add(v);
      configSecrets.add(v);
    }
  }

  /** Masks these in this masker's text only: values that may not be secrets (a config's strings while its spec is unknown), kept out of the process's log masking. */
  addLocal(values: Iterable<string>): void {
    for (const v of values) this.#registry.add(v);
  }

  mask(text: string): string {
    return this.#registry.mask(text);
  }
}
