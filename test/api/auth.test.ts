/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument -- answers are parsed JSON; the assertions check their shape */
/**
 * Bearer authentication against a real OIDC issuer (a local HTTP server publishing discovery and
 * JWKS, signing with jose): accepted tokens, and a refusal for each reason; scopes; dev mode.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SignJWT, generateKeyPair } from 'jose';
import { ingestBody, startApi, type ApiHarness } from './api-harness.ts';
import { startTestIssuer, type TestIssuer } from './test-issuer.ts';

let issuer: TestIssuer;
let api: ApiHarness;

before(async () => {
  issuer = await startTestIssuer();
  api = await startApi({ issuer: issuer.issuer, audience: issuer.audience });
});
after(async () => {
  await api.close();
  await issuer.close();
});

const b64url = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('accepted', () => {
  test('an RS256 token with sluice:write creates a job owned by its subject', async () => {
    const token = await issuer.sign({ sub: 'alice', scope: 'openid sluice:write' });
    const r = await api.request('POST', '/api/airbyte/ingest', { token, body: ingestBody() });
    assert.equal(r.status, 201, r.text);
    const job = await api.request('GET', `/api/airbyte/ingest/${r.body.job_id}`, { token });
    assert.equal(job.body.owner_id, 'alice');
  });

  test('an ES256 token is accepted', async () => {
    const token = await issuer.sign({ sub: 'alice', scope: 'sluice:read' }, { alg: 'ES256' });
    const r = await api.request('GET', '/api/airbyte/ingest', { token });
    assert.equal(r.status, 200, r.text);
  });

  test('scopes in an scp array are read', async () => {
    const token = await issuer.sign({ sub: 'alice', scope: undefined, scp: ['sluice:read'] });
    assert.equal((await api.request('GET', '/api/airbyte/ingest', { token })).status, 200);
  });

  test('the discovery document is read once and cached', () => {
    assert.equal(issuer.discoveryHits(), 1);
  });
});

describe('refused with 401, for each reason', () => {
  const cases: [string, () => Promise<Record<string, string>>, RegExp][] = [
    ['no Authorization header', () => Promise.resolve({}), /missing bearer token/],
    ['not a Bearer header', () => Promise.resolve({ authorization: 'Basic YWxpY2U6cHc=' }), /must be "Bearer <token>"/],
    ['a token that is not a JWT', () => Promise.resolve({ authorization: 'Bearer not-a-jwt' }), /invalid token/],
    ['an expired token', async () => ({ authorization: `Bearer ${await issuer.sign({}, { expiresIn: Math.floor(Date.now() / 1000) - 120 })}` }), /token expired/],
    ['another issuer', async () => ({ authorization: `Bearer ${await issuer.sign({}, { issuer: 'https://evil.example' })}` }), /claim iss/],
    ['another audience', async () => ({ authorization: `Bearer ${await issuer.sign({}, { audience: 'other-api' })}` }), /claim aud/],
    // RFC 7519: sub is a string; one issued in the future is no token of this issuer's clock (QA round 31c F4: both accepted).
    ['a sub that is no string', async () => ({ authorization: `Bearer ${await issuer.sign({ sub: 12345 })}` }), /^token claim sub is not acceptable \(not a string\)$/],
    ['a sub with a control character', async () => ({ authorization: `Bearer ${await issuer.sign({ sub: 'bob\u0000admin' })}` }), /^token claim sub is not acceptable \(control characters\)$/],
    ['a token issued in the future', async () => ({ authorization: `Bearer ${await issuer.sign({}, { issuedAt: Math.floor(Date.now() / 1000) + 3600 })}` }), /^token claim iat is not acceptable \(issued in the future\)$/],
    [
      'alg none',
      () => {
        const now = Math.floor(Date.now() / 1000);
        const t = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'mallory', scope: 'sluice:admin', iss: issuer.issuer, aud: issuer.audience, exp: now + 300 })}.`;
        return Promise.resolve({ authorization: `Bearer ${t}` });
      },
      /invalid token|not allowed/,
    ],
    [
      'HS256 signed with the issuer public key (algorithm confusion)',
      async () => {
        const secret = new TextEncoder().encode(JSON.stringify(issuer.rsaPublicJwk));
        const t = await new SignJWT({ scope: 'sluice:admin' })
          .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
          .setSubject('mallory')
          .setIssuer(issuer.issuer)
          .setAudience(issuer.audience)
          .setExpirationTime('5m')
          .sign(secret);
        return { authorization: `Bearer ${t}` };
      },
      /algorithm not allowed/,
    ],
    [
      'a key the issuer does not publish',
      async () => {
        const { privateKey } = await generateKeyPair('RS256');
        const t = await new SignJWT({ scope: 'sluice:admin' })
          .setProtectedHeader({ alg: 'RS256', kid: 'rogue' })
          .setSubject('mallory')
          .setIssuer(issuer.issuer)
          .setAudience(issuer.audience)
          .setExpirationTime('5m')
          .sign(privateKey);
        return { authorization: `Bearer ${t}` };
      },
      /no key of the issuer's JWKS matches/,
    ],
    [
      'a tampered payload',
      async () => {
        const [h, , s] = (await issuer.sign({ sub: 'alice' })).split('.');
        const forged = b64url({ sub: 'alice', scope: 'sluice:admin', iss: issuer.issuer, aud: issuer.audience, exp: Math.floor(Date.now() / 1000) + 300 });
        return { authorization: `Bearer ${h}.${forged}.${s}` };
      },
      /signature is invalid/,
    ],
    [
      'an HMAC dev-style token when dev mode is off',
      () => Promise.resolve({ authorization: `Bearer ${createHmac('sha256', 'x').update('y').digest('hex')}` }),
      /invalid token/,
    ],
  ];
  for (const [what, headers, expected] of cases) {
    test(what, async () => {
      const r = await api.request('POST', '/api/airbyte/ingest', { headers: await headers(), body: ingestBody() });
      assert.equal(r.status, 401, r.text);
      assert.equal(r.body.job_id, null);
      assert.match(r.body.error, expected);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer realm="sluice"/);
    });
  }

  test('a refused request stores nothing', async () => {
    const n = await api.db.prisma.ingestionJob.count({ where: { ownerId: 'mallory' } });
    assert.equal(n, 0);
  });

  test('routes outside the ingest routes answer {error}', async () => {
    const r = await api.request('GET', '/api/encryption-keys');
    assert.equal(r.status, 401);
    assert.deepEqual(Object.keys(r.body), ['error']);
  });
});

describe('a live stream', () => {
  test("ends when the token that opened it expires (QA round 17: it went on after)", async () => {
    // A token that lasts two seconds (the API accepts it five more: its clock tolerance).
    const token = await issuer.sign({ sub: 'alice', scope: 'sluice:read' }, { expiresIn: '2s' });
    const opened = Date.now();
    const res = await fetch(`${api.url}/api/events`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    assert.ok(res.body);
    const reader = res.body.getReader();
    // Read until the server ends the stream; a stream that outlives its token is cut here and fails.
    let cutOff = false;
    const cut = setTimeout(() => {
      cutOff = true;
      void reader.cancel('still open 40 s after its token expired');
    }, 40_000);
    let ended = false;
    try {
      for (;;) {
        const { done } = await reader.read();
        if (done) {
          ended = !cutOff;
          break;
        }
      }
    } catch {
      ended = false;
    } finally {
      clearTimeout(cut);
    }
    assert.ok(ended, 'the server ended the stream');
    assert.ok(Date.now() - opened >= 1000, 'not before the token expired');
    // Opened again with the same token: refused.
    assert.equal((await fetch(`${api.url}/api/events`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
  });
});

describe('scopes: 403', () => {
  test('sluice:read cannot create', async () => {
    const token = await issuer.sign({ sub: 'alice', scope: 'sluice:read' });
    const r = await api.request('POST', '/api/airbyte/ingest', { token, body: ingestBody() });
    assert.equal(r.status, 403, r.text);
    assert.match(r.body.error, /needs scope sluice:write/);
    assert.match(r.headers.get('www-authenticate') ?? '', /insufficient_scope/);
  });

  test('a token with no Sluice scope can do nothing', async () => {
    const token = await issuer.sign({ sub: 'alice', scope: 'openid profile' });
    assert.equal((await api.request('GET', '/api/airbyte/ingest', { token })).status, 403);
  });

  test('a non-admin cannot create a job for another owner; an admin can', async () => {
    const alice = await issuer.sign({ sub: 'alice', scope: 'sluice:write' });
    const denied = await api.request('POST', '/api/airbyte/ingest', { token: alice, body: ingestBody({ owner_id: 'bob' }) });
    assert.equal(denied.status, 403, denied.text);
    const admin = await issuer.sign({ sub: 'root', scope: 'sluice:admin' });
    const ok = await api.request('POST', '/api/airbyte/ingest', { token: admin, body: ingestBody({ owner_id: 'bob' }) });
    assert.equal(ok.status, 201, ok.text);
    const job = await api.request('GET', `/api/airbyte/ingest/${ok.body.job_id}`, { token: admin });
    assert.equal(job.body.owner_id, 'bob');
  });

  test('a roles claim with sluice:admin makes an admin', async () => {
    const token = await issuer.sign({ sub: 'ops', scope: 'sluice:read', roles: ['sluice:admin'] });
    const r = await api.request('GET', '/api/airbyte/ingest?owner_id=bob', { token });
    assert.equal(r.status, 200);
    assert.ok(r.body.jobs.length >= 1, "an admin sees bob's job");
  });
});

describe('development mode', () => {
  test('the dev token is an admin when set, and refused when not set', async () => {
    const devApi = await startApi({ devToken: 'dev-token-abcdefgh-1234', ui: false });
    try {
      const ok = await devApi.request('POST', '/api/airbyte/ingest', { token: 'dev-token-abcdefgh-1234', body: ingestBody({ owner_id: 'anyone' }) });
      assert.equal(ok.status, 201, ok.text);
      const wrong = await devApi.request('GET', '/api/airbyte/ingest', { token: 'dev-token-abcdefgh-1235' });
      assert.equal(wrong.status, 401);
    } finally {
      await devApi.close();
    }
    // The issuer-configured server above has no dev token: that same string is refused there.
    const r = await api.request('GET', '/api/airbyte/ingest', { token: 'dev-token-abcdefgh-1234' });
    assert.equal(r.status, 401);
  });

  test('listening beyond loopback in development mode says, once, that anyone who reaches it is the admin', async () => {
    const warning = /single-user development mode listens on every interface: anyone who can reach port \d+ is the admin/;
    const local = await startApi({ devToken: 'dev-token-abcdefgh-1234', ui: false });
    const everywhere = await startApi({ devToken: 'dev-token-abcdefgh-1234', ui: false, host: null });
    try {
      assert.ok(!local.logs.some((l) => warning.test(l)), 'on 127.0.0.1 nothing to warn about');
      assert.equal(everywhere.logs.filter((l) => warning.test(l) && (JSON.parse(l) as { level: string }).level === 'warn').length, 1);
      assert.equal((await everywhere.request('GET', '/healthz')).status, 200);
    } finally {
      await local.close();
      await everywhere.close();
    }
  });
});

describe('an issuer that cannot be reached', () => {
  test('answers 503 naming the issuer; once the issuer is back, discovery is tried again and tokens verify', async () => {
    const first = await startTestIssuer();
    const issuerUrl = first.issuer;
    const port = Number(new URL(issuerUrl).port);
    const stale = await first.sign({ sub: 'alice', scope: 'sluice:read' });
    await first.close();
    const down = await startApi({ issuer: issuerUrl, audience: 'sluice-api', ui: false });
    try {
      const r = await down.request('GET', '/api/airbyte/ingest', { token: stale });
      assert.equal(r.status, 503, r.text);
      assert.match(r.body.error, /OAuth issuer is not reachable at .*openid-configuration/);
      assert.equal(r.headers.get('retry-after'), '5');
      // A token that is not even a JWT is refused without the issuer.
      const malformed = await down.request('GET', '/api/airbyte/ingest', { token: 'abc.def.ghi' });
      assert.equal(malformed.status, 401, malformed.text);
      assert.match(malformed.body.error, /^invalid token: not a JWT/);
      // The outage is one warning line per request, no stack trace.
      const outage = down.logs.map((l) => JSON.parse(l) as { level: string; message: string; stack?: string; error?: unknown }).filter((l) => /OAuth issuer is not reachable/.test(l.message));
      assert.ok(outage.length >= 1);
      for (const l of outage) {
        assert.equal(l.level, 'warn');
        assert.equal(l.stack, undefined);
        assert.equal(l.error, undefined);
      }
      const back = await startTestIssuer('sluice-api', port);
      try {
        const token = await back.sign({ sub: 'alice', scope: 'sluice:read' });
        const ok = await down.request('GET', '/api/airbyte/ingest', { token });
        assert.equal(ok.status, 200, ok.text);
        assert.equal(back.discoveryHits(), 1);
      } finally {
        await back.close();
      }
    } finally {
      await down.close();
    }
  });
});
