import { CronExpressionParser } from 'cron-parser';
import { ValidationError } from '../errors/index.ts';

/** The presets Sluice accepts, as the five-field expressions they stand for. */
export const CRON_PRESETS: Readonly<Record<string, string>> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

interface FieldRule {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const SECOND: FieldRule = { name: 'second', min: 0, max: 59 };
const FIELDS: readonly FieldRule[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  // 0 and 7 are both Sunday, as in Vixie cron.
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

export interface ScheduleOptions {
  /**
   * Accept a six-field expression whose first field is seconds. Only tests use this (a job's
   * schedule is five-field cron); production callers leave it off.
   */
  allowSeconds?: boolean;
}

function fieldValue(raw: string, rule: FieldRule): number | string {
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n < rule.min || n > rule.max) return `${raw} is outside ${rule.min}-${rule.max}`;
    return n;
  }
  const named = rule.names?.indexOf(raw.toUpperCase()) ?? -1;
  if (named >= 0) return rule.name === 'month' ? named + 1 : named;
  return `${raw} is not a number${rule.names ? ` or a name (${rule.names.join(', ')})` : ''}`;
}

/** Checks one field: `*`, `n`, `a-b`, each optionally `/step`, comma-separated. */
function fieldProblem(field: string, rule: FieldRule): string | null {
  for (const part of field.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!m || m[1] === undefined) return `"${part}" is not a value, range or step`;
    const [, base, step] = m;
    if (step !== undefined && Number(step) === 0) return `step 0 in "${part}"`;
    // A step beyond the field's span fires once at most: `*/61` in minutes is `0`, and was surely not meant.
    if (step !== undefined && Number(step) > rule.max - rule.min) return `step ${step} in "${part}" is larger than the field's range ${rule.min}-${rule.max}`;
    if (base === '*') continue;
    const range = base.split('-');
    if (range.length > 2) return `"${part}" is not a range`;
    const values = range.map((r) => fieldValue(r, rule));
    for (const v of values) if (typeof v === 'string') return v;
    const [lo, hi] = values as number[];
    if (hi !== undefined && lo !== undefined && lo > hi) return `range ${base} goes backwards`;
  }
  return null;
}

/**
 * A schedule as it is stored and shown: trimmed, its fields one space apart (`0  0 * * *` is
 * `0 0 * * *`: the same schedule, and the same request to an idempotent create), and a preset in
 * lower case (`@HOURLY` is `@hourly`).
 */
export function canonicalSchedule(expression: string): string {
  const expr = expression.trim().split(/\s+/).join(' ');
  return expr.startsWith('@') ? expr.toLowerCase() : expr;
}

/**
 * Validates a schedule strictly and answers the expression to hand to cron (presets
 * expanded). Five fields (minute hour day-of-month month day-of-week) or a preset; six with
 * seconds only when `allowSeconds`. Throws ValidationError naming the bad field.
 */
export function normalizeSchedule(expression: string, options: ScheduleOptions = {}): string {
  const expr = expression.trim();
  if (expr === '') throw new ValidationError([{ path: 'schedule', message: 'is empty: give a cron expression, or null for a job that runs on demand only' }]);
  const preset = CRON_PRESETS[expr.toLowerCase()];
  if (preset !== undefined) return preset;
  if (expr.startsWith('@')) {
    throw new ValidationError([{ path: 'schedule', message: `unknown preset ${expr} (use ${Object.keys(CRON_PRESETS).join(', ')})` }]);
  }
  const fields = expr.split(/\s+/);
  const rules = options.allowSeconds && fields.length === 6 ? [SECOND, ...FIELDS] : FIELDS;
  if (fields.length !== rules.length) {
    throw new ValidationError([
      { path: 'schedule', message: `"${expr}" has ${fields.length} fields; cron needs 5 (minute hour day-of-month month day-of-week)` },
    ]);
  }
  const issues = fields.flatMap((f, i) => {
    const rule = rules[i];
    const problem = rule ? fieldProblem(f, rule) : 'unexpected field';
    return problem ? [{ path: 'schedule', message: `${rule?.name ?? 'field'} field: ${problem}` }] : [];
  });
  if (issues.length > 0) throw new ValidationError(issues);
  const normalized = fields.join(' ');
  // Each field can be valid while the whole matches no date (`0 0 30 2 *`: February 30th).
  // cron-parser, which schedules it, refuses those; it must not first be saved as the schedule.
  try {
    CronExpressionParser.parse(normalized, { tz: 'UTC' }).next();
  } catch {
    // Said in the schedule's own terms (QA round 31: cron-parser's "Invalid explicit day of month definition").
    const dom = fields.at(-3) ?? '';
    const month = fields.at(-2) ?? '';
    throw new ValidationError([{ path: 'schedule', message: `"${expr}" matches no date that occurs: no month it names (${month}) has the day ${dom}` }]);
  }
  return normalized;
}

/**
 * Validates an IANA time zone name and answers it as the client named it, in the zone's own letter
 * case when only that differs (`utc` → `UTC`, `europe/berlin` → `Europe/Berlin`). A link such as
 * `Asia/Kolkata` or `US/Eastern` is kept: ICU would answer an older name for some (`Asia/Calcutta`),
 * and a client reading back what it sent would see a change. Fixed offsets like `+05:00` are
 * refused: they have no daylight-saving rules and cron-parser mishandles them.
 */
export function normalizeTimeZone(timeZone: string): string {
  const bad = (): never => {
    throw new ValidationError([{ path: 'timezone', message: `${timeZone} is not an IANA time zone (e.g. UTC, Europe/Berlin)` }]);
  };
  if (!/^[A-Za-z][A-Za-z0-9_+\-]*(\/[A-Za-z0-9_+\-]+)*$/.test(timeZone)) return bad();
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    return bad();
  }
  return resolved.toLowerCase() === timeZone.toLowerCase() ? resolved : timeZone;
}

/**
 * The next `count` fire times strictly after `after`, in `timeZone`. Daylight saving:
 * a local time skipped by a spring-forward fires once, right after the gap (02:30 → 03:30);
 * a local time repeated by a fall-back fires once, at its first occurrence; interval schedules
 * (`0 * * * *`) fire every elapsed hour across both changes.
 */
export function nextFireTimes(
  expression: string,
  timeZone: string,
  after: Date,
  count: number,
  options: ScheduleOptions = {},
): Date[] {
  const expr = normalizeSchedule(expression, options);
  const tz = normalizeTimeZone(timeZone);
  const it = CronExpressionParser.parse(expr, { tz, currentDate: after });
  const out: Date[] = [];
  for (let i = 0; i < count; i++) out.push(it.next().toDate());
  return out;
}

/**
 * A valid five-field expression with a stepped day-of-week field (`0-7/2`, `MON-FRI/2`, a step over
 * every day) written as the days it picks (`0,2,4,6`), as cron itself reads it; any other expression as
 * it is. For describing a schedule in words: described as a step over a range, `0-7/2` reads "every
 * 2 days of the week, Sunday through Sunday".
 */
export function withDaysOfWeekListed(expression: string): string {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 || !fields[4]?.includes('/')) return expression;
  const days = CronExpressionParser.parse(fields.join(' ')).fields.dayOfWeek.values;
  return [...fields.slice(0, 4), [...new Set(days.map((d) => Number(d) % 7))].sort((a, b) => a - b).join(',')].join(' ');
}

/** A safety bound on the fire times one search walks through. */
const MAX_STEPS = 1_000_000;

/**
 * Fire times in (start, end], oldest first, found going forward: cron-parser's `next()` is right
 * across daylight-saving gaps, its `prev()` is not (it skips the day, or finds nothing).
 */
function firesForward(expr: string, tz: string, start: Date, end: Date): Date[] {
  const it = CronExpressionParser.parse(expr, { tz, currentDate: start, endDate: end });
  const out: Date[] = [];
  while (out.length < MAX_STEPS && it.hasNext()) out.push(it.next().toDate());
  return out;
}

/**
 * The latest `count` fire times in (from, to] (fewer when there are not so many), oldest first, and
 * whether there are earlier ones in the range: searched in windows back from `to` that grow until
 * they hold more than `count` or reach `from`.
 */
function latestFires(expr: string, tz: string, from: Date, to: Date, count: number): { times: Date[]; earlier: Date | null } {
  for (let window = 60_000; ; window *= 8) {
    const start = new Date(Math.max(from.getTime(), to.getTime() - window));
    const found = firesForward(expr, tz, start, to).filter((t) => t > from);
    if (found.length > count) return { times: found.slice(-count), earlier: found[found.length - count - 1] ?? null };
    if (start.getTime() === from.getTime()) return { times: found, earlier: null };
  }
}

/**
 * The latest fire time at or before `at`, in `timeZone` (undefined when there is none in the last
 * ten years): the fire a scheduler that was not running at that time missed.
 */
export function latestFireTime(expression: string, timeZone: string, at: Date, options: ScheduleOptions = {}): Date | undefined {
  const expr = normalizeSchedule(expression, options);
  const tenYears = new Date(at.getTime() - 10 * 366 * 86_400_000);
  return latestFires(expr, normalizeTimeZone(timeZone), tenYears, at, 1).times[0];
}

/** The fire times a catch-up runs, and those it leaves out (their first and last, and how many). */
export interface MissedFires {
  /** The latest `limit` fire times in (from, to], oldest first. */
  times: Date[];
  /** The earlier fire times of the range, not run; null when there are none. */
  leftOut: { first: Date; last: Date; count: number } | null;
}

/** How many left-out fire times are counted exactly; past this, `count` is this bound. */
const LEFT_OUT_COUNTED = 10_000;

/**
 * The fire times in (from, to] a catch-up creates runs for: the latest `limit` of them — the ones
 * next to now, as without catch-up the latest is the one run — and what that leaves out.
 */
export function missedFireTimes(expression: string, timeZone: string, from: Date, to: Date, limit: number, options: ScheduleOptions = {}): MissedFires {
  const expr = normalizeSchedule(expression, options);
  const tz = normalizeTimeZone(timeZone);
  const { times, earlier } = latestFires(expr, tz, from, to, limit);
  const oldestKept = times[0];
  if (oldestKept === undefined || earlier === null) return { times, leftOut: null };
  const it = CronExpressionParser.parse(expr, { tz, currentDate: from, endDate: earlier });
  let first: Date | undefined;
  let count = 0;
  while (count < LEFT_OUT_COUNTED && it.hasNext()) {
    const t = it.next().toDate();
    first ??= t;
    count++;
  }
  return { times, leftOut: { first: first ?? earlier, last: earlier, count } };
}
