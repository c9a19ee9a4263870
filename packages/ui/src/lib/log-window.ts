/**
 * The arithmetic of the task log's windowed list (components/log-lines.tsx): where each line sits
 * and which lines a stretch of the scroll area shows. Lines are drawn unwrapped in a monospace
 * font at a fixed line height, so a line's height is known without drawing it: its number of
 * text lines (a message may hold newlines: a stack trace) times that height.
 */

/** Where the lines sit: `tops[i]` is line i's top in px from the first line's, `tops[n]` their total height. */
export interface LineLayout {
  tops: Float64Array;
  /** The most characters on one text line of any message (sizes the sideways scroll before the line is drawn). */
  widest: number;
}

/** How many text lines a message takes when drawn unwrapped. */
export function textLines(message: string): number {
  let n = 1;
  for (let i = message.indexOf('\n'); i !== -1; i = message.indexOf('\n', i + 1)) n++;
  return n;
}

/** The layout of `messages` at `rowPx` per text line. */
export function layOutLines(messages: readonly string[], rowPx: number): LineLayout {
  const tops = new Float64Array(messages.length + 1);
  let widest = 0;
  messages.forEach((m, i) => {
    let from = 0;
    for (let nl = m.indexOf('\n'); nl !== -1; nl = m.indexOf('\n', from)) {
      widest = Math.max(widest, nl - from);
      from = nl + 1;
    }
    widest = Math.max(widest, m.length - from);
    tops[i + 1] = (tops[i] ?? 0) + textLines(m) * rowPx;
  });
  return { tops, widest };
}

/** The line whose span holds `y` (px from the first line's top), kept within the lines; 0 when there are none. */
export function lineAt(tops: Float64Array, y: number): number {
  const n = tops.length - 1;
  if (n <= 0) return 0;
  // The last line whose top is at or above y.
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((tops[mid] ?? 0) <= y) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The lines `[first, end)` that any of `[from, to)` falls on (px from the first line's top). */
export function linesBetween(tops: Float64Array, from: number, to: number): { first: number; end: number } {
  const n = tops.length - 1;
  if (n <= 0 || to <= 0 || from >= (tops[n] ?? 0)) return { first: 0, end: 0 };
  return { first: lineAt(tops, from), end: lineAt(tops, to - 0.001) + 1 };
}

/** A stretch of a try's log: `lines[i]` is the try's line `first + i`. */
export interface LogStretch<L> {
  first: number;
  lines: readonly L[];
}

/**
 * `stretch` with `incoming` (the try's lines from `offset` on) put in their places: lines the two
 * share are taken from `incoming` (a line's place in the try's log never changes), lines of
 * `stretch` that `incoming` does not reach are kept. So the live stream, whose first events come
 * in parts from the try's last lines, adds to what the logs route read instead of replacing it
 * with its first part (seen: 5,000 lines shown, then 2,000, 4,000, 5,000 again). When the two do
 * not meet (lines between them unread), `incoming` alone is the stretch.
 */
export function placeLines<L>(stretch: LogStretch<L> | null, offset: number, incoming: readonly L[]): LogStretch<L> {
  if (stretch === null) return { first: offset, lines: incoming };
  const end = stretch.first + stretch.lines.length;
  const incomingEnd = offset + incoming.length;
  if (offset > end || incomingEnd < stretch.first) return { first: offset, lines: incoming };
  const first = Math.min(offset, stretch.first);
  const before = stretch.lines.slice(0, Math.max(0, offset - stretch.first));
  const after = stretch.lines.slice(Math.max(0, incomingEnd - stretch.first));
  return { first, lines: [...before, ...incoming, ...after] };
}
