import { useEffect, useState } from 'react';

/** What an action that leaves its page says on the next one (a deleted job's name on the jobs list). */
let pending: string | null = null;

/** Keeps a message for the next page to show once (QA round 56b F8: a delete went to the jobs list saying nothing). */
export function flash(message: string): void {
  pending = message;
}

/** The message the previous page left, once: read at the first render, then gone. */
export function useFlash(): string | null {
  const [message] = useState(() => pending);
  useEffect(() => {
    pending = null;
  }, []);
  return message;
}
