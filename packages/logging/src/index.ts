export { createLogger, createMemoryLogger, childLogger, configSecrets, FailureStreak, logProcessWarnings, redactFields, redactTaskFields, secrets } from './logger.ts';
export type { Logger, LogFields, LogFormat, CreateLoggerOptions } from './logger.ts';
export { SecretRegistry, redact, REDACTED, DEFAULT_REDACTED_KEYS, maskInlinePasswords, holdsMaskedInlinePassword } from './redact.ts';
