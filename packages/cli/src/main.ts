#!/usr/bin/env node
/**
 * The `sluice` command: `start` (api + scheduler + runner in one process, `pnpm start`),
 * `api`, `scheduler`, `runner` (one process each, for production), `migrate`, `decryption-keys`.
 * The only place that reads `process.env`: each command parses its own configuration once.
 */
import path from 'node:path';
import { ConfigError, NotFoundError, ServiceUnavailableError, errorMessage } from '@sluice/core';
import { parseConfig } from '@sluice/core/config';
import { LocalServiceError } from '@sluice/local-services';
import { MigrationError } from '@sluice/db';
import { runApi, runDecryptionKeys, runMigrate, runRunner, runScheduler, runStart } from './commands.ts';
import { DECRYPTION_KEYS_SETTINGS, decryptionKeysConfigSchema, runnerConfigSchema, schedulerConfigSchema, migrateConfigSchema, startConfigSchema } from './config.ts';

const USAGE = `usage: sluice <command>

  start       api, scheduler and one runner in one process (local PostgreSQL/Redis when none is configured)
  api         the HTTP API and flow UI
  scheduler   fires schedules, creates runs, recovers after Redis loss
  runner      executes tasks (start as many as the load needs)
  migrate     applies database migrations
  decryption-keys <key name>
              prints the AES-256-GCM keys that decrypt the columns a named key encrypts
              (for the tables' readers; needs DATABASE_URL and SLUICE_MASTER_KEY; see docs/encryption.md)`;

async function main(argv: string[]): Promise<void> {
  const env = process.env;
  const command = argv[0];
  switch (command) {
    case 'start':
      return runStart(parseConfig(startConfigSchema(process.cwd()), env), env, path.join(process.cwd(), '.sluice'));
    case 'api':
      return runApi(env);
    case 'scheduler':
      return runScheduler(parseConfig(schedulerConfigSchema, env));
    case 'runner':
      return runRunner(parseConfig(runnerConfigSchema, env));
    case 'migrate':
      return runMigrate(parseConfig(migrateConfigSchema, env));
    case 'decryption-keys':
      if (argv[1] === undefined || argv[1] === '') {
        process.stderr.write('usage: sluice decryption-keys <encryption key name>   (e.g. sluice decryption-keys pii)\n');
        process.exitCode = 2;
        return;
      }
      return runDecryptionKeys(parseConfig(decryptionKeysConfigSchema, env, DECRYPTION_KEYS_SETTINGS), argv[1]);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      process.stderr.write(`sluice: unknown command "${command}"\n\n${USAGE}\n`);
      process.exitCode = 2;
  }
}

/** Expected failures get one clear line, not a stack trace. */
function reportFailure(err: unknown): never {
  const expected =
    err instanceof ConfigError ||
    err instanceof ServiceUnavailableError ||
    err instanceof LocalServiceError ||
    err instanceof MigrationError ||
    err instanceof NotFoundError;
  if (expected) process.stderr.write(`sluice: ${err.message}\n`);
  else process.stderr.write(`sluice: ${errorMessage(err)}\n${err instanceof Error && err.stack ? `${err.stack}\n` : ''}`);
  process.exit(1);
}

// Everything was closed in order on the way out; a library's idle handle must not keep the process up.
main(process.argv.slice(2)).then(() => process.exit(process.exitCode ?? 0), reportFailure);
