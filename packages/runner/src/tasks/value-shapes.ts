/**
 * What a value's text must look like to be a value of a type, where DuckDB's casts are looser
 * than JSON Schema's types and formats (RFC 3339). Stage types the source's values with them, and
 * a transformation's cast checks its values with them, so that a value either fits as it is or is
 * refused — never quietly changed:
 * - an integer has no fractional part: the casts round 10.5 to 11, and beyond a double's precision
 *   (2^53) `"9007199254740993.5"` compares equal to its rounded integer. In exponent form
 *   (`"1.5e3"`, and `1e+18`, as DuckDB writes a bare whole double) it fits only with at most 15
 *   significant digits, where a fraction cannot hide beyond a double's precision
 *   (`"1.00000000000000000001e0"` was taken as 1);
 * - a date is a full date, `2024-01-01`: the cast takes `2024-01-01 extra` and `2024-01-01T23:30:00-05:00`
 *   as 2024-01-01, dropping the rest (a date-time's offset may put it on another day);
 * - a timestamp without a time zone has none: the cast drops the offset of `2024-03-10T02:30:00+02:00`
 *   without converting, so the value would name another instant;
 * - every date has a year of four digits, 0001 to 9999: the casts take `99999-01-01` and `-0001-01-01`,
 *   which readers such as PyIceberg and Spark cannot read back (Python's dates end at 9999);
 * - a date-time's hour is 00 to 23: the cast takes `T24:00:00` as the next day's midnight;
 * - a number in text has JSON's shape, and a finite value: the casts take `"1_000"`, `" 12 "`,
 *   `"+12"` and `".5"`, and read `"1e400"` as infinity. `NaN`, `Infinity` and `-Infinity` are
 *   numbers too, as the words extract writes for Python's bare tokens (a double holds them);
 * - a boolean is `true` or `false`, in any case: the cast also takes "yes", "t", "1" and "0".
 * A date-time's seconds and fraction may be left out, and a timestamp's time too (midnight); a
 * timestamp with a time zone without an offset is UTC, as the cast reads it, and its offset may be
 * written as ISO 8601 allows it (`+05`, `+0530`) besides RFC 3339's `+05:30`, with an hour of 00 to 23
 * (`+24:00` moved the instant a day). A leap second
 * (`23:59:60`) is no value: no Iceberg reader has one. A timestamp with a time zone is also held to
 * years 0001 to 9999 once its offset is applied (instantInRange).
 */

const FULL_DATE = '[0-9]{4}-[0-9]{2}-[0-9]{2}';
const TIME = '([01][0-9]|2[0-3]):[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?';
const OFFSET = '([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-9]{2})?)';

/** DuckDB regular expressions (RE2) a whole text must match, per type that has a shape. */
const SHAPES: Readonly<Record<string, string>> = {
  date: FULL_DATE,
  timestamp: `${FULL_DATE}([Tt ]${TIME})?`,
  timestamptz: `${FULL_DATE}([Tt ]${TIME}${OFFSET}?)?`,
};

/** A JSON number (RFC 8259). */
const NUMBER = '-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][+-]?[0-9]+)?';
/** A JSON number written as an integer: no fraction but zeros. */
const INTEGER = '-?(0|[1-9][0-9]*)([.]0+)?';
/** A JSON number in exponent form (`1.5e3`), which may be an integer (the cast's exactness decides). */
const EXPONENT_FORM = '-?(0|[1-9][0-9]*)([.][0-9]+)?[eE][+-]?[0-9]+';

/**
 * A DuckDB condition on `v` (an expression of any type): false when `v` is text that does not have
 * the shape of a `type` value (above); true otherwise, and for types without a shape. Values of
 * other types (a timestamp cast to a date) are the cast's to convert. It does not check that the
 * cast succeeds: callers also test the cast itself.
 */
export function textHasShapeOf(v: string, type: string): string {
  const text = `TRY_CAST(${v} AS VARCHAR)`;
  const isText = `typeof(${v}) = 'VARCHAR'`;
  // Only a number with an exponent can be too large for a double; the others skip the cast.
  const finite = `(NOT (contains(${text}, 'e') OR contains(${text}, 'E')) OR isfinite(TRY_CAST(${text} AS DOUBLE)))`;
  if (type === 'long' || type === 'int') {
    // An exponent form with 15 significant digits or fewer is whole exactly when its double is:
    // the cast (whose BIGINT reads the text's digits) and the double then agree only on a whole
    // number. With more digits, a fraction beyond a double's precision would pass (QA round 29).
    const fewDigits = `length(regexp_replace(regexp_extract(${text}, '^-?([0-9.]*)', 1), '[^0-9]|^0+', '', 'g')) <= 15`;
    return `NOT (${isText} AND NOT (regexp_full_match(${text}, '${INTEGER}') OR (regexp_full_match(${text}, '${EXPONENT_FORM}') AND ${fewDigits})))`;
  }
  if (type === 'double' || type === 'float') return `NOT (${isText} AND NOT ((regexp_full_match(${text}, '${NUMBER}') AND ${finite}) OR ${text} IN ('NaN', 'Infinity', '-Infinity')))`;
  if (type === 'boolean') return `NOT (${isText} AND lower(${text}) NOT IN ('true', 'false'))`;
  const shape = SHAPES[type];
  if (shape === undefined) return 'true';
  return `NOT (${isText} AND NOT (regexp_full_match(${text}, '${shape}') AND NOT starts_with(${text}, '0000')))`;
}

/**
 * The text of `v` as DuckDB's casts to TIMESTAMPTZ and TIMESTAMP take it: RFC 3339's lower-case `t`
 * and `z` upper-cased, and a time of hours and minutes given its seconds where an offset follows
 * (the cast refuses `2024-01-01T10:00Z` and `T10:00+02:00`, though it takes `T10:00`).
 */
export function timestampText(v: string): string {
  // By position, not a regular expression (which cost the cast three times its time): in a text of
  // the shape, the 17th character is the seconds' colon, or what follows a time without seconds.
  const u = `upper(CAST(${v} AS VARCHAR))`;
  return `CASE WHEN substr(${u}, 17, 1) IN ('Z', '+', '-') THEN substr(${u}, 1, 16) || ':00' || substr(${u}, 17) ELSE ${u} END`;
}

/**
 * A DuckDB condition on `ts`, a TIMESTAMPTZ made of `v`: its instant is within years 0001 to 9999 in UTC.
 * The text's shape holds the year as written; an offset can take it past either end
 * (`0001-01-01T00:30:00+01:00` is in year 0), which PyIceberg and Spark cannot read back.
 */
export function instantInRange(v: string, ts: string): string {
  // Only a value of the first or the last year can be taken past them; the others skip the compare.
  const text = `TRY_CAST(${v} AS VARCHAR)`;
  return `(NOT (starts_with(${text}, '0001') OR starts_with(${text}, '9999')) OR ${ts} BETWEEN TIMESTAMPTZ '0001-01-01 00:00:00+00' AND TIMESTAMPTZ '9999-12-31 23:59:59.999999+00')`;
}
