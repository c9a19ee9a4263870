import { z } from 'zod';

/**
 * The one rule every text field of a request follows: no NUL character (U+0000). PostgreSQL's
 * text, varchar and jsonb cannot hold it, so a NUL that got past validation would fail the
 * statement (a 500); refused here, the caller gets a 400 naming the field. Build text fields from
 * this schema (`text.trim().min(1)`, `text.nullish()` …), never from `z.string()`. Values that are
 * not stored as text — `source_config`, stored encrypted — may hold a NUL.
 */
export const text = z.string().refine((s) => !s.includes('\u0000'), {
  message: 'must not contain the NUL character (U+0000)',
  // The field's other rules (length, pattern) are moot for such a value: one message per field.
  abort: true,
});
