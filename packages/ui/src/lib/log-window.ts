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
