import cronstrue from 'cronstrue';
import { CRON_PRESETS, nextFireTimes, withDaysOfWeekListed } from '@sluice/core/cron';

/** The five fields a schedule stands for (a preset expanded, in any case), or the schedule as given. */
function expanded(schedule: string): string {
  return CRON_PRESETS[schedule.trim().toLowerCase()] ?? schedule;
}

/** Neither `*` nor `?`: the field picks some values. */
const restricts = (field: string | undefined): boolean => field !== undefined && field !== '*' && field !== '?';

/**
 * A cron schedule in words, e.g. "At 02:00 (UTC)"; "On demand only" without one. A schedule that
 * names both days of the month and days of the week fires on either (cron's rule), which the words
 * say: "on day 1 of the month, and on Monday" alone reads as both at once.
 */
export function scheduleInWords(schedule: string | null | undefined, timezone = 'UTC'): string {
  if (!schedule) return 'On demand only';
  const expr = expanded(schedule);
  let words: string;
  try {
    words = cronstrue.toString(withDaysOfWeekListed(expr), { use24HourTimeFormat: true, verbose: false });
  } catch {
    return schedule;
  }
  const fields = expr.trim().split(/\s+/);
  const either = fields.length === 5 && restricts(fields[2]) && restricts(fields[4]);
  return `${words}${either ? ' (either day fires it: the day of the month or the day of the week)' : ''} (${timezone})`;
}

/** The next time the schedule fires after now, as the scheduler computes it, or null (no schedule, paused, or not valid). */
export function nextFire(schedule: string | null | undefined, timezone = 'UTC', paused = false): Date | null {
  if (!schedule || paused) return null;
  try {
    return nextFireTimes(schedule, timezone, new Date(), 1)[0] ?? null;
  } catch {
    return null;
  }
}
