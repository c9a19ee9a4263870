import { Fragment, useCallback, useEffect, useRef, useState, type ButtonHTMLAttributes, type ReactNode } from 'react';
import { isOutage } from '../api/client.ts';
import type { LiveStatus } from '../api/live.ts';
import { Link } from '../router.tsx';
import { formatDate } from '../lib/format.ts';
import type { LiveRedis, LiveScheduler } from '../shared/events.ts';

export interface Crumb {
  label: ReactNode;
  /** Where the crumb leads; the page's own crumb (the last) has none. */
  to?: string;
}

/** Where a page sits: links to the pages above it, then its own name, separated by " / ". */
export function Crumbs({ trail }: { trail: readonly (Crumb | null)[] }): ReactNode {
  const shown = trail.filter((c): c is Crumb => c !== null);
  return (
    <nav className="crumbs" aria-label="Breadcrumb">
      {shown.map((c, i) => (
        <Fragment key={i}>
          {i > 0 ? ' / ' : null}
          {/* Each crumb isolated: a name's bidi controls or right-to-left letters cannot reorder the crumbs after it (QA round 50b D3). */}
          {c.to !== undefined ? <Link to={c.to}><bdi>{c.label}</bdi></Link> : <bdi>{c.label}</bdi>}
        </Fragment>
      ))}
    </nav>
  );
}

/** A page's answer when what it shows does not exist, or is not the viewer's to see. */
export function NotFound({ what, id }: { what: 'job' | 'run'; id: string }): ReactNode {
  return (
    <main id="main" tabIndex={-1}>
      <h1>{what === 'job' ? 'Job' : 'Run'} not found</h1>
      <p role="alert">
        There is no {what} <code>{id}</code> that you may see
        {/* QA round 42a F4: a run the history retention removed read as a permission problem alone. */}
        {what === 'run' ? ' (a run older than the run-history retention, when one is set, is removed with its tasks and logs)' : ''}.{' '}
        <Link to="/jobs">See your jobs</Link>.
      </p>
    </main>
  );
}

/** What an action said: a notice (read out politely) and an error (read out at once), each when there is one. */
/**
 * A page's action error. One that an outage caused (no answer, or a 503) is said again once the
 * page is live after it: Sluice answers again, and the action can be tried again (QA round 36b F3:
 * "Pause failed: …" stayed as it was, long after the page was live again).
 */
export function useActionError(status: LiveStatus): { error: string | null; fail(what: string, err: unknown): void; clear(): void } {
  const [error, setError] = useState<{ text: string; outage: boolean } | null>(null);
  const seen = useRef(status);
  useEffect(() => {
    const was = seen.current;
    seen.current = status;
    if (status === 'live' && was !== 'live') setError((e) => (e?.outage === true ? { text: `${e.text}. Sluice answers again: try it again.`, outage: false } : e));
  }, [status]);
  return {
    error: error?.text ?? null,
    fail: useCallback((what: string, err: unknown) => setError({ text: `${what} failed: ${err instanceof Error ? err.message : String(err)}`, outage: isOutage(err) }), []),
    clear: useCallback(() => setError(null), []),
  };
}

export function ActionStatus({ notice = null, error }: { notice?: ReactNode; error: ReactNode }): ReactNode {
  return (
    <>
      {/* The region is there before its words: one added with them is read out unreliably (QA round 56b F3). */}
      <div role="status">{notice !== null ? <p className="notice">{notice}</p> : null}</div>
      {error !== null ? <p role="alert" className="error">{error}</p> : null}
    </>
  );
}

/**
 * Said when no scheduler process is running (none swept for 30 s): schedules do not fire then, though
 * the page's next fire still reads as if they would (QA round 27), as Airflow's banner says.
 */
export function SchedulerWarning({ scheduler, redis }: { scheduler: LiveScheduler | null; redis: LiveRedis | null }): ReactNode {
  // A scheduler waits for Redis, and does not beat meanwhile: the Redis warning says why nothing
  // fires (QA round 30: both showed, and this one said manual runs still run).
  if (scheduler === null || scheduler.alive || redis?.reachable === false) return null;
  return (
    <p className="warning" role="status" data-testid="no-scheduler">
      No scheduler is running{scheduler.last_seen_at !== null ? ` (one was last seen ${formatDate(scheduler.last_seen_at)})` : ''}: scheduled runs do not
      start until one does. Runs triggered by hand still run.
    </p>
  );
}

/**
 * Said while the API cannot reach Redis: no task is handed to a runner and no schedule fires then,
 * so a queued run seems merely slow (QA round 28). PostgreSQL keeps the runs; they go on once Redis
 * is back.
 */
export function RedisWarning({ redis }: { redis: LiveRedis | null }): ReactNode {
  if (redis === null || redis.reachable) return null;
  return (
    <p className="warning" role="status" data-testid="no-redis">
      Redis is unreachable: queued tasks do not start and schedules do not fire until it is back. Tries already running go on,
      and nothing is lost: runs wait in PostgreSQL and go on once Redis is back.
    </p>
  );
}

/**
 * An action's button while an action is under way (`busy`): marked `aria-disabled` and ignoring
 * presses, instead of `disabled`, so that it keeps the keyboard's place (QA round 35c F8: a
 * disabled button dropped focus to the page, and a quick Shift+Tab, Enter then followed the
 * breadcrumb off the page). Screen readers still announce it as unavailable.
 */
export function ActionButton({ busy, onClick, ...rest }: Omit<ButtonHTMLAttributes<HTMLButtonElement>, 'disabled' | 'type'> & { busy: boolean }): ReactNode {
  return <button type="button" {...rest} aria-disabled={busy} onClick={busy ? undefined : onClick} />;
}

/** Whether the keyboard's place is lost: on nothing, or on a control that cannot hold it (disabled, in a closed dialog). */
function focusDropped(): boolean {
  const el = document.activeElement;
  return el === null || el === document.body || el.closest('dialog:not([open])') !== null || (el instanceof HTMLButtonElement && el.disabled);
}

/**
 * Keeps the keyboard's place across an action (WCAG 2.4.3; QA round 29: focus fell to the top of
 * the page after Trigger run, Pause, or a confirmed cancel or clear). Call the answer when an
 * action starts or a dialog opens: it remembers the focused control (not one inside a dialog, whose
 * opener was remembered when it opened). Once `busy` ends, when focus was dropped meanwhile (a
 * dialog closed, a control disabled while busy that is no ActionButton), that control has it
 * again — the page's heading when the control is gone, or when the action takes it away
 * (`toHeading`: a run's cancel). While focus is on the control, its going later moves focus to the
 * heading too.
 */
export function useKeepFocus(busy: boolean): (toHeading?: boolean) => void {
  const opener = useRef<{ el: HTMLElement; toHeading: boolean } | null>(null);
  useEffect(() => {
    if (busy || opener.current === null) return;
    const { el, toHeading } = opener.current;
    opener.current = null;
    const heading = (): void => document.querySelector<HTMLElement>('main h1')?.focus();
    if (toHeading && (focusDropped() || document.activeElement === el)) return heading();
    if (focusDropped()) {
      el.focus();
      if (document.activeElement !== el) return heading();
    }
    // Focus the user moved elsewhere meanwhile stays there.
    if (document.activeElement !== el) return;
    // Kept or given back (an ActionButton keeps it while busy), the control is still watched:
    // the live feed may take the control away next (a clear's button goes while its task runs
    // again; QA round 30): the heading then keeps the place. Not when another action has begun
    // meanwhile (its control may look dropped while busy, or a dialog it opened holds focus): that
    // action's own pass puts focus back on its control (CI: focus on Resume, then Trigger run
    // pressed on a loaded machine, before this check ran, left it on the heading).
    const gone = (): void => {
      setTimeout(() => {
        if (opener.current === null && focusDropped()) heading();
      }, 0);
    };
    el.addEventListener('focusout', gone, { once: true });
    const stop = setTimeout(() => el.removeEventListener('focusout', gone), 10_000);
    return () => {
      clearTimeout(stop);
      el.removeEventListener('focusout', gone);
    };
  }, [busy]);
  return useCallback((toHeading = false) => {
    const el = document.activeElement;
    if (el instanceof HTMLElement && el !== document.body && el.closest('dialog') === null) opener.current = { el, toHeading };
    else if (opener.current !== null) opener.current.toHeading ||= toHeading;
  }, []);
}

/** Right-to-left letters and bidi controls (a name's U+202E, say), which can reorder the text after them. */
const BIDI = /[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** A title's part that holds them, between Unicode's isolates (FSI … PDI), as <bdi> isolates a name on the page. */
function isolated(part: string): string {
  return BIDI.test(part) ? `\u2068${part}\u2069` : part;
}

/**
 * Names the page in the browser's title (tabs, history, a screen reader's first words), most
 * specific first: `parts` joined, then "Sluice" (QA round 28: every page was titled "Sluice").
 */
export function useDocumentTitle(...parts: (string | null | undefined)[]): void {
  const title = [...parts.filter((p): p is string => typeof p === 'string' && p !== '').map(isolated), 'Sluice'].join(' · ');
  useEffect(() => {
    document.title = title;
  }, [title]);
}

/**
 * Says politely, once, what `value` became while the page was open (QA round 56b F3: a watched
 * run's end, or a job's new status, was not announced). Its region is there from the first render,
 * empty until a change; the first value read is not said.
 */
export function ChangeAnnouncer<T extends string>({ value, say }: { value: T | null; say: (value: T) => string }): ReactNode {
  const previous = useRef<T | null>(null);
  const [text, setText] = useState('');
  const sayNow = useRef(say);
  sayNow.current = say;
  useEffect(() => {
    if (value === null) return;
    if (previous.current !== null && previous.current !== value) setText(sayNow.current(value));
    previous.current = value;
  }, [value]);
  return (
    <div className="visually-hidden" aria-live="polite" data-testid="announced">
      {text}
    </div>
  );
}

/**
 * JSON shown as it is, in a box that scrolls on its own (`pre.json`): a tab stop, so that the
 * keyboard can scroll it (WCAG 2.1.1; QA round 56b F12: at 320 px its lines ran past the box, out of
 * the keyboard's reach).
 */
export function JsonBlock({ children, testId }: { children: ReactNode; testId?: string }): ReactNode {
  return (
    <pre className="json" tabIndex={0} data-testid={testId}>
      {children}
    </pre>
  );
}
