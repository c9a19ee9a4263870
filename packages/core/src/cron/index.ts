export { CRON_PRESETS, normalizeSchedule, normalizeTimeZone, nextFireTimes, fireTimesBetween, latestFireTime } from './schedule.ts';
export type { ScheduleOptions } from './schedule.ts';
