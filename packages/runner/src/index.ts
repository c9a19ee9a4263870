export * from './worker/index.ts';
export { createIngestionHandlers } from './tasks/ingestion-handlers.ts';
export type { IngestionDeps } from './tasks/ingestion-handlers.ts';
