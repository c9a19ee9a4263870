/**
 * A real OpenID Connect provider for the sign-in tests: panva's `oidc-provider` in-process,
 * with its development login and consent pages (any login name is accepted), one public client
 * for the flow UI (authorization code, PKCE required, no secret), and JWT access tokens for the
 * API's audience through resource indicators (RFC 8707). The account `root` gets the role
 * `sluice:admin` in its access tokens.
 */
import { createServer, type Server } from 'node:http';
import Provider from 'oidc-provider';

export const ADMIN_ACCOUNT = 'root';

export interface TestOidcProvider {
  issuer: string;
  close(): Promise<void>;
}

export async function startOidcProvider(o: { port: number; clientId: string; redirectUri: string; audience: string }): Promise<TestOidcProvider> {
  const issuer = `http://127.0.0.1:${o.port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: o.clientId,
        token_endpoint_auth_method: 'none',
        redirect_uris: [o.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    pkce: { required: () => true },
    scopes: ['openid', 'profile', 'sluice:read', 'sluice:write'],
    claims: { openid: ['sub'], profile: ['name'] },
    cookies: { keys: ['ui-test-cookie-key-0123456789abcdef'] },
    ttl: { AccessToken: 3600, IdToken: 3600, Session: 3600, Grant: 3600, Interaction: 600, AuthorizationCode: 60 },
    findAccount(_ctx, id) {
      return { accountId: id, claims: () => ({ sub: id, name: `${id[0]?.toUpperCase() ?? ''}${id.slice(1)}` }) };
    },
    extraTokenClaims(_ctx, token) {
      return 'accountId' in token && token.accountId === ADMIN_ACCOUNT ? { roles: ['sluice:admin'] } : undefined;
    },
    features: {
      devInteractions: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => o.audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== o.audience) throw new Error(`unknown resource ${resource}`);
          return { scope: 'sluice:read sluice:write', audience: o.audience, accessTokenFormat: 'jwt', accessTokenTTL: 3600, jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
  });
  const server: Server = createServer(provider.callback());
  await new Promise<void>((resolve) => server.listen(o.port, '127.0.0.1', resolve));
  return {
    issuer,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
