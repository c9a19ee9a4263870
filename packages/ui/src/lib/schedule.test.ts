import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextFireTimes } from '@sluice/core/cron';
import { nextFire, scheduleInWords } from './schedule.ts';

test('a preset in any case is shown in words and has a next fire (QA round 20)', () => {
  assert.equal(scheduleInWords('@HOURLY'), scheduleInWords('@hourly'));
  assert.match(scheduleInWords('@Daily', 'Europe/Berlin'), /^At 00:00 \(Europe\/Berlin\)$/);
  const next = nextFire('@HOURLY');
  assert.ok(next, 'an upper-case preset fires');
  assert.equal(next.getUTCMinutes(), 0);
  assert.equal(nextFire('@hourly', 'UTC', true), null, 'a paused job has no next fire');
  assert.equal(nextFire('not a cron'), null);
});

test('days of the month and of the week together are said to fire on either, as they do', () => {
  const words = scheduleInWords('0 9 1-7 * 1');
  assert.match(words, /either day fires it/);
  assert.doesNotMatch(scheduleInWords('0 9 * * 1'), /either/);
  assert.doesNotMatch(scheduleInWords('0 9 1-7 * *'), /either/);
  // Monday 30 November 2026: the next fire is Tuesday 1 December (a day of the month), not Monday 7.
  assert.equal(nextFireTimes('0 9 1-7 * 1', 'UTC', new Date('2026-11-30T10:00:00Z'), 1)[0]?.toISOString(), '2026-12-01T09:00:00.000Z');
});

test('a step over days of the week is said as the days it picks (QA round 25)', () => {
  // before: "every 2 days of the week, Sunday through Sunday".
  assert.equal(scheduleInWords('0 0 * * 0-7/2'), 'At 00:00, only on Sunday, Tuesday, Thursday, and Saturday (UTC)');
  assert.equal(scheduleInWords('0 0 * * MON-FRI/2'), 'At 00:00, only on Monday, Wednesday, and Friday (UTC)');
  assert.equal(scheduleInWords('0 0 * * 1-5'), 'At 00:00, Monday through Friday (UTC)');
});
