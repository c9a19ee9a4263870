import { useEffect, useRef, useState } from 'react';
import type { Auth } from '../auth/auth.ts';
import { LIVE_HEARTBEAT_MS, LIVE_SILENCE_HEARTBEATS, type LiveEventType, type LiveEvents } from '../shared/events.ts';

export type LiveHandlers = { [K in LiveEventType]?: (data: LiveEvents[K]) => void };

export type LiveStatus = 'connecting' | 'live' | 'stale' | 'reconnecting' | 'gone';

/**
 * Follows `GET /api/events` as server-sent events. Read with fetch rather than EventSource so
 * the bearer token can go in a header (EventSource cannot send one); reconnects after a drop, and
 * after a silence longer than the server's heartbeats allow: a connection that died without a word
 * (a laptop that slept, a NAT that forgot it) would otherwise show "live" over states that no
 * longer change (QA round 50b O6).
 */
export function useLive(auth: Auth, query: Record<string, string | number | undefined> | null, handlers: LiveHandlers): LiveStatus {
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const handlersRef = useRef(handlers);
  handlersRef.current = handlers;
  const key = query === null ? null : JSON.stringify(query);

  useEffect(() => {
    if (key === null) return undefined;
    const q = JSON.parse(key) as Record<string, string | number | undefined>;
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined) params.set(k, String(v));
    const abort = new AbortController();
    let retryMs = 2000;
    let heartbeatMs = LIVE_HEARTBEAT_MS;
    let stopped = false;

    const dispatch = (type: string, data: string): void => {
      const h = (handlersRef.current as Record<string, ((d: unknown) => void) | undefined>)[type];
      if (type === 'gone') {
        stopped = true;
        setStatus('gone');
      }
      // The server cannot read what is watched for now: what shows may be out of date.
      if (type === 'stale') setStatus((JSON.parse(data) as { stale: boolean }).stale ? 'stale' : 'live');
      h?.(JSON.parse(data));
    };

    const run = async (): Promise<void> => {
      while (!stopped && !abort.signal.aborted) {
        // This connection's own abort: the page's (it closed), or the watch's (a silence too long).
        const connection = new AbortController();
        const close = (): void => connection.abort();
        abort.signal.addEventListener('abort', close);
        let silence: ReturnType<typeof setTimeout> | undefined;
        const heard = (): void => {
          clearTimeout(silence);
          silence = setTimeout(close, heartbeatMs * LIVE_SILENCE_HEARTBEATS);
        };
        heard();
        try {
          const res = await fetch(`/api/events?${params.toString()}`, {
            headers: { Accept: 'text/event-stream', ...auth.headers() },
            credentials: 'same-origin',
            signal: connection.signal,
          });
          if (res.status === 401 && auth.config.mode === 'oidc') {
            // The token expired or was refused: sign in again (the page shows the sign-in screen, with the API's reason).
            const said: unknown = await res.json().then((b: unknown) => (b as { error?: unknown } | null)?.error, () => undefined);
            auth.signOut(typeof said === 'string' && said !== '' ? said : undefined);
            window.location.reload();
            return;
          }
          // Nothing to watch (a malformed or unknown id, or not this user's): asking again will not help.
          if (res.status === 400 || res.status === 404 || res.status === 403) {
            setStatus('gone');
            return;
          }
          if (!res.ok || res.body === null) throw new Error(`events answered ${res.status}`);
          setStatus('live');
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            heard();
            buffer += value;
            let end: number;
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              const block = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              let type = 'message';
              const data: string[] = [];
              for (const line of block.split('\n')) {
                if (line.startsWith('event:')) type = line.slice(6).trim();
                else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
                else if (line.startsWith('retry:')) retryMs = Number(line.slice(6)) || retryMs;
                else if (line.startsWith('heartbeat:')) {
                  heartbeatMs = Number(line.slice(10)) || heartbeatMs;
                  heard();
                }
              }
              if (data.length > 0) dispatch(type, data.join('\n'));
            }
          }
        } catch {
          // A dropped stream, a refused connection or a silent one: try again after the server's retry delay.
          if (abort.signal.aborted) return;
        } finally {
          clearTimeout(silence);
          abort.signal.removeEventListener('abort', close);
        }
        if (stopped || abort.signal.aborted) return;
        setStatus('reconnecting');
        await new Promise((r) => setTimeout(r, retryMs));
      }
    };
    setStatus('connecting');
    void run();
    return () => {
      stopped = true;
      abort.abort();
    };
  }, [auth, key]);

  return status;
}
