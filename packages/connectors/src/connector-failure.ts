import { ConnectorConfigError, NonRetryableTaskError, RetryableTaskError } from '@sluice/core';

/**
 * Why a connector command failed. `config_error` (the source said its configuration is wrong),
 * `cancelled` and `protocol_error` are not worth retrying; a transient or system error reported
 * by the source, a crash (non-zero exit), a timeout, a read that ended without finishing every
 * stream (`incomplete_streams`) and a staging failure are.
 */
export type ConnectorFailureReason =
  | 'config_error'
  | 'transient_error'
  | 'system_error'
  | 'exit_code'
  | 'timeout'
  | 'cancelled'
  | 'protocol_error'
  | 'incomplete_streams'
  | 'staging_error';

export interface ConnectorFailure {
  reason: ConnectorFailureReason;
  /** Secrets already masked. */
  message: string;
  /** The error to throw from a task: its class decides whether the task is retried. */
  error: NonRetryableTaskError | RetryableTaskError;
}

export function isRetryableReason(reason: ConnectorFailureReason): boolean {
  switch (reason) {
    case 'config_error':
    case 'cancelled':
    case 'protocol_error':
      return false;
    case 'transient_error':
    case 'system_error':
    case 'exit_code':
    case 'timeout':
    case 'incomplete_streams':
    case 'staging_error':
      return true;
  }
}

export function connectorFailure(reason: ConnectorFailureReason, message: string, cause?: unknown): ConnectorFailure {
  const options = cause !== undefined ? { cause } : undefined;
  const error =
    reason === 'config_error'
      ? new ConnectorConfigError(message, options)
      : isRetryableReason(reason)
        ? new RetryableTaskError(message, options)
        : new NonRetryableTaskError(message, options);
  return { reason, message, error };
}
