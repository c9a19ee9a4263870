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
    const headers: Record<string, string> = { Accept: 'application/json', ...extra, ...this.auth.headers() };
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
    const text = await res.text();
    let data: unknown = null;
    if (text !== '') {
      try {
        data = JSON.parse(text);
      } catch {
        data = { error: text };
      }
    }
    if (!res.ok) {
      const err = (data as { error?: unknown } | null)?.error;
      const said = typeof err === 'string' && err !== '' ? err : `${method} ${path} answered ${res.status}`;
      if (res.status === 401) {
        this.auth.signOut(said);
        this.onUnauthorized();
      }
      throw new ApiError(res.status, said);
    }
    return { body: data as T, headers: res.headers };
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }
}
