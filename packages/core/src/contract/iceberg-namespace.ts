import { NAMESPACE_PATTERN } from '../pipeline/index.ts';
import { text } from './text.ts';

/** Schemas that SQL engines reading the tables answer from their own metadata. */
const RESERVED_SCHEMAS = new Set(['information_schema', 'pg_catalog']);

/**
 * `schema_name`: the Iceberg namespace the job's tables go into. The rule (one level, so every
 * engine — PyIceberg's SqlCatalog, Spark, Trino — addresses it without quoting):
 * ASCII letters, digits and `_`; starts with a letter or `_`; 1–255 characters
 * (the catalog's `table_namespace` is varchar(255)). Dots (nested namespaces), spaces, dashes and
 * quotes are refused. Lower case only, as table names are: Trino folds names to lower case (it
 * could not name `Raw_Faker`), and to such engines `Raw_Faker` and `raw_faker` would be one name
 * for two namespaces. Not a schema SQL engines keep for themselves (`information_schema`, which
 * Trino answers in every catalog from its own metadata, and `pg_catalog`, which DuckDB and
 * PostgreSQL-flavoured engines have built in): a table there could not be read by its name (QA
 * round 43a F11).
 */
export const icebergNamespace = text
  .regex(NAMESPACE_PATTERN, 'must be a valid Iceberg namespace identifier: ASCII letters (a-z), digits and _, starting with a letter or _, at most 255 characters')
  // Said only of a name its lower-case form makes valid (QA round 27: "Bad-Name" was told to be "bad-name").
  .refine((v) => v === v.toLowerCase() || !NAMESPACE_PATTERN.test(v), {
    error: (issue) =>
      `must be lower case ("${String(issue.input).toLowerCase()}"): Trino folds names to lower case and could not name it, and to such engines it would be one name with its lower-case form`,
  })
  .refine((v) => !RESERVED_SCHEMAS.has(v), {
    error: (issue) => `${String(issue.input)} is a schema SQL engines keep for their own metadata (Trino, DuckDB, PostgreSQL): its tables could not be read by name; choose another name`,
  })
  // What the API document says: both rules in one pattern (each still refuses with its own words).
  .meta({ pattern: '^[a-z_][a-z0-9_]{0,254}$' });
