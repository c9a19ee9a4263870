#!/usr/bin/env node
/**
 * The `sluice` command: `start` (api + scheduler + runner in one process, `pnpm start`),
 * `api`, `scheduler`, `runner` (one process each, for production), `migrate`, `decryption-keys`.
 * The only place that reads `process.env`: each command parses its own configuration once.
 */
import path from 'node:path';
import { ConfigError, NotFoundError, ServiceUnavailableError, errorMessage } from '@sluice/core';
import { parseConfig, SETTINGS, type SettingDoc } from '@sluice/core/config';
import { apiConfigSchema } from '@sluice/api';
import { LocalServiceError } from '@sluice/local-services';
import { MigrationError } from '@sluice/db';
import { runApi, runDecryptionKeys, runMigrate, runRunner, runScheduler, runStart } from './commands.ts';
import { startsOwnSettings } from './local-defaults.ts';
import { DECRYPTION_KEYS_SETTINGS, decryptionKeysConfigSchema, runnerConfigSchema, schedulerConfigSchema, migrateConfigSchema, startConfigSchema } from './config.ts';

const USAGE = `usage: sluice <command>

  start       api, scheduler and one runner in one process (local PostgreSQL/Redis when none is configured)
  api         the HTTP API and flow UI
  scheduler   fires schedules, creates runs, recovers after Redis loss
  runner      executes tasks (start as many as the load needs)
  migrate     applies database migrations
  decryption-keys <key name>
              prints the AES-256-GCM keys that decrypt the columns a named key encrypts
              (for the tables' readers; needs DATABASE_URL and SLUICE_MASTER_KEY, which in a checkout
              that pnpm start runs are that start's when unset; see docs/encryption.md)`;

/** The settings each command reads (its configuration's variables). */
function settingsOf(command: string): string[] | undefined {
  const schemas: Record<string, { shape: Record<string, unknown> }> = {
    start: startConfigSchema(process.cwd()),
    api: apiConfigSchema,
    scheduler: schedulerConfigSchema,
    runner: runnerConfigSchema,
    migrate: migrateConfigSchema,
    'decryption-keys': decryptionKeysConfigSchema,
  };
  const schema = schemas[command];
  if (schema === undefined) return undefined;
  // start hands the environment on to the API it runs: it reads the API's settings too (SLUICE_HOST, say).
  return [...new Set([...Object.keys(schema.shape), ...(command === 'start' ? Object.keys(apiConfigSchema.shape) : [])])];
}

/** Short options users reach for (`-p 9000`, celery's `-c 8`), by the ending of the setting they stand for; `-h` is help. */
const SHORT_OPTIONS: Readonly<Record<string, string>> = { p: 'PORT', c: 'CONCURRENCY' };

/**
 * `sluice <command> --help`: the command's line of the usage, and the variables it reads, each with
 * what it is (QA round 33c F8: `sluice api --help` started the API).
 */
function commandHelp(command: string): string | undefined {
  const names = settingsOf(command);
  if (names === undefined) return undefined;
  const docs = { ...SETTINGS, ...(command === 'decryption-keys' ? DECRYPTION_KEYS_SETTINGS : {}) } as Record<string, SettingDoc | undefined>;
  const lines = USAGE.split('\n');
  const at = lines.findIndex((l) => l.startsWith(`  ${command} `) || l === `  ${command}`);
  const rest = lines.slice(at + 1);
  // The command's line and the indented lines that go on with it.
  const end = rest.findIndex((l) => !l.startsWith('        '));
  const said = [lines[at] ?? '', ...rest.slice(0, end === -1 ? rest.length : end)];
  const width = Math.max(...names.map((n) => n.length));
  return [
    `usage: sluice ${command}${command === 'decryption-keys' ? ' <key name>' : ''}`,
    '',
    ...said,
    '',
    'environment variables it reads:',
    ...names.map((n) => `  ${n.padEnd(width)}  ${docs[n]?.description ?? ''}`.trimEnd()),
    ...(names.includes('SLUICE_STORAGE_URL') ? ["  and, for an s3:// store, the AWS SDK's own (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL_S3)"] : []),
  ].join('\n');
}

/**
 * Arguments a command does not take, said with the settings they look like: a command's settings
 * are environment variables (QA round 34a F6: `sluice api --port 9000` ran the API on 8080).
 * Undefined when there are none, or the command is not one (said by the usage).
 */
function strayArguments(command: string, args: string[]): string | undefined {
  const names = settingsOf(command);
  if (names === undefined) return undefined;
  const stray = command === 'decryption-keys' ? args.slice(1) : args;
  if (stray.length === 0) return undefined;
  const alike = stray.flatMap((a, i) => {
    const [stem = '', given] = a.replace(/^-+/, '').split('=', 2);
    // `--port 9000`: the option's value is the next argument, unless that is an option itself.
    const next = stray[i + 1];
    const value = given ?? (a.startsWith('-') && next !== undefined && !next.startsWith('-') ? next : undefined);
    const wanted = (/^-[a-z]$/i.test(a) ? SHORT_OPTIONS[stem.toLowerCase()] : undefined) ?? stem.toUpperCase().replace(/-/g, '_');
    if (wanted === '') return [];
    return names.filter((n) => n === wanted || n.endsWith(`_${wanted}`)).map((n) => `${n}=${value ?? '…'}`);
  });
  return (
    `${command} takes ${command === 'decryption-keys' ? 'one argument, the key name' : 'no arguments'} (given: ${args.join(' ')}); ` +
    `its settings are environment variables${alike.length > 0 ? ` (${[...new Set(alike)].join(', ')}, say)` : ''}: \`sluice ${command} --help\` lists them`
  );
}

async function main(argv: string[]): Promise<void> {
  const env = process.env;
  const command = argv[0];
  if (command !== undefined && argv.slice(1).some((a) => a === '--help' || a === '-h')) {
    const help = commandHelp(command);
    if (help !== undefined) {
      process.stdout.write(`${help}\n`);
      return;
    }
  }
  const stray = command === undefined ? undefined : strayArguments(command, argv.slice(1));
  if (stray !== undefined) {
    process.stderr.write(`sluice: ${stray}\n`);
    process.exitCode = 2;
    return;
  }
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
      {
        // In a checkout that `pnpm start` runs, what is unset is that start's (its local database, its master key).
        const own = startsOwnSettings(path.join(process.cwd(), '.sluice'), env);
        return runDecryptionKeys(parseConfig(decryptionKeysConfigSchema, { ...env, ...own.env }, DECRYPTION_KEYS_SETTINGS, own.problems), argv[1], own.said);
      }
    case undefined:
      // No command is a usage error, as an unknown one is: a script that lost its command can tell (QA round 37b F7).
      process.stderr.write(`${USAGE}\n`);
      process.exitCode = 2;
      return;
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
