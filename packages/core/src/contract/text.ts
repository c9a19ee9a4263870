import { z } from 'zod';

/**
 * The rules every text field of a request follows: no NUL character (U+0000), and no lone UTF-16
 * surrogate (JSON's `"\ud800"`, which is no character). PostgreSQL's text, varchar and jsonb cannot
 * hold either: a NUL that got past validation would fail the statement (a 500), and a lone
 * surrogate was stored as U+FFFD, the value changed without a word (QA round 43a F4); refused
 * here, the caller gets a 400 naming the field. Build text fields from this schema
 * (`text.trim().min(1)`, `text.nullish()` …), never from `z.string()`. Values that are not stored
 * as text — `source_config`, stored encrypted — may hold either.
 */
/** A high surrogate not followed by a low one, or a low surrogate not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const text = z
  .string()
  .refine((s) => !s.includes('\u0000'), {
    message: 'must not contain the NUL character (U+0000)',
    // The field's other rules (length, pattern) are moot for such a value: one message per field.
    abort: true,
  })
  .refine((s) => !LONE_SURROGATE.test(s), {
    message: 'must be valid Unicode: it holds a lone UTF-16 surrogate (such as \\ud800), which is no character',
    abort: true,
  });

/**
 * A name the source gives (a stream, a column): taken exactly as sent — case, spaces and
 * punctuation kept, as the source names it — and refused when it is empty or only white space. Not
 * trimmed: a column " email" is not "email" (QA round 55c F2: an encryption of "email " encrypted
 * "email", and the column named loaded in plaintext).
 */
export const sourceIdentifier = text.refine((s) => s.trim() !== '', 'must not be empty').meta({ pattern: '\\S' });
