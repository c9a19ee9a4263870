import { NAMESPACE_PATTERN } from '../pipeline/index.ts';
import { text } from './text.ts';

/**
 * `schema_name`: the Iceberg namespace the job's tables go into. The rule (one level, so every
 * engine — PyIceberg's SqlCatalog, Spark, Trino — addresses it without quoting):
 * ASCII letters, digits and `_`; starts with a letter or `_`; 1–255 characters
 * (the catalog's `table_namespace` is varchar(255)). Dots (nested namespaces), spaces, dashes and
 * quotes are refused. Engines such as Trino fold names to lower case, so lower case is advised.
 */
export const icebergNamespace = text.regex(
    NAMESPACE_PATTERN,
    'must be a valid Iceberg namespace identifier: letters, digits and _, starting with a letter or _, at most 255 characters',
  );
