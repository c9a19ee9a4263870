export { CRON_PRESETS, canonicalSchedule, normalizeSchedule, normalizeTimeZone, nextFireTimes, missedFireTimes, latestFireTime, withDaysOfWeekListed, type MissedFires } from './schedule.ts';
export type { ScheduleOptions } from './schedule.ts';
