/**
 * Signing in to the flow UI through a real OpenID Connect provider (oidc-provider, started
 * here): authorization code with PKCE from the browser, the access token used as the API's
 * bearer token, and owner isolation seen through the UI — a user sees only their own jobs and
 * runs, another user's flow_url shows "not found", and the live stream refuses it; an admin
 * sees everyone's. Screenshots go to test-artifacts/ui/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { freePort } from '@sluice/local-services';
import { ADMIN_ACCOUNT, startOidcProvider, type TestOidcProvider } from './test-oidc-provider.ts';
import { browserTestsUnavailable, jobBody, launchBrowser, shot, startUiStack, type UiStack } from './ui-stack.ts';

const unavailable = browserTestsUnavailable();
if (unavailable !== null) console.log(`sign-in browser tests skipped: ${unavailable}`);

/** An absolute URI, as RFC 8707 resource indicators need (the UI sends it as `resource`). */
const AUDIENCE = 'https://sluice.test/api';
const CLIENT_ID = 'sluice-ui';

describe('flow UI sign-in with OpenID Connect', { skip: unavailable ?? false }, () => {
  let stack: UiStack;
  let idp: TestOidcProvider;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  before(async () => {
    const apiPort = await freePort();
    idp = await startOidcProvider({ port: await freePort(), clientId: CLIENT_ID, redirectUri: `http://127.0.0.1:${apiPort}/auth/callback`, audience: AUDIENCE });
    stack = await startUiStack({ port: apiPort, oidc: { issuer: idp.issuer, audience: AUDIENCE, clientId: CLIENT_ID } });
    browser = await launchBrowser();
  });
  after(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await stack?.close();
    await idp?.close();
  });

  /** Signs `login` in through the provider's pages; answers the page (on /jobs) and the requests seen. */
  async function signIn(login: string, start = '/jobs'): Promise<{ page: Page; authorize: URL; tokenBody: string }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    contexts.push(context);
    // The provider's development pages import a web font: nothing leaves this machine.
    await context.route(/^https:\/\/fonts\./, (route) => route.abort());
    const page = await context.newPage();
    let authorize: URL | null = null;
    let tokenBody = '';
    page.on('request', (r) => {
      if (r.url().startsWith(`${idp.issuer}/auth?`)) authorize = new URL(r.url());
      if (r.url() === `${idp.issuer}/token` && r.method() === 'POST') tokenBody = r.postData() ?? '';
    });
    await page.goto(`${stack.url}${start}`);
    await page.getByRole('heading', { name: 'Sign in to Sluice' }).waitFor();
    if (login === 'alice') await shot(page, 'oidc-01-sign-in-page');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.href.startsWith(idp.issuer));
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('any password');
    if (login === 'alice') await shot(page, 'oidc-02-provider-login');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL((u) => u.href.startsWith(stack.url) && !u.pathname.startsWith('/auth/'));
    await page.getByTestId('user-name').waitFor();
    assert.ok(authorize !== null, 'the browser went to the authorization endpoint');
    return { page, authorize, tokenBody };
  }

  const tokenOf = async (page: Page): Promise<string> => String(await page.evaluate('JSON.parse(sessionStorage.getItem("sluice.token")).access_token'));

  /** Status of `GET /api/events?…` from inside the page, with the page's token. */
  async function eventsStatus(page: Page, query: string): Promise<number> {
    const token = await tokenOf(page);
    return Number(
      await page.evaluate(`(async () => {
        const c = new AbortController();
        const r = await fetch('/api/events?${query}', { headers: { Authorization: 'Bearer ${token}' }, signal: c.signal });
        c.abort();
        return r.status;
      })()`),
    );
  }

  test('a user signs in with authorization code + PKCE, and sees only their own jobs and runs', async () => {
    const alice = await signIn('alice');
    // The authorization request is a PKCE (S256) code request with state and nonce; the code is redeemed with the verifier.
    assert.equal(alice.authorize.searchParams.get('response_type'), 'code');
    assert.equal(alice.authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.match(alice.authorize.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.ok(alice.authorize.searchParams.get('state'));
    assert.ok(alice.authorize.searchParams.get('nonce'));
    const tokenForm = new URLSearchParams(alice.tokenBody);
    assert.equal(tokenForm.get('grant_type'), 'authorization_code');
    assert.match(tokenForm.get('code_verifier') ?? '', /^[A-Za-z0-9_-]{43,128}$/);
    assert.equal(tokenForm.get('client_secret'), null, 'a public client: no secret in the browser');
    assert.equal(await alice.page.getByTestId('user-name').textContent(), 'Alice');
    assert.equal(new URL(alice.page.url()).pathname, '/jobs');

    // Alice's token is a bearer token the API accepts: her jobs are hers.
    const aliceToken = await tokenOf(alice.page);
    const created = await stack.api('POST', '/api/airbyte/ingest', aliceToken, jobBody({ name: 'alice orders' }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const aliceJob = created.body.job_id as string;
    const aliceRun = (await stack.api('POST', `/api/airbyte/ingest/${aliceJob}/runs`, aliceToken, {})).body.run_id as string;
    assert.ok(aliceRun);

    const bob = await signIn('bob');
    const bobToken = await tokenOf(bob.page);
    const bobCreated = await stack.api('POST', '/api/airbyte/ingest', bobToken, jobBody({ name: 'bob invoices' }));
    assert.equal(bobCreated.status, 201);
    const bobJob = bobCreated.body.job_id as string;

    // Each sees their own job in the list, live, and not the other's.
    await alice.page.locator(`tr[data-job-id="${aliceJob}"]`).waitFor();
    await bob.page.locator(`tr[data-job-id="${bobJob}"]`).waitFor();
    await alice.page.reload();
    await bob.page.reload();
    await alice.page.locator(`tr[data-job-id="${aliceJob}"]`).waitFor();
    await bob.page.locator(`tr[data-job-id="${bobJob}"]`).waitFor();
    assert.equal(await alice.page.locator('tr[data-job-id]').count(), 1);
    assert.equal(await alice.page.locator(`tr[data-job-id="${bobJob}"]`).count(), 0, "alice does not see bob's job");
    assert.equal(await bob.page.locator('tr[data-job-id]').count(), 1);
    assert.equal(await bob.page.locator(`tr[data-job-id="${aliceJob}"]`).count(), 0, "bob does not see alice's job");
    await shot(alice.page, 'oidc-03-alice-jobs');
    await shot(bob.page, 'oidc-04-bob-jobs');

    // Bob at alice's flow_url, run page and task log: not found, and nothing of hers on screen.
    await bob.page.goto(created.body.flow_url as string);
    await bob.page.getByRole('heading', { name: 'Job not found' }).waitFor();
    assert.ok(!(await bob.page.content()).includes('alice orders'));
    await shot(bob.page, 'oidc-05-bob-at-alices-flow-url');
    await bob.page.goto(`${stack.url}/runs/${aliceRun}`);
    await bob.page.getByRole('heading', { name: 'Run not found' }).waitFor();
    // The same words as for a run that is gone: which of the two is not said (QA round 42a F4 named the retention's).
    assert.equal(
      await bob.page.getByRole('alert').textContent(),
      `There is no run ${aliceRun} that you may see (a run older than the run-history retention, when one is set, is removed with its tasks and logs). See your jobs.`,
    );
    assert.equal(await bob.page.locator('.timeline-row').count(), 0);
    // The live stream refuses bob for alice's job, run and task log, and serves alice.
    assert.equal(await eventsStatus(bob.page, `job_id=${aliceJob}`), 404);
    assert.equal(await eventsStatus(bob.page, `run_id=${aliceRun}`), 404);
    assert.equal(await eventsStatus(bob.page, `run_id=${aliceRun}&task_id=extract&map_index=-1&try=1`), 404);
    assert.equal(await eventsStatus(alice.page, `run_id=${aliceRun}`), 200);

    // Alice follows her run to success on her job page.
    await alice.page.goto(created.body.flow_url as string);
    await alice.page.locator(`.run-bar[data-run-id="${aliceRun}"][data-state="success"]`).waitFor({ timeout: 30_000 });
    await shot(alice.page, 'oidc-06-alice-job-page');

    // An admin sees both owners' jobs.
    const root = await signIn(ADMIN_ACCOUNT);
    await root.page.locator(`tr[data-job-id="${aliceJob}"]`).waitFor();
    await root.page.locator(`tr[data-job-id="${bobJob}"]`).waitFor();
    await shot(root.page, 'oidc-07-admin-jobs');
  });

  test('a token the API refuses sends the viewer to sign in, saying why (QA round 32b F3: a silent sign-in loop)', async () => {
    const carol = await signIn('carol');
    await carol.page.evaluate('(() => { const t = JSON.parse(sessionStorage.getItem("sluice.token")); t.access_token = "not-a-jwt"; sessionStorage.setItem("sluice.token", JSON.stringify(t)); })()');
    await carol.page.reload();
    const refused = carol.page.getByTestId('sign-in-refused');
    await refused.waitFor();
    assert.equal(await refused.textContent(), 'The server refused your sign-in: invalid token: not a JWT.');
    await carol.page.getByRole('heading', { name: 'Sign in to Sluice' }).waitFor();
  });

  test('the API and the live stream refuse a browser that has not signed in', async () => {
    const res = await fetch(`${stack.url}/api/events`);
    assert.equal(res.status, 401);
    await res.body?.cancel();
    const list = await fetch(`${stack.url}/api/airbyte/ingest`);
    assert.equal(list.status, 401);
    const config = (await (await fetch(`${stack.url}/api/ui/config`)).json()) as { auth: Record<string, unknown> };
    assert.deepEqual(config.auth, { mode: 'oidc', issuer: idp.issuer, client_id: CLIENT_ID, scope: 'openid profile sluice:read sluice:write', audience: AUDIENCE });
  });
});
