/**
 * A real OAuth 2.0 / OIDC issuer for tests: a local HTTP server publishing a discovery document
 * and a JWKS, and signing tokens with its private keys (jose).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

export interface TestIssuer {
  issuer: string;
  audience: string;
  /** Signs a token; `claims` override the defaults (sub, scope, exp in 5 minutes, iat now): a `sub` that is no string is signed as it is. */
  sign(
    claims?: Record<string, unknown>,
    o?: { alg?: 'RS256' | 'ES256'; kid?: string; expiresIn?: string | number; issuer?: string; audience?: string; issuedAt?: number },
  ): Promise<string>;
  /** The RSA public key as a JWK (for HS/RS confusion tests). */
  rsaPublicJwk: JWK;
  /** How many times the discovery document was read. */
  discoveryHits(): number;
  close(): Promise<void>;
}

export async function startTestIssuer(audience = 'sluice-api', port = 0): Promise<TestIssuer> {
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const ec = await generateKeyPair('ES256', { extractable: true });
  const rsaPublicJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
  const ecJwk = { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' };
  let hits = 0;
  let issuer = '';
  const server: Server = createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      hits++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks`, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token` }));
    } else if (req.url === '/jwks') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [rsaPublicJwk, ecJwk] }));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const keys: Record<'RS256' | 'ES256', { key: CryptoKey; kid: string }> = {
    RS256: { key: rsa.privateKey, kid: 'rsa-1' },
    ES256: { key: ec.privateKey, kid: 'ec-1' },
  };
  return {
    issuer,
    audience,
    rsaPublicJwk,
    async sign(claims = {}, o = {}) {
      const alg = o.alg ?? 'RS256';
      const { key, kid } = keys[alg];
      const jwt = new SignJWT({ scope: 'sluice:write', ...claims })
        .setProtectedHeader({ alg, kid: o.kid ?? kid, typ: 'JWT' })
        .setIssuer(o.issuer ?? issuer)
        .setAudience(o.audience ?? audience)
        .setIssuedAt(o.issuedAt)
        .setExpirationTime(o.expiresIn ?? '5m');
      if (claims['sub'] === undefined) jwt.setSubject('alice');
      return jwt.sign(key);
    },
    discoveryHits: () => hits,
    close: () =>
      new Promise((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
