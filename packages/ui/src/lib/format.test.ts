import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setDisplayZone } from './display-zone.ts';
import { asOnTerminal, elapsed, formatDate, formatDuration, formatLogicalDate, formatLogTime } from './format.ts';

test('elapsed: from start to end, or to now; never below 0, as for a try started since the page clock last ticked (QA round 28)', () => {
  assert.equal(elapsed(null, null), null);
  assert.equal(elapsed('2026-12-01T09:00:00.000Z', '2026-12-01T09:00:01.500Z'), 1500);
  assert.equal(elapsed('2026-12-01T09:00:00.000Z', null, Date.parse('2026-12-01T09:00:02.000Z')), 2000);
  // before: -785
  assert.equal(elapsed('2026-12-01T09:19:41.549Z', null, Date.parse('2026-12-01T09:19:40.764Z')), 0);
});

test("formatLogicalDate: a manual run's instant to the millisecond, so runs triggered in one second read apart (QA round 28); a fire on a whole second as formatDate", () => {
  const a = formatLogicalDate('2026-12-01T09:21:49.120Z');
  const b = formatLogicalDate('2026-12-01T09:21:49.857Z');
  assert.notEqual(a, b);
  assert.match(a, /49[.,]120/);
  assert.equal(formatLogicalDate('2026-12-01T09:21:00.000Z'), formatDate('2026-12-01T09:21:00.000Z'));
  assert.equal(formatLogicalDate(null), '—');
});

test('asOnTerminal: colours and hyperlink markers go; a line a carriage return rewrote keeps its last state; text lines stay as many', () => {
  const esc = String.fromCharCode(27);
  assert.equal(asOnTerminal(`${esc}[31mred${esc}[0m plain`), 'red plain');
  assert.equal(asOnTerminal(`see ${esc}]8;;http://example.com${esc}\\the docs${esc}]8;;${esc}\\ now`), 'see the docs now');
  assert.equal(asOnTerminal(`${esc}]0;a title${String.fromCharCode(7)}text`), 'text');
  assert.equal(asOnTerminal('progress 10%\rprogress 100%'), 'progress 100%');
  assert.equal(asOnTerminal('windows line\r\nnext\r'), 'windows line\nnext');
  assert.equal(asOnTerminal('a\rb\nc\rd\ne'), 'b\nd\ne');
});

test('formatDuration: rounded once, to the unit shown, so a carry moves up (QA round 43b F3: "2m 60s", "60.0 s")', () => {
  assert.deepEqual(
    [999.4, 999.6, 1_000, 59_940, 59_960, 119_600, 179_600, 3_599_600, 3_600_000, 7_199_000, 5_400_000].map(formatDuration),
    ['999 ms', '1.0 s', '1.0 s', '59.9 s', '1m 0s', '2m 0s', '3m 0s', '1h 0m', '1h 0m', '2h 0m', '1h 30m'],
  );
  assert.equal(formatDuration(null), '—');
});

test("the viewer's choice of zone: times in the browser's zone, or in UTC as the API gives them (QA round 54b)", () => {
  const zone = process.env.TZ;
  process.env.TZ = 'Asia/Kolkata'; // UTC+5:30, so the two read apart
  try {
    const at = '2026-12-01T09:21:07.045Z';
    assert.equal(formatLogTime(at), '14:51:07.045');
    assert.match(formatDate(at), /02:51:07 PM GMT\+5:30|14:51:07 GMT\+5:30/);
    setDisplayZone('UTC');
    assert.equal(formatLogTime(at), '09:21:07.045');
    assert.match(formatDate(at), /09:21:07 AM UTC|09:21:07 UTC/);
    assert.match(formatLogicalDate(at), /09:21:07[.,]045 AM UTC|09:21:07[.,]045 UTC/);
  } finally {
    setDisplayZone('local');
    if (zone === undefined) delete process.env.TZ;
    else process.env.TZ = zone;
  }
});
