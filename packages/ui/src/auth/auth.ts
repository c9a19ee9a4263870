import * as oauth from 'oauth4webapi';

/** What `GET /api/ui/config` says about signing in. */
export type AuthConfig =
  | { mode: 'dev' | 'none' }
  | { mode: 'oidc'; issuer: string; client_id: string; scope: string; audience: string | null };

export interface SignedInUser {
  subject: string;
  name: string | null;
}

interface StoredToken {
  access_token: string;
  expires_at: number;
  user: SignedInUser;
}

interface PendingSignIn {
  state: string;
  code_verifier: string;
  nonce: string;
  return_to: string;
}

const TOKEN_KEY = 'sluice.token';
const REFUSED_KEY = 'sluice.refused';
const PENDING_KEY = 'sluice.signin';
export const CALLBACK_PATH = '/auth/callback';

/** Plain http is allowed only for an issuer on this machine (development and tests). */
function httpOptions(issuer: URL): { [oauth.allowInsecureRequests]?: boolean } {
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(issuer.hostname);
  return issuer.protocol === 'http:' && loopback ? { [oauth.allowInsecureRequests]: true } : {};
}

async function discover(issuer: URL): Promise<oauth.AuthorizationServer> {
  const res = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...httpOptions(issuer) });
  return oauth.processDiscoveryResponse(issuer, res);
}

/**
 * How to ask for an access token meant for the API: an audience that is an absolute URI goes as
 * an RFC 8707 `resource`; any other goes as `audience` (the parameter Auth0 and others read;
 * issuers that do not know it ignore it and use their configured default).
 */
function audienceParams(audience: string | null): Record<string, string> {
  if (audience === null) return {};
  return URL.canParse(audience) ? { resource: audience } : { audience };
}

const redirectUri = (): string => `${window.location.origin}${CALLBACK_PATH}`;

/**
 * Browser sign-in with OpenID Connect: authorization code with PKCE (S256), a public client,
 * state and nonce checked. The access token stays in this tab's sessionStorage and goes to the
 * API as a bearer token; nothing is kept once the tab closes.
 */
export class Auth {
  constructor(readonly config: AuthConfig) {}

  get needsSignIn(): boolean {
    return this.config.mode === 'oidc' && this.#token() === null;
  }

  get user(): SignedInUser | null {
    if (this.config.mode !== 'oidc') return null;
    return this.#token()?.user ?? null;
  }

  /** Headers for an API request: the bearer token in OIDC mode, nothing otherwise (dev mode rides on the session cookie). */
  headers(): Record<string, string> {
    const t = this.#token();
    return t === null ? {} : { Authorization: `Bearer ${t.access_token}` };
  }

  #token(): StoredToken | null {
    const raw = sessionStorage.getItem(TOKEN_KEY);
    if (raw === null) return null;
    const t = JSON.parse(raw) as StoredToken;
    if (t.expires_at <= Date.now()) {
      sessionStorage.removeItem(TOKEN_KEY);
      return null;
    }
    return t;
  }

  /** Forgets the token; `refusal`, the API's reason for refusing it, is shown by the sign-in page until the next sign-in. */
  signOut(refusal?: string): void {
    sessionStorage.removeItem(TOKEN_KEY);
    if (refusal !== undefined) sessionStorage.setItem(REFUSED_KEY, refusal);
  }

  /** The API's reason for refusing the last token, until the next sign-in (QA round 32b: the sign-in page looped without it). */
  get refusal(): string | null {
    return sessionStorage.getItem(REFUSED_KEY);
  }

  /** Sends the browser to the issuer's sign-in page; comes back to `returnTo`. */
  async signIn(returnTo: string): Promise<void> {
    if (this.config.mode !== 'oidc') return;
    sessionStorage.removeItem(REFUSED_KEY);
    const issuer = new URL(this.config.issuer);
    const as = await discover(issuer);
    if (as.authorization_endpoint === undefined) throw new Error(`${issuer.href} has no authorization endpoint`);
    const pending: PendingSignIn = {
      state: oauth.generateRandomState(),
      code_verifier: oauth.generateRandomCodeVerifier(),
      nonce: oauth.generateRandomNonce(),
      return_to: returnTo,
    };
    sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
    const url = new URL(as.authorization_endpoint);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', this.config.client_id);
    url.searchParams.set('redirect_uri', redirectUri());
    url.searchParams.set('scope', this.config.scope);
    url.searchParams.set('state', pending.state);
    url.searchParams.set('nonce', pending.nonce);
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(pending.code_verifier));
    url.searchParams.set('code_challenge_method', 'S256');
    for (const [k, v] of Object.entries(audienceParams(this.config.audience))) url.searchParams.set(k, v);
    window.location.assign(url.href);
  }

  /** Finishes a sign-in on the callback page; answers where to go next. */
  async completeSignIn(currentUrl: URL): Promise<string> {
    if (this.config.mode !== 'oidc') return '/jobs';
    const raw = sessionStorage.getItem(PENDING_KEY);
    if (raw === null) throw new Error('no sign-in was started in this tab; start again');
    sessionStorage.removeItem(PENDING_KEY);
    const pending = JSON.parse(raw) as PendingSignIn;
    const issuer = new URL(this.config.issuer);
    const as = await discover(issuer);
    const client: oauth.Client = { client_id: this.config.client_id };
    const params = oauth.validateAuthResponse(as, client, currentUrl, pending.state);
    const extra = { additionalParameters: audienceParams(this.config.audience) };
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      oauth.None(),
      params,
      redirectUri(),
      pending.code_verifier,
      { ...extra, ...httpOptions(issuer) },
    );
    const result = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: pending.nonce, requireIdToken: true });
    const claims = oauth.getValidatedIdTokenClaims(result);
    const name = claims?.['name'] ?? claims?.['preferred_username'] ?? claims?.['email'];
    const token: StoredToken = {
      access_token: result.access_token,
      expires_at: Date.now() + (result.expires_in ?? 300) * 1000 - 5000,
      user: { subject: claims?.sub ?? 'unknown', name: typeof name === 'string' ? name : null },
    };
    sessionStorage.setItem(TOKEN_KEY, JSON.stringify(token));
    return pending.return_to;
  }
}
