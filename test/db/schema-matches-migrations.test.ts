/**
 * Proves that the database our SQL migrations build is exactly what prisma/schema.prisma
 * describes: the same tables, columns (type, nullability, defaults), enums, primary keys,
 * unique and plain indexes, and foreign keys with their delete rules. The expected shape is
 * read from the schema by Prisma's own parser (prisma-schema-wasm's DMMF), so a model change
 * without a migration (or the reverse) fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createRequire } from 'node:module';
import pg from 'pg';
import { migrate, readMigrations } from '@sluice/db';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'enum' | 'object';
  type: string;
  isList: boolean;
  isRequired: boolean;
  isUpdatedAt: boolean;
  hasDefaultValue: boolean;
  nativeType?: [string, string[]] | null;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}
interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  fields: { name: string }[];
}
interface Dmmf {
  datamodel: {
    models: DmmfModel[];
    enums: { name: string; values: { name: string }[] }[];
    indexes: DmmfIndex[];
  };
}

const require = createRequire(import.meta.url);
const schemaWasm = require('@prisma/prisma-schema-wasm') as { get_dmmf(params: string): string };
const schemaText = readFileSync(new URL('../../prisma/schema.prisma', import.meta.url), 'utf8');
const dmmf = JSON.parse(schemaWasm.get_dmmf(JSON.stringify({ prismaSchema: [['schema.prisma', schemaText]] }))) as Dmmf;

const models = dmmf.datamodel.models;
const tableOf = (m: DmmfModel): string => m.dbName ?? m.name;
const columnOf = (f: DmmfField): string => f.dbName ?? f.name;
const modelByName = new Map(models.map((m) => [m.name, m]));

function expectedType(f: DmmfField): string {
  let base: string;
  if (f.kind === 'enum') base = `"${f.type}"`;
  else {
    const [native, args] = f.nativeType ?? [undefined, []];
    switch (f.type) {
      case 'String':
        base = native === 'Uuid' ? 'uuid' : native === 'VarChar' ? `character varying(${args[0]})` : 'text';
        break;
      case 'Int':
        base = 'integer';
        break;
      case 'BigInt':
        base = 'bigint';
        break;
      case 'Boolean':
        base = 'boolean';
        break;
      case 'Json':
        base = 'jsonb';
        break;
      case 'DateTime':
        base = native === 'Timestamptz' ? `timestamp(${args[0] ?? 6}) with time zone` : 'timestamp(3) without time zone';
        break;
      default:
        throw new Error(`no mapping for Prisma type ${f.type} (field ${f.name})`);
    }
  }
  return f.isList ? `${base}[]` : base;
}

let db: TestDatabase;
let client: pg.Client;

before(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
after(async () => {
  await client.end();
  await db.drop();
});

test('the migrated database has exactly the tables the schema models', async () => {
  const { rows } = await client.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> '_prisma_migrations' ORDER BY 1",
  );
  assert.deepEqual(rows.map((r) => r.table_name), models.map(tableOf).sort());
});

test('every column has the schema type, nullability and default', async () => {
  const { rows } = await client.query<{ table: string; column: string; type: string; notnull: boolean; hasdefault: boolean }>(`
    SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
           a.attnotnull AS notnull, a.atthasdef AS hasdefault
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
       AND c.relname <> '_prisma_migrations'
     ORDER BY 1, 2`);
  const actual = rows.map((r) => `${r.table}.${r.column} ${r.type}${r.notnull ? ' NOT NULL' : ''}${r.hasdefault ? ' DEFAULT' : ''}`);
  const expected = models
    .flatMap((m) =>
      m.fields
        .filter((f) => f.kind !== 'object')
        .map((f) => {
          const notNull = f.isRequired && !f.isList;
          return `${tableOf(m)}.${columnOf(f)} ${expectedType(f)}${notNull ? ' NOT NULL' : ''}${f.hasDefaultValue ? ' DEFAULT' : ''}`;
        }),
    )
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const sortedActual = [...actual].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  assert.deepEqual(sortedActual, expected);
});

test('enums have the schema values in order', async () => {
  const { rows } = await client.query<{ name: string; values: string[] }>(`
    SELECT t.typname AS name, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text[] AS values
      FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname ORDER BY 1`);
  const expected = dmmf.datamodel.enums
    .map((e) => ({ name: e.name, values: e.values.map((v) => v.name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
  assert.deepEqual(
    rows.map((r) => ({ name: r.name, values: r.values })),
    expected,
  );
});

test('primary keys, unique and plain indexes match', async () => {
  const { rows } = await client.query<{ table: string; kind: string; columns: string[] }>(`
    SELECT t.relname AS table,
           CASE WHEN ix.indisprimary THEN 'id' WHEN ix.indisunique THEN 'unique' ELSE 'normal' END AS kind,
           array(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS columns
      FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname = 'public' AND t.relname <> '_prisma_migrations'`);
  const key = (table: string, kind: string, columns: string[]): string => `${kind} ${table}(${columns.join(',')})`;
  const actual = rows.map((r) => key(r.table, r.kind, r.columns)).sort();
  const expected = dmmf.datamodel.indexes
    .map((ix) => {
      const m = modelByName.get(ix.model);
      assert.ok(m, `index on unknown model ${ix.model}`);
      const cols = ix.fields.map((f) => {
        const field = m.fields.find((x) => x.name === f.name);
        assert.ok(field, `index field ${f.name} not in ${m.name}`);
        return columnOf(field);
      });
      return key(tableOf(m), ix.type, cols);
    })
    .sort();
  assert.deepEqual(actual, expected);
});

test('foreign keys reference the schema relations with their delete rules', async () => {
  const { rows } = await client.query<{ table: string; columns: string[]; ref: string; refcolumns: string[]; ondelete: string }>(`
    SELECT c.conrelid::regclass::text AS table, c.confrelid::regclass::text AS ref,
           array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o)::text[] AS columns,
           array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o)::text[] AS refcolumns,
           CASE c.confdeltype WHEN 'c' THEN 'Cascade' WHEN 'r' THEN 'Restrict' WHEN 'n' THEN 'SetNull' WHEN 'a' THEN 'NoAction' WHEN 'd' THEN 'SetDefault' END AS ondelete
      FROM pg_constraint c WHERE c.contype = 'f'`);
  const unquote = (s: string): string => s.replace(/^"|"$/g, '');
  const actual = rows
    .map((r) => `${unquote(r.table)}(${r.columns.join(',')}) -> ${unquote(r.ref)}(${r.refcolumns.join(',')}) ON DELETE ${r.ondelete}`)
    .sort();
  const expected = models
    .flatMap((m) =>
      m.fields
        .filter((f) => f.kind === 'object' && (f.relationFromFields?.length ?? 0) > 0)
        .map((f) => {
          const target = modelByName.get(f.type);
          assert.ok(target);
          const from = (f.relationFromFields ?? []).map((n) => columnOf(m.fields.find((x) => x.name === n) as DmmfField));
          const to = (f.relationToFields ?? []).map((n) => columnOf(target.fields.find((x) => x.name === n) as DmmfField));
          // Prisma's default for a required relation is Restrict.
          return `${tableOf(m)}(${from.join(',')}) -> ${tableOf(target)}(${to.join(',')}) ON DELETE ${f.relationOnDelete ?? 'Restrict'}`;
        }),
    )
    .sort();
  assert.deepEqual(actual, expected);
});

test('migrations are recorded in Prisma\'s table with Prisma\'s checksums, and a second run applies nothing', async () => {
  const files = await readMigrations();
  const { rows } = await client.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
    'SELECT migration_name, checksum, finished_at FROM _prisma_migrations ORDER BY migration_name',
  );
  assert.deepEqual(
    rows.map((r) => [r.migration_name, r.checksum, r.finished_at !== null]),
    files.map((f) => [f.name, f.checksum, true]),
  );
  const again = await migrate(db.url);
  assert.deepEqual(again.applied, []);
  assert.deepEqual(again.alreadyApplied, files.map((f) => f.name));
});
