import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { UiPrincipal } from './principal.ts';

/** The cookie that lets the browser use the API in single-user development mode. */
export const DEV_SESSION_COOKIE = 'sluice_dev_session';

/** The principal a development-mode session stands for: the one user, an admin (as the dev token is). */
export const DEV_PRINCIPAL: UiPrincipal = { subject: 'dev', admin: true };

/**
 * Single-user development mode (`SLUICE_DEV_TOKEN` set, no `SLUICE_AUTH_ISSUER`): the browser
 * signs in with nothing, yet the page never holds the dev token. Serving the UI sets an
 * HttpOnly, SameSite=Strict cookie whose value is an HMAC of a fixed label keyed by the dev
 * token: it proves the browser loaded the page from this server, cannot be turned back into the
 * token, and changes when the token does. Requests carrying it count as the dev admin, only
 * when they come from this origin (SameSite=Strict keeps other sites' requests from carrying
 * it; a cross-origin `Origin` header is refused as well). Anyone who can load the page can use
 * the UI, as the mode intends: keep such a server on localhost.
 *
 * Both the cookie and the page are given only to requests that name this server as it is known —
 * a loopback name (`localhost`, `127.0.0.1`, `[::1]`) or the host of SLUICE_PUBLIC_URL — so that
 * a site whose name an attacker re-binds to 127.0.0.1 (DNS rebinding) is not "this origin".
 */
export class DevSession {
  readonly #value: string;
  readonly #hosts: ReadonlySet<string>;

  constructor(devToken: string, readonly publicUrl: string) {
    this.#value = createHmac('sha256', devToken).update('sluice-ui-dev-session/v1').digest('base64url');
    this.#hosts = new Set(['localhost', '127.0.0.1', '[::1]', new URL(publicUrl).hostname.toLowerCase()]);
  }

  /** Whether `req` names this server by a name it answers to in development mode (its Host header). */
  servesHost(req: Request): boolean {
    const host = req.headers.host;
    if (host === undefined) return false;
    try {
      return this.#hosts.has(new URL(`http://${host}`).hostname.toLowerCase());
    } catch {
      return false;
    }
  }

  /** Sets the session cookie on a page response (to a request `servesHost` accepts). */
  issue(res: Response): void {
    res.cookie(DEV_SESSION_COOKIE, this.#value, { httpOnly: true, sameSite: 'strict', path: '/', secure: res.req.secure });
  }

  /**
   * The dev principal when `req` carries a valid session cookie from this origin, else null
   * (the caller then tries other credentials). For the API's authentication middleware.
   */
  verify(req: Request): UiPrincipal | null {
    const got = readCookie(req.headers.cookie, DEV_SESSION_COOKIE);
    if (got === undefined || !this.servesHost(req)) return null;
    const a = Buffer.from(got);
    const b = Buffer.from(this.#value);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return null;
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== 'null') {
      let host: string;
      try {
        host = new URL(origin).host;
      } catch {
        return null;
      }
      if (host !== req.headers.host) return null;
    }
    return DEV_PRINCIPAL;
  }
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}
