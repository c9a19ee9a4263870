import { useCallback, useEffect, useRef, useState } from 'react';

/** How long a part of a page waits before it reads again what it could not read. */
const RETRY_MS = 5000;

/**
 * For a part of a page that reads once (and again when something changes): `attempt`, to put in
 * its read's dependencies, and `retryLater`, to call when the read failed — the part then reads
 * again after a while, until a read succeeds, instead of keeping the error of a server that was
 * away when the page opened (QA round 27).
 */
export function useRetryRead(): { attempt: number; retryLater: () => void } {
  const [attempt, setAttempt] = useState(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(
    () => () => {
      if (timer.current !== null) clearTimeout(timer.current);
    },
    [],
  );
  const retryLater = useCallback(() => {
    if (timer.current !== null) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      setAttempt((n) => n + 1);
    }, RETRY_MS);
  }, []);
  return { attempt, retryLater };
}
