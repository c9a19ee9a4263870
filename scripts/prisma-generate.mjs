// Generates the Prisma client into packages/db/src/generated.
// Prisma 7's CLI downloads a schema-engine binary before any command, even `generate`,
// which does not use it. Where no engine is configured, point it at a harmless existing
// file so generation works offline; a machine with internet may set its own.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { prismaClient, writeStamp } from './build-stamps.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
env.PRISMA_HIDE_UPDATE_MESSAGE = '1';
const made = prismaClient.sources();
const result = spawnSync(process.execPath, [path.join(root, 'node_modules/prisma/build/index.js'), 'generate'], {
  cwd: root,
  env,
  stdio: 'inherit',
});
if (result.status === 0) writeStamp(prismaClient, made);
process.exit(result.status ?? 1);
