export { createPrismaClient, poolOf, Prisma } from './client.ts';
export { sqlOf, sqlTransaction } from './sql.ts';
export { errorSummary, isDatabaseUnreachable } from './database-errors.ts';
export type { Sql } from './sql.ts';
export type { PrismaClient } from './client.ts';
export { migrate, readMigrations, defaultMigrationsDir, MigrationError } from './migrate.ts';
export type { Migration, MigrateResult } from './migrate.ts';
export * from './generated/enums.ts';
export type * from './generated/models.ts';
