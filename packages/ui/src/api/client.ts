import type { Auth } from '../auth/auth.ts';

/** An API answer other than 2xx, with the API's `error` text. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** No answer from the API at all: it stopped, is restarting, or is out of reach. */
export class ApiUnreachableError extends Error {}

/** Whether a request failed for an outage (no answer, or the API's 503: PostgreSQL or Redis away), not for what it asked. */
export function isOutage(err: unknown): boolean {
  return err instanceof ApiUnreachableError || (err instanceof ApiError && err.status === 503);
}

/** Calls the JSON API with the viewer's credentials; a 401 sends the viewer to sign in, with the API's reason. */
export class ApiClient {
  constructor(
    readonly auth: Auth,
    private readonly onUnauthorized: () => void,
  ) {}

  /** `extra`: request headers of the call's own (an If-Match). */
  async request<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown, extra: Record<string, string> = {}): Promise<T> {
    return (await this.exchange<T>(method, path, body, extra)).body;
  }

  /** As `request`, with the answer's headers (a save's `Sluice-Unchecked`). */
  async exchange<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown, extra: Record<string, string> = {}): Promise<{ body: T; headers: Headers }> {
    const res = await this.#send(method, path, body, { Accept: 'application/json', ...extra });
    return { body: readBody(await res.text()) as T, headers: res.headers };
  }

  /**
   * Saves a text answer (a task's whole log) as a file, named as the API's Content-Disposition
   * says. Read with the viewer's credentials, which a plain link cannot send.
   */
  async download(path: string, fallbackName: string): Promise<void> {
    const res = await this.#send('GET', path, undefined, { Accept: 'text/plain' });
    let blob: Blob;
    try {
      blob = await res.blob();
    } catch (err) {
      // The API cuts an answer whose read failed midway: a part of a file is not saved as the whole.
      throw new ApiUnreachableError(`the download was cut short (Sluice's API stopped or lost PostgreSQL midway): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = downloadName(res.headers.get('Content-Disposition')) ?? fallbackName;
    a.click();
    // Revoked once the browser has taken the file; revoking at once can cancel the save in some browsers.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  /** Sends a request; an answer other than 2xx throws an ApiError with the API's `error` text (a 401 signs the viewer out). */
  async #send(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body: unknown, extra: Record<string, string>): Promise<Response> {
    const headers: Record<string, string> = { ...extra, ...this.auth.headers() };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers,
        credentials: 'same-origin',
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      // The browser's own words ("Failed to fetch", "NetworkError when attempting to fetch
      // resource") say nothing of what failed (QA round 36b F3).
      throw new ApiUnreachableError(`Sluice's API did not answer (stopped, restarting, or out of reach): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (res.ok) return res;
    const data = readBody(await res.text());
    const err = (data as { error?: unknown } | null)?.error;
    const said = typeof err === 'string' && err !== '' ? err : `${method} ${path} answered ${res.status}`;
    if (res.status === 401) {
      this.auth.signOut(said);
      this.onUnauthorized();
    }
    throw new ApiError(res.status, said);
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }
}

/** An answer's JSON; a text that is not JSON (a proxy's page) as its `error`. */
function readBody(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return { error: text };
  }
}

/** The file name a Content-Disposition gives: its exact `filename*` (RFC 8187) when it has one, else its `filename`. */
function downloadName(disposition: string | null): string | null {
  if (disposition === null) return null;
  const exact = /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1];
  if (exact !== undefined) {
    try {
      return decodeURIComponent(exact);
    } catch {
      // A malformed escape: the plain name below.
    }
  }
  return /filename="([^"]*)"/i.exec(disposition)?.[1] ?? null;
}
