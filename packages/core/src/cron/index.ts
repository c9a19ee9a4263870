export { CRON_PRESETS, normalizeSchedule, normalizeTimeZone, nextFireTimes, fireTimesBetween } from './schedule.ts';
export type { ScheduleOptions } from './schedule.ts';
