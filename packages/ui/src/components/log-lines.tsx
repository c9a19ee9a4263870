import { memo, useCallback, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { flushSync } from 'react-dom';
import type { LogLine } from '../api/types.ts';
import { useDisplayZone } from '../lib/display-zone.ts';
import { asOnTerminal, formatDate, formatLogTime } from '../lib/format.ts';
import { layOutLines, linesBetween, lineAt, textLines } from '../lib/log-window.ts';

/**
 * One text line's height in px (the lines' CSS line-height is set from it, so the two agree).
 * Lines are drawn unwrapped (white-space: pre) and the log scrolls sideways: a log is read as
 * columns (time, level, message) like a terminal's, a wrapped line's height would depend on the
 * window's width (a phone's, a resize) and have to be measured drawn, and with heights known in
 * advance the list places every line exactly, so "Show earlier" keeps the reader's place to the px.
 */
const ROW_PX = 18;
/** How far beyond the visible part lines are drawn, so a scroll shows drawn lines before the next frame draws more. */
const OVERSCAN_PX = 20 * ROW_PX;
/** The time column's characters (HH:MM:SS.mmm) and the level column's and gaps' width, before a message. */
const PREFIX_WIDTH = 'calc(12ch + 3.5em + 20px)';

/** Where the reader is: the line at the top of the visible part (its place in the try's log), and how far down it the view starts. */
interface View {
  anchor: number;
  within: number;
  height: number;
}

/**
 * A try's log lines in a scrolling `role=log` box that draws only the lines in or near view, with
 * the rest's height kept as space (QA: 40,000 lines made each "Show earlier" take 2–4 s, the
 * browser laying out every line). The lines' place is kept when lines above them change: a page
 * of earlier lines, or `head` (above the lines, inside the box) changing height. While `follow`
 * is on, new lines keep the end in view, unless the reader has scrolled up from it. The box takes
 * focus: arrow keys, Page Up/Down, Home and End scroll it, and the lines reached are drawn as it goes.
 * Its height is the lines' (18 px each): Chromium's tallest box, 2^25 px, holds 1.8 million.
 *
 * Lines not drawn are not in the page: the browser's find (Ctrl+F), a screen reader's browse mode
 * and a selection to copy reach only the drawn ones, as in other tools' log views; the page's
 * Download gives the whole try to search. Lines drawn as the reader scrolls are added inside the log region, which a
 * screen reader may read out as new; silencing that region would silence the live tail too.
 */
export function LogLines({
  lines,
  first,
  follow,
  label,
  head,
}: {
  lines: readonly LogLine[];
  /** The place of `lines[0]` in the try's log (lines before it are paged in by "Show earlier"). */
  first: number;
  follow: boolean;
  label: string;
  head: ReactNode;
}): ReactNode {
  const box = useRef<HTMLDivElement>(null);
  const linesBox = useRef<HTMLDivElement>(null);
  const bottom = useRef<HTMLDivElement>(null);
  const layout = useMemo(() => layOutLines(lines.map((l) => l.message), ROW_PX), [lines]);
  const [view, setView] = useState<View>({ anchor: 0, within: 0, height: 0 });
  /**
   * Where the box was scrolled to when the reader was last seen at the end, or null when they were
   * not: following keeps a reader there only if they have not scrolled since, even when their
   * scroll event has not come yet (new lines would otherwise pull a reader who just left).
   */
  const endTop = useRef<number | null>(0);
  /** What the last render laid out: to tell new lines, lines paged in above and a head that changed height. */
  const placed = useRef<{ lines: readonly LogLine[]; first: number; headPx: number; follow: boolean } | null>(null);

  const n = lines.length;
  const total = layout.tops[n] ?? 0;
  // The view's top, in px from the first line's top, from the line at the top when last seen.
  const anchorIndex = Math.min(Math.max(view.anchor - first, 0), n);
  const viewTop = (layout.tops[anchorIndex] ?? 0) + view.within;
  const drawn = linesBetween(layout.tops, viewTop - OVERSCAN_PX, viewTop + view.height + OVERSCAN_PX);
  const drawnTop = layout.tops[drawn.first] ?? 0;

  /** Reads where the box is scrolled to into the view (after the reader's scroll, a resize, or one made here). */
  const readScroll = useCallback((): void => {
    const el = box.current;
    const at = linesBox.current;
    if (el === null || at === null) return;
    endTop.current = el.scrollHeight - el.scrollTop - el.clientHeight <= ROW_PX ? el.scrollTop : null;
    const y = el.scrollTop - at.offsetTop;
    const i = lineAt(layout.tops, y);
    const next: View = { anchor: first + i, within: y - (layout.tops[i] ?? 0), height: el.clientHeight };
    setView((cur) => (cur.anchor === next.anchor && cur.within === next.within && cur.height === next.height ? cur : next));
  }, [layout, first]);

  // The lines a scroll brings into view are drawn before the frame it shows is painted: React
  // would otherwise draw them in a later task, and a fast scroll (a scrollbar dragged over a long
  // log, 1,400 px of it per px of the bar) showed frames with no line in view (QA round 36a F2).
  const drawScrolled = useCallback((): void => flushSync(readScroll), [readScroll]);

  // Following: new lines keep the end in view while the reader is at it; turning follow on goes there.
  // Otherwise lines paged in above, or the head's height changing, would move the lines in view:
  // the line at the top is put back where the reader saw it (the browser's own scroll anchoring is
  // off for the box, so it does not move it a second time).
  useLayoutEffect(() => {
    const el = box.current;
    const at = linesBox.current;
    if (el === null || at === null) return;
    const headPx = at.offsetTop;
    const was = placed.current;
    const atEnd = endTop.current !== null && Math.abs(el.scrollTop - endTop.current) < 1;
    if (follow && (was === null || !was.follow || (atEnd && was.lines !== lines))) {
      bottom.current?.scrollIntoView({ block: 'end' });
      // The lines at the end are drawn before this frame is painted, not after the scroll event.
      readScroll();
    } else if (was !== null && was.lines.length > 0 && (was.first !== first || was.headPx !== headPx)) {
      el.scrollTop = headPx + viewTop;
    }
    placed.current = { lines, first, headPx, follow };
  });

  useLayoutEffect(() => {
    const el = box.current;
    if (el === null) return;
    readScroll();
    const resized = new ResizeObserver(readScroll);
    resized.observe(el);
    return () => resized.disconnect();
  }, [readScroll]);

  return (
    <div className="log" role="log" aria-label={label} tabIndex={0} data-testid="task-log" ref={box} onScroll={drawScrolled}>
      {head}
      <div
        className="log-lines"
        ref={linesBox}
        style={{ height: total, lineHeight: `${ROW_PX}px`, minWidth: n === 0 ? undefined : `calc(${PREFIX_WIDTH} + ${layout.widest}ch)` }}
      >
        <div style={{ transform: `translateY(${drawnTop}px)` }}>
          {/* Keyed by the line's place in the try's log: a line that stays in view stays as drawn
              when earlier lines are paged in (QA round 34a: each "Show earlier" redrew every line). */}
          {lines.slice(drawn.first, drawn.end).map((l, i) => (
            <LogRow key={first + drawn.first + i} line={l} />
          ))}
        </div>
      </div>
      <div ref={bottom} />
    </div>
  );
}

/** One line of the log; drawn once, not again when lines are added before or after it (again when the viewer switches the time zone). */
const LogRow = memo(function LogRow({ line }: { line: LogLine }): ReactNode {
  useDisplayZone();
  return (
    <div className={`log-line level-${line.level}`} style={{ height: textLines(line.message) * ROW_PX }}>
      <span className="ts" title={formatDate(line.ts)}>
        {formatLogTime(line.ts)}
      </span>
      <span className="lvl">{line.level}</span>
      <span className="msg">{asOnTerminal(line.message)}</span>
    </div>
  );
});
