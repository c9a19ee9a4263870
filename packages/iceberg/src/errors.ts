import { SluiceError } from '@sluice/core';
import type { IcebergPrimitiveType } from './types.ts';

/** A write's column cannot be stored in the table's column of the same name. Nothing was committed. */
export class IncompatibleSchemaError extends SluiceError {
  readonly code = 'incompatible_schema';
  constructor(
    readonly table: string,
    readonly column: string,
    readonly tableType: IcebergPrimitiveType,
    readonly inputType: IcebergPrimitiveType,
  ) {
    super(
      `${table}: column ${JSON.stringify(column)} has type ${tableType} in the table but ${inputType} in the data; ` +
        `only int → long, float → double and decimal precision widening are allowed`,
    );
  }
}

/**
 * A write's column that is not in the table differs from one of the table's columns only in case
 * (`NAME` beside `name`): Spark, Trino and DuckDB read the two as one column, so it is not added
 * beside it (a table with both cannot be queried by name). Nothing was committed.
 */
export class ColumnCaseCollisionError extends SluiceError {
  readonly code = 'column_case_collision';
  constructor(
    readonly table: string,
    readonly column: string,
    readonly tableColumn: string,
  ) {
    super(
      `${table}: column ${JSON.stringify(column)} of the data differs from the table's column ${JSON.stringify(tableColumn)} only in case; ` +
        `Spark, Trino and DuckDB read the two as one column, so it is not added beside it`,
    );
  }
}

/**
 * The table does not exist in the catalog. Retryable: a load that meets it (the table dropped
 * between its load and its commit) creates the table again on its next try.
 */
export class NoSuchTableError extends SluiceError {
  readonly code = 'no_such_table';
  override readonly retryable = true;
  constructor(readonly table: string) {
    super(`Iceberg table ${table} does not exist`);
  }
}

/** The table already exists (on create). */
export class TableAlreadyExistsError extends SluiceError {
  readonly code = 'table_already_exists';
  constructor(readonly table: string) {
    super(`Iceberg table ${table} already exists`);
  }
}

/** Another writer kept committing first; retries ran out. Written files were removed. */
export class CommitConflictError extends SluiceError {
  readonly code = 'commit_conflict';
  override readonly retryable = true;
  constructor(readonly table: string, readonly attempts: number) {
    super(`${table}: commit lost to concurrent writers ${attempts} times; giving up (nothing committed)`);
  }
}
