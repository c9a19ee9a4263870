/**
 * The UI server's live endpoint and development-mode session, over plain HTTP against the real
 * API, engine and runner: `GET /api/events` pushes a run's states, row counts and log lines as
 * they change, refuses what the caller may not see, and the dev session cookie stands in for
 * the dev token only from this origin, without the page ever holding the token.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { LiveEvents, LiveRun } from '@sluice/ui/events';
import { jobBody, startUiStack, until, type UiStack } from './ui-stack.ts';

/** The development session cookie's name (packages/api/src/ui/dev-session.ts). */
const DEV_SESSION_COOKIE = 'sluice_dev_session';

interface SseEvent {
  type: string;
  data: unknown;
}

/** A GET with headers fetch will not set (Host), answered whole; a stream's first bytes are enough for its status. */
function rawGet(base: string, pathname: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.get({ host: url.hostname, port: url.port, path: pathname, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (res.headers['content-type']?.startsWith('text/event-stream')) res.destroy();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

/** Reads server-sent events from `url` until `done` says stop (or `ms` pass); answers them all. */
async function readEvents(url: string, headers: Record<string, string>, done: (events: SseEvent[]) => boolean, ms = 30_000): Promise<{ status: number; events: SseEvent[] }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ms);
  const events: SseEvent[] = [];
  try {
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
    if (res.status !== 200 || res.body === null) {
      await res.body?.cancel();
      return { status: res.status, events };
    }
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    while (!done(events)) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const type = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (type !== undefined && data !== undefined) events.push({ type, data: JSON.parse(data) });
      }
    }
    await reader.cancel();
    return { status: res.status, events };
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

describe('live updates endpoint and the development session', () => {
  let stack: UiStack;
  let auth: Record<string, string>;

  before(async () => {
    stack = await startUiStack();
    auth = { authorization: `Bearer ${stack.devToken ?? ''}` };
  });
  after(async () => {
    await stack?.close();
  });

  test("a run's states, row counts and log lines arrive as they change", async () => {
    const job = await stack.api('POST', '/api/airbyte/ingest', stack.devToken, jobBody({ name: 'live feed' }));
    assert.equal(job.status, 201);
    const trigger = await stack.api('POST', `/api/airbyte/ingest/${String(job.body.job_id)}/runs`, stack.devToken, {});
    const runId = trigger.body.run_id as string;

    const extractDone = (ev: { type: string; data: unknown }[]): boolean =>
      ev.some((e) => e.type === 'log' && (e.data as LiveEvents['log']).lines.some((l) => l.message.includes('extract done')));
    const [runFeed, logFeed, aliasFeed] = await Promise.all([
      readEvents(`${stack.url}/api/events?run_id=${runId}`, auth, (ev) =>
        ev.some((e) => e.type === 'run' && (e.data as LiveEvents['run']).run.state === 'success'),
      ),
      readEvents(`${stack.url}/api/events?run_id=${runId}&task_id=extract&map_index=-1&try=1`, auth, extractDone),
      // `try_number`, the answers' name for the try, is taken as the logs route takes it (QA round 30a: refused as unknown).
      readEvents(`${stack.url}/api/events?run_id=${runId}&task_id=extract&try_number=1`, auth, extractDone),
    ]);
    assert.equal(aliasFeed.status, 200);
    assert.ok(extractDone(aliasFeed.events));
    assert.equal(runFeed.status, 200);
    const runs: LiveRun[] = runFeed.events.filter((e) => e.type === 'run').map((e) => (e.data as LiveEvents['run']).run);
    const states = runs.map((r) => r.state).filter((s, i, all) => all[i - 1] !== s);
    assert.ok(states.includes('running') && states.at(-1) === 'success', `run states pushed: ${states.join(' → ')}`);
    const extractRows = [...new Set(runs.map((r) => r.tasks.find((t) => t.task_id === 'extract')?.rows ?? 0))].filter((n) => n > 0);
    assert.ok(extractRows.length >= 2, `the extract row count was pushed as it grew (${extractRows.join(', ')})`);
    for (let i = 1; i < runs.length; i++) assert.notDeepEqual(runs[i], runs[i - 1], 'only changes are pushed');
    const last = runs.at(-1);
    assert.equal(last?.tasks.length, 8);
    assert.ok(last?.tasks.find((t) => t.task_id === 'load' && t.stream === 'users')?.output, 'task outputs are pushed');

    const batches = logFeed.events.filter((e) => e.type === 'log').map((e) => (e.data as LiveEvents['log']).lines);
    assert.ok(batches.length >= 2, `log lines arrived in ${batches.length} pushes while extract ran`);
    const ids = batches.flat().map((l) => BigInt(l.id));
    assert.equal(new Set(ids).size, ids.length, 'no log line is sent twice');
    assert.ok(ids.every((id, i) => i === 0 || id > (ids[i - 1] ?? 0n)), 'log lines arrive in order');
  });

  test('a job feed carries the DAG and the runs grid; the jobs feed lists visible jobs', async () => {
    const job = await stack.api('POST', '/api/airbyte/ingest', stack.devToken, jobBody({ name: 'grid feed' }));
    const jobId = job.body.job_id as string;
    // An id in upper case names the same job (QA round 43a F9: ids are taken in any case, answered in lower case).
    const feed = await readEvents(`${stack.url}/api/events?job_id=${jobId.toUpperCase()}`, auth, (ev) => ev.some((e) => e.type === 'job') && ev.some((e) => e.type === 'scheduler'));
    const first = feed.events.find((e) => e.type === 'job');
    const live = (first?.data as LiveEvents['job']).job;
    assert.equal(live.job_id, jobId);
    assert.deepEqual(live.dag?.tasks.map((t) => `${t.task_id}${t.is_mapped ? '[]' : ''}`).sort(), ['archive', 'extract', 'load[]', 'stage[]', 'transform[]']);
    assert.equal(live.is_paused, false);
    const jobs = await readEvents(`${stack.url}/api/events`, auth, (ev) => ev.some((e) => e.type === 'jobs') && ev.some((e) => e.type === 'scheduler'));
    const lines = (jobs.events.find((e) => e.type === 'jobs')?.data as LiveEvents['jobs']).jobs;
    assert.ok(lines.some((l) => l.job_id === jobId));
    // Both say whether a scheduler runs (this stack has none).
    for (const f of [feed, jobs]) assert.deepEqual(f.events.find((e) => e.type === 'scheduler')?.data, { alive: false, last_seen_at: null });
  });

  test('the jobs feed sends the whole list once, then only the lines that changed until the list holds other jobs', async () => {
    const created = await Promise.all(['lines a', 'lines b', 'lines c'].map((name) => stack.api('POST', '/api/airbyte/ingest', stack.devToken, jobBody({ name }))));
    const [a, b] = created.map((c) => c.body.job_id as string);
    let seen: SseEvent[] = [];
    let newJob: string | undefined = undefined; // set once the first list came: the feed waits for its list
    const feed = readEvents(`${stack.url}/api/events`, auth, (ev) => {
      seen = ev;
      return newJob !== undefined && ev.some((e) => e.type === 'jobs' && (e.data as LiveEvents['jobs']).jobs.some((l) => l.job_id === newJob));
    });
    const list = await until('the first jobs event', async () => (seen.find((e) => e.type === 'jobs')?.data as LiveEvents['jobs'] | undefined)?.jobs);
    assert.ok(list.length >= 3 && list.some((l) => l.job_id === a) && list.some((l) => l.job_id === b));
    const paused = await stack.api('PATCH', `/api/airbyte/ingest/${String(a)}`, stack.devToken, { is_paused: true });
    assert.equal(paused.status, 200);
    const change = await until('the paused job\'s line', async () =>
      seen.map((e) => (e.type === 'job_lines' ? (e.data as LiveEvents['job_lines']).changed : [])).find((c) => c.some((l) => l.job_id === a && l.is_paused)),
    );
    // QA round 36b F4: each change sent every job's line again.
    assert.deepEqual(change.map((l) => l.job_id), [a], 'only the changed line comes');
    assert.equal(seen.filter((e) => e.type === 'jobs').length, 1, 'the whole list came once');
    newJob = (await stack.api('POST', '/api/airbyte/ingest', stack.devToken, jobBody({ name: 'lines new' }))).body.job_id as string;
    const { events } = await feed;
    const lists = events.filter((e) => e.type === 'jobs').map((e) => (e.data as LiveEvents['jobs']).jobs);
    assert.equal(lists.length, 2, 'a job created sends the whole list again');
    assert.equal(lists[1]?.[0]?.job_id, newJob, 'newest first');
    assert.equal(lists[1]?.find((l) => l.job_id === a)?.is_paused, true, 'with the changes since');
  });

  test('watching needs credentials, a thing that exists, and a sensible query', async () => {
    assert.equal((await readEvents(`${stack.url}/api/events`, {}, () => true)).status, 401);
    assert.equal((await readEvents(`${stack.url}/api/events`, { authorization: 'Bearer wrong-token-123456' }, () => true)).status, 401);
    assert.equal((await readEvents(`${stack.url}/api/events?run_id=7f1c1a57-0d5e-4a43-9a53-1b2b8d0c9e11`, auth, () => true)).status, 404);
    assert.equal((await readEvents(`${stack.url}/api/events?job_id=not-a-uuid`, auth, () => true)).status, 400);
    assert.equal((await readEvents(`${stack.url}/api/events?task_id=extract`, auth, () => true)).status, 400);
    // A number that is no number is not read as 0, and one past PostgreSQL's integer is refused (session 38, Schemathesis).
    assert.equal((await readEvents(`${stack.url}/api/events?map_index=`, auth, () => true)).status, 400);
    assert.equal((await readEvents(`${stack.url}/api/events?run_id=7f1c1a57-0d5e-4a43-9a53-1b2b8d0c9e11&task_id=extract&try=1&map_index=9007199254740990`, auth, () => true)).status, 400);
    // An unknown query parameter is refused by name, as on the API's routes (QA round 29: /api/ui/config
    // answered 200, /api/events in zod's words).
    const said = async (route: string): Promise<unknown> => (await fetch(`${stack.url}${route}`, { headers: auth })).json();
    assert.deepEqual(await said('/api/ui/config?bogus=1'), { error: 'bogus: unknown query parameter: GET /api/ui/config takes none' });
    assert.deepEqual(await said('/api/events?bogus=1'), { error: 'bogus: unknown query parameter: GET /api/events takes job_id, run_id, task_id, map_index, try, try_number' });
    const id = '7f1c1a57-0d5e-4a43-9a53-1b2b8d0c9e11';
    assert.deepEqual(await said(`/api/events?job_id=${id}&run_id=${id}`), { error: 'run_id: give job_id or run_id, not both' });
    assert.deepEqual(await said('/api/events?run_id=x&try=abc'), { error: 'run_id: must be a UUID; try: must be a number' });
    assert.deepEqual(await said(`/api/events?run_id=${id}&task_id=extract&try=1&try_number=2`), { error: 'try_number: names try 2, and try names 1: give one of them' });
    // A try with no task log to follow was ignored, and the job list streamed (QA round 43a F7).
    assert.deepEqual(await said('/api/events?try=1'), { error: 'try: names a try of a task log: give it with run_id and task_id' });
    assert.deepEqual(await said(`/api/events?run_id=${id}&try_number=1`), { error: 'try: names a try of a task log: give it with run_id and task_id' });
  });

  test('the page sets a dev session cookie that is not the token and works only from this origin', async () => {
    const page = await fetch(`${stack.url}/jobs`);
    assert.equal(page.status, 200);
    const html = await page.text();
    const token = stack.devToken ?? '';
    assert.ok(!html.includes(token), 'the dev token is not in the page');
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const setCookie = page.headers.get('set-cookie') ?? '';
    assert.match(setCookie, new RegExp(`^${DEV_SESSION_COOKIE}=`));
    assert.match(setCookie, /HttpOnly/i);
    assert.match(setCookie, /SameSite=Strict/i);
    assert.ok(!setCookie.includes(token), 'the cookie is not the token');
    const cookie = setCookie.split(';')[0] ?? '';

    const own = await fetch(`${stack.url}/api/airbyte/ingest`, { headers: { cookie } });
    assert.equal(own.status, 200, 'the session works for the API');
    await own.body?.cancel();
    const sameOrigin = await fetch(`${stack.url}/api/airbyte/ingest`, { headers: { cookie, origin: stack.url } });
    assert.equal(sameOrigin.status, 200);
    await sameOrigin.body?.cancel();
    const crossSite = await fetch(`${stack.url}/api/airbyte/ingest`, { method: 'GET', headers: { cookie, origin: 'https://evil.example' } });
    assert.equal(crossSite.status, 401, 'a request from another origin is refused even with the cookie');
    await crossSite.body?.cancel();
    const forged = await fetch(`${stack.url}/api/airbyte/ingest`, { headers: { cookie: `${DEV_SESSION_COOKIE}=${Buffer.from(token).toString('base64url')}` } });
    assert.equal(forged.status, 401, 'a made-up session is refused');
    await forged.body?.cancel();
    const feed = await readEvents(`${stack.url}/api/events`, { cookie }, (ev) => ev.length > 0);
    assert.equal(feed.status, 200, 'the live feed accepts the session');
  });

  test('development mode gives no page and honours no session for a name re-bound to it (DNS rebinding)', async () => {
    // A site that re-binds its own name to 127.0.0.1 makes the browser send that name as Host, and
    // its own origin as Origin: "same origin" to a check that compares the two (QA round 17).
    const port = new URL(stack.url).port;
    const evil = `attacker.example:${port}`;
    const page = await rawGet(stack.url, '/jobs', { host: evil });
    assert.equal(page.status, 421, page.body);
    assert.equal(page.headers['set-cookie'], undefined, 'no session cookie');
    assert.match(page.body, /answers to localhost and its SLUICE_PUBLIC_URL/);
    const cookie = ((await fetch(`${stack.url}/jobs`)).headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    assert.match(cookie, /^sluice_dev_session=/);
    const rebound = await rawGet(stack.url, '/api/airbyte/ingest', { host: evil, cookie, origin: `http://${evil}` });
    assert.equal(rebound.status, 401, rebound.body);
    const events = await rawGet(stack.url, '/api/events', { host: evil, cookie, accept: 'text/event-stream' });
    assert.equal(events.status, 401, events.body);
    // This server's own names still work: a loopback name and the public URL's host.
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, new URL(stack.url).host]) {
      assert.equal((await rawGet(stack.url, '/api/airbyte/ingest', { host, cookie })).status, 200, host);
    }
  });

  test('the built app is served at its pages, with immutable assets, and a 404 elsewhere: its own page to a browser, JSON to a client', async () => {
    const root = await fetch(`${stack.url}/`, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/jobs');
    const someId = '7f1c1a57-0d5e-4a43-9a53-1b2b8d0c9e11';
    for (const p of ['/jobs', `/jobs/${someId}`, `/runs/${someId}`, `/runs/${someId}/tasks/extract`, '/auth/callback']) {
      const r = await fetch(`${stack.url}${p}`);
      assert.equal(r.status, 200, p);
      assert.match(await r.text(), /<div id="root"><\/div>/);
    }
    const html = await (await fetch(`${stack.url}/jobs`)).text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(asset, 'the page loads a bundled script from this server');
    assert.ok(!/https?:\/\//.test(html.replace(/<meta[^>]*>/g, '')), 'no other host is referenced by the page');
    const js = await fetch(`${stack.url}${asset}`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('cache-control') ?? '', /immutable/);
    await js.body?.cancel();
    const missing = await fetch(`${stack.url}/assets/nope.js`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    // A path the app has no page for: a browser gets the app (which says "Nothing lives at …") as
    // a 404; a client asking for JSON, and any /api path, the API's 404 (QA round 50b O5: a browser
    // got the API's JSON).
    const browserAccept = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
    // A job or run path whose id is not a UUID names nothing, as in the API (QA round 52a O6: 200).
    for (const p of ['/nothing-here', '/jobs/x/y', '/runs/x/tasks/extract/more', '/jobs/abc', '/runs/x', '/runs/x/tasks/extract']) {
      const page = await fetch(`${stack.url}${p}`, { headers: browserAccept });
      assert.deepEqual([page.status, page.headers.get('content-type')], [404, 'text/html; charset=utf-8'], p);
      assert.match(await page.text(), /<div id="root"><\/div>/);
    }
    for (const [p, headers] of [
      ['/nothing-here', {}],
      ['/nothing-here', { accept: 'application/json' }],
      ['/jobs/abc', { accept: 'application/json' }],
      ['/api/nothing-here', browserAccept],
    ] as const) {
      const r = await fetch(`${stack.url}${p}`, { headers });
      assert.equal(r.status, 404, p);
      assert.deepEqual(await r.json(), { error: `route GET ${p} not found` }, `${p} ${JSON.stringify(headers)}`);
    }
  });
});
