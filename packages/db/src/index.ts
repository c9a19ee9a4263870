export { createPrismaClient, poolOf, Prisma } from './client.ts';
export { sqlOf, sqlTransaction, storableText } from './sql.ts';
export { DagCache } from './dag-cache.ts';
export { errorSummary, isDatabaseBusy, isDatabaseUnreachable, isDatabaseWaitable, isUniqueViolation } from './database-errors.ts';
export type { Sql } from './sql.ts';
export type { PrismaClient } from './client.ts';
export { appliedMigrations, migrate, readMigrations, refuseNewerDatabase, defaultMigrationsDir, MigrationError } from './migrate.ts';
export type { Migration, MigrateResult } from './migrate.ts';
export * from './generated/enums.ts';
export type * from './generated/models.ts';
export {
  dropPendingStreamState,
  listStreamStates,
  listPendingStreamStates,
  recordPendingStreamState,
  replaceStreamStates,
  resetStreamStates,
  saveStreamStateRow,
  saveLoadStreamState,
  settlePendingStreamState,
  StateChangeRefused,
  type PendingStreamState,
} from './stream-states.ts';
export type { SavedStreamState, StateSave } from './stream-states.ts';
export { recordSchedulerBeat, schedulerSeen } from './scheduler-beats.ts';
export { recordSpecSecrets } from './spec-secrets.ts';
