import type { ReactNode } from 'react';
import type { LiveStatus } from '../api/live.ts';

const TEXT: Record<LiveStatus, string> = {
  connecting: 'connecting…',
  live: 'live',
  stale: 'not updating: the server cannot read the state now',
  reconnecting: 'reconnecting…',
  gone: 'not available',
};

/** Whether the page is receiving live updates. */
export function LiveIndicator({ status }: { status: LiveStatus }): ReactNode {
  return (
    <span className={`live live-${status}`} role="status" aria-live="polite" data-live={status}>
      <span className="dot" aria-hidden="true" />
      {TEXT[status]}
    </span>
  );
}
