/** Formatting for people: dates, durations, counts and sizes. */
import { displayZone, intlTimeZone } from './display-zone.ts';

/** A date to the second, its zone named, in the zone the viewer chose (the browser's, or UTC). */
function dateParts(): Intl.DateTimeFormatOptions {
  return { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short', timeZone: intlTimeZone() };
}

/** In the zone the viewer chose, named: a time read beside a schedule in the job's own zone must say which it is. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(undefined, dateParts());
}

/**
 * A run's logical date: as formatDate, with its milliseconds when it has any. A manual run's is the
 * trigger's instant, so runs triggered within one second read apart (QA round 28: four showed one
 * date); a schedule's fire times are whole seconds and read as before.
 */
export function formatLogicalDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, d.getMilliseconds() === 0 ? dateParts() : { ...dateParts(), fractionalSecondDigits: 3 });
}

/** A log line's time of day in the viewer's chosen zone, to the millisecond (its date and zone are in formatDate's title). */
export function formatLogTime(iso: string): string {
  const d = new Date(iso);
  const two = (n: number): string => String(n).padStart(2, '0');
  const utc = displayZone() === 'UTC';
  const [h, m, s] = utc ? [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()] : [d.getHours(), d.getMinutes(), d.getSeconds()];
  return `${two(h)}:${two(m)}:${two(s)}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  // Rounded once, to the unit shown, before it is split (QA round 43b F3: 179.6 s read "2m 60s", 59.97 s "60.0 s").
  if (Math.round(ms) < 1000) return `${Math.round(ms)} ms`;
  const tenths = Math.round(ms / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  const minutes = Math.round(ms / 60_000);
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

/** A task instance as the pages name it: its task, and its stream for a per-stream one (`load · users`). */
export function taskName(t: { task_id: string; stream: string | null }): string {
  return t.stream ? `${t.task_id} · ${t.stream}` : t.task_id;
}

/** Milliseconds from `start` to `end` (or to `now` while still going); null before it started. */
export function elapsed(start: string | null, end: string | null, now: number = Date.now()): number | null {
  if (!start) return null;
  // Never below 0: a page's clock ticks once a second, so a try that started since its last tick
  // would show "-785 ms" (QA round 28).
  return Math.max(0, (end ? Date.parse(end) : now) - Date.parse(start));
}

export function formatCount(n: number): string {
  return n.toLocaleString(undefined, { maximumFractionDigits: 1 });
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

const ESC = String.fromCharCode(27);
/** ANSI/VT100 control sequences (a connector's colours, `ESC[31m…ESC[0m`): meant for a terminal. */
const CSI = new RegExp(`${ESC}\\[[0-9;?]*[ -/]*[@-~]`, 'g');
/** Operating system commands (a hyperlink's `ESC]8;;url` markers, a window title), each ended by BEL or by ESC and a backslash. */
const OSC = new RegExp(`${ESC}\\][^${String.fromCharCode(7)}${ESC}]*(?:${String.fromCharCode(7)}|${ESC}\\\\)`, 'g');

/**
 * A log line's text as a terminal would leave it, for a page: control sequences go (colours, and
 * a hyperlink's markers, whose ESC characters a copy would take along), and of a text line a
 * carriage return rewrote (a progress bar's `10%`, then `100%`) the last state is kept. Its text
 * lines stay as many (the log's rows are sized by them).
 */
export function asOnTerminal(message: string): string {
  return message
    .replace(OSC, '')
    .replace(CSI, '')
    .split('\n')
    .map((line) => {
      const text = line.endsWith('\r') ? line.slice(0, -1) : line;
      return text.slice(text.lastIndexOf('\r') + 1);
    })
    .join('\n');
}
