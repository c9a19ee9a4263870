import { useEffect, useState, type ReactNode } from 'react';
import type { LiveStatus } from '../api/live.ts';

const TEXT: Record<LiveStatus, string> = {
  connecting: 'connecting…',
  live: 'live',
  stale: 'not updating: the server cannot read the state now',
  reconnecting: 'reconnecting…',
  gone: 'not available',
};

/** How long the page reconnects before it says that what it shows may be out of date (a reconnect after a dropped stream takes a second or two). */
const AWAY_SAID_AFTER_MS = 5_000;

/**
 * Whether the page is receiving live updates. Once it has been reconnecting for a while, it says
 * so plainly, as a warning: the states shown are the last it received (QA round 54b F6: a small grey
 * "reconnecting…" was the only sign while Sluice was stopped).
 */
export function LiveIndicator({ status }: { status: LiveStatus }): ReactNode {
  const [away, setAway] = useState(false);
  useEffect(() => {
    if (status !== 'reconnecting') {
      setAway(false);
      return;
    }
    const said = setTimeout(() => setAway(true), AWAY_SAID_AFTER_MS);
    return () => clearTimeout(said);
  }, [status]);
  return (
    <span className={`live live-${status}${away ? ' live-away' : ''}`} role="status" aria-live="polite" data-live={status}>
      <span className="dot" aria-hidden="true" />
      {away ? <span data-testid="live-away">Sluice does not answer: what is shown may be out of date. Reconnecting…</span> : TEXT[status]}
    </span>
  );
}
