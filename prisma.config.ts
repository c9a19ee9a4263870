import { defineConfig } from 'prisma/config';

// The schema file holds no URL (Prisma 7): the CLI takes it from DATABASE_URL here.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env['DATABASE_URL'] ?? 'postgresql://localhost:5432/sluice' },
});
