import { createHash, timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';
import { AuthError, ServiceUnavailableError, errorMessage } from '@sluice/core';
import { effectiveScopes, type Principal } from './principal.ts';

/**
 * Signature algorithms a token may use: asymmetric only. `none` and every HMAC algorithm are
 * refused, so a token "signed" with an issuer's public key as an HMAC secret never verifies.
 */
export const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

const CLOCK_TOLERANCE_S = 5;

const discoveryDocument = z.object({ issuer: z.string(), jwks_uri: z.url() });

export interface BearerAuthenticatorOptions {
  issuer: string | null;
  audience: string | null;
  devToken: string | null;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * Checks `Authorization: Bearer …`: the development token (when configured: an admin called
 * `dev`), else a JWT verified with `jose` against the issuer's JWKS, found through
 * `${issuer}/.well-known/openid-configuration`; issuer, audience, expiry (required) and the
 * algorithm allow-list are enforced. Failures are AuthErrors saying why (never echoing the token);
 * an issuer that cannot be reached is a ServiceUnavailableError.
 */
export class BearerAuthenticator {
  readonly #devDigest: Buffer | null;
  #jwks: Promise<ReturnType<typeof createRemoteJWKSet>> | null = null;

  constructor(private readonly options: BearerAuthenticatorOptions) {
    this.#devDigest = options.devToken === null ? null : digest(options.devToken);
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (authorization === undefined || authorization === '') throw new AuthError('missing bearer token (Authorization: Bearer <token>)');
    const m = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(authorization);
    if (!m || m[1] === undefined) throw new AuthError('the Authorization header must be "Bearer <token>"');
    const token = m[1];
    if (this.#devDigest !== null && timingSafeEqual(digest(token), this.#devDigest)) {
      return { subject: 'dev', admin: true, scopes: effectiveScopes([], true) };
    }
    if (this.options.issuer === null || this.options.audience === null) throw new AuthError('invalid token');
    const payload = await this.#verify(token, this.options.issuer, this.options.audience);
    return principalOf(payload);
  }

  async #verify(token: string, issuer: string, audience: string): Promise<JWTPayload> {
    // What can be refused without the issuer is refused first: a token that is not a JWT gets 401
    // even while the issuer is away.
    try {
      decodeProtectedHeader(token);
    } catch (err) {
      throw new AuthError('invalid token: not a JWT', { cause: err });
    }
    const jwks = await this.#keySet(issuer);
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer,
        audience,
        algorithms: [...ALLOWED_ALGORITHMS],
        requiredClaims: ['exp', 'sub'],
        clockTolerance: CLOCK_TOLERANCE_S,
      });
      // RFC 7519 makes sub a string, and jose leaves iat unchecked: a token issued in the future
      // is none of this issuer's clock (QA round 31c: both were accepted; a number 123 and "123" were one owner).
      if (typeof payload.sub !== 'string' || payload.sub === '') throw new AuthError('token claim sub is not acceptable (not a string)');
      // An owner id is stored and shown: control characters (a NUL PostgreSQL refuses: QA round 32b, a 500) are no one's.
      if (CONTROL_CHARACTERS.test(payload.sub)) throw new AuthError('token claim sub is not acceptable (control characters)');
      if (payload.iat !== undefined && payload.iat > Date.now() / 1000 + CLOCK_TOLERANCE_S) throw new AuthError('token claim iat is not acceptable (issued in the future)');
      return payload;
    } catch (err) {
      if (err instanceof AuthError) throw err;
      throw toAuthError(err, issuer);
    }
  }

  #keySet(issuer: string): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.#jwks === null) {
      const discovery = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
      this.#jwks = (async () => {
        let doc: z.output<typeof discoveryDocument>;
        try {
          const res = await fetch(discovery, { signal: AbortSignal.timeout(5000), headers: { accept: 'application/json' } });
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          doc = discoveryDocument.parse(await res.json());
        } catch (err) {
          throw new ServiceUnavailableError('OAuth issuer', discovery, `its OpenID discovery document could not be read (${errorMessage(err)})`, { cause: err });
        }
        if (doc.issuer !== issuer) {
          throw new ServiceUnavailableError('OAuth issuer', discovery, `the discovery document names issuer ${doc.issuer}, not ${issuer}`);
        }
        return createRemoteJWKSet(new URL(doc.jwks_uri), { timeoutDuration: 5000, cooldownDuration: 30_000 });
      })();
      // A failed discovery is retried on the next request.
      this.#jwks.catch(() => {
        this.#jwks = null;
      });
    }
    return this.#jwks;
  }
}

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

function toAuthError(err: unknown, issuer: string): Error {
  if (err instanceof joseErrors.JWTExpired) return new AuthError('token expired', { cause: err });
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    return new AuthError(`token claim ${err.claim} is not acceptable (${err.reason === 'missing' ? 'missing' : 'wrong value'})`, { cause: err });
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) {
    return new AuthError(`token algorithm not allowed (allowed: ${ALLOWED_ALGORITHMS.join(', ')})`, { cause: err });
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return new AuthError('token signature is invalid', { cause: err });
  if (err instanceof joseErrors.JWKSNoMatchingKey) return new AuthError("no key of the issuer's JWKS matches the token", { cause: err });
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) {
    return new ServiceUnavailableError('OAuth issuer', issuer, `its JWKS could not be read (${err.message})`, { cause: err });
  }
  if (err instanceof joseErrors.JOSEError) return new AuthError(`invalid token (${err.code})`, { cause: err });
  if (err instanceof TypeError) {
    return new ServiceUnavailableError('OAuth issuer', issuer, `its JWKS could not be fetched (${err.message})`, { cause: err });
  }
  return new AuthError('invalid token', { cause: err });
}

function principalOf(payload: JWTPayload): Principal {
  const granted: string[] = [];
  if (typeof payload['scope'] === 'string') granted.push(...payload['scope'].split(' ').filter(Boolean));
  const scp = payload['scp'];
  if (typeof scp === 'string') granted.push(...scp.split(' ').filter(Boolean));
  else if (Array.isArray(scp)) granted.push(...scp.filter((s): s is string => typeof s === 'string'));
  const roles = payload['roles'];
  const roleAdmin = Array.isArray(roles) && roles.includes('sluice:admin');
  // A valid token without Sluice scopes authenticates, and every route then answers 403.
  const scopes = effectiveScopes(granted, roleAdmin);
  const principal: Principal = { subject: String(payload.sub), admin: scopes.has('sluice:admin'), scopes };
  // `exp` is required by the verification; accepted up to the clock tolerance past it.
  if (typeof payload.exp === 'number') principal.expiresAt = (payload.exp + CLOCK_TOLERANCE_S) * 1000;
  return principal;
}
