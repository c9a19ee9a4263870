import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../errors/index.ts';
import { canonicalSchedule, latestFireTime, missedFireTimes, nextFireTimes, normalizeSchedule, normalizeTimeZone } from './index.ts';

const iso = (ds: Date[]): string[] => ds.map((d) => d.toISOString());

describe('normalizeSchedule', () => {
  it('accepts five fields, names, ranges, steps and presets', () => {
    assert.equal(normalizeSchedule('*/15  9-17 * JAN-MAR mon-fri'), '*/15 9-17 * JAN-MAR mon-fri');
    assert.equal(normalizeSchedule('@daily'), '0 0 * * *');
    assert.equal(normalizeSchedule('@midnight'), '0 0 * * *', 'the usual alias of @daily');
    assert.equal(normalizeSchedule('@Hourly'), '0 * * * *');
    assert.equal(normalizeSchedule('0 0 * * 7'), '0 0 * * 7');
  });
  it('refuses wrong field counts, out-of-range values and unknown presets, naming the field', () => {
    assert.throws(() => normalizeSchedule('* * *'), /3 fields/);
    assert.throws(() => normalizeSchedule('60 * * * *'), /minute field: 60 is outside 0-59/);
    assert.throws(() => normalizeSchedule('0 24 * * *'), /hour field/);
    assert.throws(() => normalizeSchedule('0 0 0 * *'), /day of month field/);
    assert.throws(() => normalizeSchedule('0 0 * 13 *'), /month field/);
    assert.throws(() => normalizeSchedule('0 0 * * 8'), /day of week field/);
    assert.throws(() => normalizeSchedule('5-1 * * * *'), /backwards/);
    assert.throws(() => normalizeSchedule('*/0 * * * *'), /step 0/);
    assert.throws(() => normalizeSchedule('*/61 * * * *'), /minute field: step 61 in "\*\/61" is larger than the field's range 0-59/);
    assert.throws(() => normalizeSchedule('0 */24 * * *'), /hour field: step 24/);
    assert.doesNotThrow(() => normalizeSchedule('*/59 */23 */30 */11 */7'));
    assert.throws(() => normalizeSchedule('@fortnightly'), /unknown preset/);
    assert.throws(() => normalizeSchedule('x * * * *'), ValidationError);
  });
  it('refuses expressions whose fields are valid but that match no date, which cron could not schedule', () => {
    for (const expr of ['0 0 30 2 *', '0 0 31 4 *', '0 0 31 2,4 *']) {
      assert.throws(() => normalizeSchedule(expr), (err: unknown) => err instanceof ValidationError && /matches no date that occurs/.test(err.message), expr);
    }
    // In the schedule's terms, not the parser's (QA round 31b F4: "(Invalid explicit day of month definition)").
    assert.throws(() => normalizeSchedule('0 0 31 2,4 *'), { message: 'schedule: "0 0 31 2,4 *" matches no date that occurs: no month it names (2,4) has the day 31' });
    // a date that occurs only in some years, or in some of the months named, is fine
    assert.equal(normalizeSchedule('0 0 29 2 *'), '0 0 29 2 *');
    assert.equal(normalizeSchedule('0 0 31 2-4 *'), '0 0 31 2-4 *');
    assert.equal(normalizeSchedule('0 0 30 2 1'), '0 0 30 2 1'); // day of month OR day of week, as in cron
  });
  it('takes a seconds field only when asked (tests)', () => {
    assert.throws(() => normalizeSchedule('*/2 * * * * *'), /6 fields/);
    assert.equal(normalizeSchedule('*/2 * * * * *', { allowSeconds: true }), '*/2 * * * * *');
  });
});

describe('canonicalSchedule', () => {
  it('stores a schedule trimmed, its fields one space apart, a preset in lower case', () => {
    // before (QA round 25): " 0  0 * * * " was stored as "0  0 * * *", another request to an idempotent create than "0 0 * * *"
    assert.equal(canonicalSchedule(' 0  0 *\t* * '), '0 0 * * *');
    assert.equal(canonicalSchedule(' @HOURLY '), '@hourly');
  });
});

describe('normalizeTimeZone', () => {
  it('canonicalises IANA names and refuses offsets and unknown zones', () => {
    assert.equal(normalizeTimeZone('UTC'), 'UTC');
    assert.equal(normalizeTimeZone('Europe/Berlin'), 'Europe/Berlin');
    assert.equal(normalizeTimeZone('europe/berlin'), 'Europe/Berlin', 'letter case is the zone\'s own');
    // Links are kept as the client named them (ICU answers Asia/Calcutta, Europe/Kiev, America/Panama).
    for (const name of ['Asia/Kolkata', 'Europe/Kyiv', 'EST', 'US/Eastern']) assert.equal(normalizeTimeZone(name), name);
    assert.throws(() => normalizeTimeZone('Mars/Olympus'), /not an IANA time zone/);
    assert.throws(() => normalizeTimeZone('+05:00'), ValidationError);
    assert.throws(() => normalizeTimeZone(''), ValidationError);
  });
});

describe('nextFireTimes across daylight saving', () => {
  it('fires a skipped local time once, just after the spring-forward gap', () => {
    // 2026-03-08: New York jumps from 02:00 EST to 03:00 EDT; 02:30 does not exist.
    assert.deepEqual(iso(nextFireTimes('30 2 * * *', 'America/New_York', new Date('2026-03-07T12:00:00Z'), 2)), [
      '2026-03-08T07:30:00.000Z', // 03:30 EDT
      '2026-03-09T06:30:00.000Z', // 02:30 EDT
    ]);
  });
  it('fires a repeated local time once on the fall-back day', () => {
    // 2026-11-01: 01:30 happens at 05:30Z (EDT) and 06:30Z (EST); one fire.
    assert.deepEqual(iso(nextFireTimes('30 1 * * *', 'America/New_York', new Date('2026-10-31T12:00:00Z'), 2)), [
      '2026-11-01T05:30:00.000Z',
      '2026-11-02T06:30:00.000Z',
    ]);
  });
  it('keeps hourly schedules hourly in real time through both changes', () => {
    assert.deepEqual(iso(nextFireTimes('0 * * * *', 'America/New_York', new Date('2026-11-01T04:30:00Z'), 3)), [
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T06:00:00.000Z',
      '2026-11-01T07:00:00.000Z',
    ]);
  });
  it('moves a daily midnight in Berlin by an hour of UTC after the change', () => {
    assert.deepEqual(iso(nextFireTimes('@daily', 'Europe/Berlin', new Date('2026-03-28T12:00:00Z'), 2)), [
      '2026-03-28T23:00:00.000Z',
      '2026-03-29T22:00:00.000Z',
    ]);
  });
  it('lists the missed fires a catch-up creates: the latest, bounded, and says which it leaves out', () => {
    const from = new Date('2026-01-01T00:00:00Z');
    const to = new Date('2026-01-01T05:00:00Z');
    const all = missedFireTimes('@hourly', 'UTC', from, to, 100);
    assert.deepEqual(iso(all.times), ['01', '02', '03', '04', '05'].map((h) => `2026-01-01T${h}:00:00.000Z`), '(from, to]');
    assert.equal(all.leftOut, null);
    const two = missedFireTimes('@hourly', 'UTC', from, to, 2);
    assert.deepEqual(iso(two.times), ['2026-01-01T04:00:00.000Z', '2026-01-01T05:00:00.000Z'], 'the ones next to now');
    assert.deepEqual(two.leftOut && { first: two.leftOut.first.toISOString(), last: two.leftOut.last.toISOString(), count: two.leftOut.count }, {
      first: '2026-01-01T01:00:00.000Z',
      last: '2026-01-01T03:00:00.000Z',
      count: 3,
    });
    assert.equal(missedFireTimes('@hourly', 'UTC', from, to, 5).leftOut, null, 'exactly the bound: nothing left out');
    assert.deepEqual(missedFireTimes('@hourly', 'UTC', to, to, 5), { times: [], leftOut: null });
    // More left out than are counted: the count is the bound, the range still exact.
    const many = missedFireTimes('* * * * * *', 'UTC', from, new Date('2026-01-02T00:00:00Z'), 3, { allowSeconds: true });
    assert.deepEqual(iso(many.times), ['2026-01-01T23:59:58.000Z', '2026-01-01T23:59:59.000Z', '2026-01-02T00:00:00.000Z']);
    assert.equal(many.leftOut?.first.toISOString(), '2026-01-01T00:00:01.000Z');
    assert.equal(many.leftOut?.last.toISOString(), '2026-01-01T23:59:57.000Z');
    assert.equal(many.leftOut?.count, 10_000);
  });
  it('finds fires on the days a spring-forward skips midnight or the fire time (zones whose clocks jump at 00:00)', () => {
    // Santiago's clocks jump from 00:00 to 01:00 on 2026-09-06: the daily midnight fire is at 01:00 (04:00 UTC) that day.
    assert.equal(latestFireTime('0 0 * * *', 'America/Santiago', new Date('2026-09-06T12:00:00Z'))?.toISOString(), '2026-09-06T04:00:00.000Z');
    assert.equal(latestFireTime('30 2 * * *', 'Europe/Berlin', new Date('2027-03-28T12:00:00Z'))?.toISOString(), '2027-03-28T01:30:00.000Z');
    for (const [zone, day] of [['America/Santiago', '2026-09-06'], ['America/Havana', '2027-03-14'], ['Asia/Beirut', '2027-03-28'], ['Africa/Cairo', '2027-04-30']] as const) {
      const daily = nextFireTimes('0 0 * * *', zone, new Date('2026-08-01T00:00:00Z'), 400);
      const local = daily.map((d) => new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(d));
      assert.ok(local.includes(day), `${zone}: a fire on ${day}`);
      assert.equal(new Set(local).size, local.length, `${zone}: one fire a day`);
      const noon = Date.parse(`${day}T12:00:00Z`);
      const missed = missedFireTimes('0 0 * * *', zone, new Date(noon - 3 * 86_400_000), new Date(noon + 3 * 86_400_000), 100);
      assert.equal(missed.times.length, 6, `${zone}: catch-up over the change finds each day's fire`);
    }
  });
  it('finds the latest fire at or before a time: the one a scheduler outage missed', () => {
    const at = (iso: string, expr = '*/15 * * * *', tz = 'UTC'): string | undefined => latestFireTime(expr, tz, new Date(iso))?.toISOString();
    assert.equal(at('2026-01-01T10:20:00Z'), '2026-01-01T10:15:00.000Z');
    assert.equal(at('2026-01-01T10:15:00Z'), '2026-01-01T10:15:00.000Z', 'a fire exactly at the time counts');
    // 06:00 in Berlin is 05:00 UTC in winter, 04:00 UTC in summer
    assert.equal(at('2026-01-10T04:59:00Z', '0 6 * * *', 'Europe/Berlin'), '2026-01-09T05:00:00.000Z');
    assert.equal(at('2026-07-10T04:30:00Z', '0 6 * * *', 'Europe/Berlin'), '2026-07-10T04:00:00.000Z');
    assert.equal(at('2026-03-29T03:00:00Z', '@daily', 'Europe/Berlin'), '2026-03-28T23:00:00.000Z', 'midnight before the spring-forward');
  });
});
