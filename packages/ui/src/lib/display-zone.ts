import { useSyncExternalStore } from 'react';

/**
 * The time zone the pages' times are shown in: the browser's, or UTC (as Airflow's UI offers; the
 * API, the logs' text download and the runners' own logs are in UTC). Kept in the browser, per
 * viewer, across pages and reloads.
 */
export type DisplayZone = 'local' | 'UTC';

const STORAGE_KEY = 'sluice.display-zone';
const listeners = new Set<() => void>();

interface KeptSettings {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}
/**
 * The browser's localStorage; absent where the formatting runs outside a browser (its node tests).
 * Read inside a try: a browser that refuses storage (a sandboxed frame) throws on the read itself.
 */
const kept = (): KeptSettings | undefined => (globalThis as { localStorage?: KeptSettings }).localStorage;

function stored(): DisplayZone {
  try {
    return kept()?.getItem(STORAGE_KEY) === 'UTC' ? 'UTC' : 'local';
  } catch {
    return 'local'; // storage refused (a private window's settings): the browser's zone
  }
}

let zone: DisplayZone = stored();

export function displayZone(): DisplayZone {
  return zone;
}

export function setDisplayZone(next: DisplayZone): void {
  if (next === zone) return;
  zone = next;
  try {
    kept()?.setItem(STORAGE_KEY, next);
  } catch {
    // kept for this page only
  }
  for (const l of listeners) l();
}

/** `timeZone` for Intl's options: UTC, or undefined for the browser's own. */
export function intlTimeZone(): 'UTC' | undefined {
  return zone === 'UTC' ? 'UTC' : undefined;
}

/** The zone's name as the pages say it: "UTC", or the browser's (e.g. Europe/Paris). */
export function displayZoneName(): string {
  return zone === 'UTC' ? 'UTC' : Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** The zone now, re-rendering the component when the viewer switches it. */
export function useDisplayZone(): DisplayZone {
  return useSyncExternalStore(
    (onChange) => {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
    displayZone,
    displayZone,
  );
}
