import cronstrue from 'cronstrue';
import { CronExpressionParser } from 'cron-parser';

const PRESETS: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

/** A cron schedule in words, e.g. "At 02:00 AM (UTC)"; "On demand only" without one. */
export function scheduleInWords(schedule: string | null | undefined, timezone = 'UTC'): string {
  if (!schedule) return 'On demand only';
  const expr = PRESETS[schedule] ?? schedule;
  try {
    return `${cronstrue.toString(expr, { use24HourTimeFormat: true, verbose: false })} (${timezone})`;
  } catch {
    return schedule;
  }
}

/** The next time the schedule fires after now, or null (no schedule, paused, or not parseable). */
export function nextFire(schedule: string | null | undefined, timezone = 'UTC', paused = false): Date | null {
  if (!schedule || paused) return null;
  try {
    return CronExpressionParser.parse(PRESETS[schedule] ?? schedule, { tz: timezone, currentDate: new Date() }).next().toDate();
  } catch {
    return null;
  }
}
