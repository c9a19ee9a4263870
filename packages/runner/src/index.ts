export * from './worker/index.ts';
export { createIngestionHandlers } from './tasks/ingestion-handlers.ts';
export type { IngestionDeps } from './tasks/ingestion-handlers.ts';
export { removeExpiredRunFiles, type RetentionPolicy } from './retention/remove-expired-run-files.ts';
export { removeExpiredRunHistory } from './retention/remove-expired-run-history.ts';
export { startRetentionSweeps } from './retention/start-retention-sweeps.ts';
export { mergeSpillDirectory, removeOrphanedScratchDirs } from './tasks/duckdb-session.ts';
