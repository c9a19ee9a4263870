/**
 * A task's log of 40,000 lines in a real browser (Debian's Chromium through playwright-core)
 * against the real API, engine and runner: only the lines in or near view are drawn, however
 * many are paged in; "Show earlier" keeps the line the reader saw where it was; the keyboard
 * reaches the first line; the live tail still appends, following only a reader at the end; and
 * Download saves every line of the try.
 * QA measured 2.3–4.2 s per "Show earlier" when every line was drawn; this test checks what the
 * page does, not how fast (the machine is shared).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { browserTestsUnavailable, jobBody, launchBrowser, shot, startUiStack, until, type UiStack } from './ui-stack.ts';

const unavailable = browserTestsUnavailable();
if (unavailable !== null) console.log(`task log browser test skipped: ${unavailable}`);

/** Where the log box is scrolled, and the first line wholly in view: its message and its px below the box's top. */
interface LogPlace {
  scrollTop: number;
  scrollHeight: number;
  clientHeight: number;
  firstSeen: string | null;
  firstSeenAt: number;
}

const logPlace = (page: Page): Promise<LogPlace> =>
  page.evaluate<LogPlace>(`(() => {
    const box = document.querySelector('[data-testid=task-log]');
    const top = box.getBoundingClientRect().top;
    const seen = [...box.querySelectorAll('.log-line')].find((row) => row.getBoundingClientRect().top >= top && row.getBoundingClientRect().top < top + box.clientHeight);
    return {
      scrollTop: box.scrollTop,
      scrollHeight: box.scrollHeight,
      clientHeight: box.clientHeight,
      firstSeen: seen ? seen.querySelector('.msg').textContent : null,
      firstSeenAt: seen ? seen.getBoundingClientRect().top - top : 0,
    };
  })()`);

const scrollLogTo = (page: Page, top: number): Promise<unknown> => page.evaluate(`document.querySelector('[data-testid=task-log]').scrollTop = ${top}`);

/** The most `.log-line` rows the page has held at once since it loaded (counted at every change of the document). */
const mostRows = (page: Page): Promise<number> => page.evaluate<number>('window.__mostRows');

describe('task log of 40,000 lines', { skip: unavailable ?? false }, () => {
  let stack: UiStack;
  let browser: Browser;

  before(async () => {
    stack = await startUiStack();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  test('draws only the lines near view, keeps the place at "Show earlier", reaches the first line from the keyboard, follows the live tail, and downloads every line', async () => {
    // A "slow" job's extract logs a line every 350 ms for a minute: the try runs while the page is open.
    const created = await stack.api('POST', '/api/airbyte/ingest', stack.devToken, jobBody({ name: 'slow long log' }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const runId = (await stack.api('POST', `/api/airbyte/ingest/${created.body.job_id as string}/runs`, stack.devToken, {})).body.run_id as string;
    const extract = await until('extract to run', () => stack.db.prisma.taskInstance.findFirst({ where: { runId, taskId: 'extract', state: 'running' } }));
    // Some of the try's own lines first, so the last page of earlier lines is more than the "Show earlier" paragraph's height.
    await until('the try to log 5 lines', async () => (await stack.db.prisma.taskLog.count({ where: { taskInstanceId: extract.id, tryNumber: 1 } })) >= 5);
    for (let from = 0; from < 40_000; from += 5000) {
      await stack.db.prisma.taskLog.createMany({
        data: Array.from({ length: 5000 }, (_, i) => ({ taskInstanceId: extract.id, tryNumber: 1, level: 'info', message: `long line ${from + i + 1}` })),
      });
    }
    const firstLine = (await stack.api('GET', `/api/runs/${runId}/tasks/extract/logs?try=1&offset=0&limit=1`, stack.devToken)).body.lines as { message: string }[];
    assert.match(firstLine[0]?.message ?? '', /^try 1 of \d+ started on runner /);

    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    // Also whether the lines shown ever became fewer (their box's height went down): lines are only
    // ever added, but the live stream's first parts replaced the 5,000 lines read with 2,000.
    await context.addInitScript(`window.__mostRows = 0; window.__tallest = 0; window.__shrank = null;
      new MutationObserver(() => {
        window.__mostRows = Math.max(window.__mostRows, document.querySelectorAll('.log-line').length);
        const lines = document.querySelector('.log-lines');
        const h = lines ? parseFloat(lines.style.height) || 0 : 0;
        if (h < window.__tallest && window.__shrank === null) window.__shrank = window.__tallest + ' px to ' + h + ' px';
        window.__tallest = Math.max(window.__tallest, h);
      }).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['style'] });`);
    const page = await context.newPage();
    // The live stream is let through once the logs route has answered: its first parts (2,000
    // lines each, every 500 ms) then come after the 5,000 lines read, and must add to them.
    const logsRead = page.waitForResponse((r) => r.url().includes(`/api/runs/${runId}/tasks/extract/logs`));
    await page.route('**/api/events?**', async (route) => {
      await logsRead;
      await route.continue();
    });
    await page.goto(`${stack.url}/runs/${runId}/tasks/extract`);
    const log = page.getByTestId('task-log');
    const earlier = page.getByTestId('log-earlier');
    await earlier.waitFor();
    await log.locator('.log-line').first().waitFor();

    // Live tail: the page opens following the running try, at its end; a line written now is drawn there.
    await stack.db.prisma.taskLog.create({ data: { taskInstanceId: extract.id, tryNumber: 1, level: 'warn', message: 'tail line while at the end' } });
    await log.getByText('tail line while at the end', { exact: true }).waitFor();
    await until('the log to follow to its end', async () => {
      const p = await logPlace(page);
      return p.scrollHeight - p.scrollTop - p.clientHeight <= 18;
    });
    await shot(page, 'log-01-following-40000-lines');

    // Scrolled up, the reader stays where they are as lines arrive below.
    const readingAt = (await logPlace(page)).scrollTop - 2000;
    await scrollLogTo(page, readingAt);
    const reading = await until('the scroll to be read', async () => {
      const p = await logPlace(page);
      return p.scrollTop === readingAt && p.firstSeen !== null ? p : null;
    });
    await stack.db.prisma.taskLog.create({ data: { taskInstanceId: extract.id, tryNumber: 1, level: 'info', message: 'tail line while reading above' } });
    await until('the new line to lengthen the log', async () => (await logPlace(page)).scrollHeight > reading.scrollHeight);
    const stayed = await logPlace(page);
    assert.equal(stayed.scrollTop, readingAt, 'a reader scrolled up is not moved to the end');
    assert.equal(stayed.firstSeen, reading.firstSeen);

    // Every "Show earlier": the first line in view before it is in the same place on screen after,
    // and is the same element (a line that stays in view is not drawn again).
    let pages = 0;
    while ((await earlier.count()) > 0) {
      await scrollLogTo(page, 0);
      const before = await until('the top to be drawn', async () => {
        const p = await logPlace(page);
        return p.scrollTop === 0 && p.firstSeen !== null ? p : null;
      });
      await page.evaluate(`[...document.querySelectorAll('.log-line .msg')].find((m) => m.textContent === ${JSON.stringify(before.firstSeen)}).parentElement.dataset.seenBefore = 'yes'`);
      const said = await earlier.textContent();
      await earlier.getByRole('button').click();
      // One read that does not wait: the paragraph goes away when the last page is read, and a
      // count followed by a read of its text could find it between the two and then wait for it.
      await until('the earlier page to be read', async () => {
        const now = await earlier.allTextContents();
        return now.length === 0 || (now[0] !== said && !(now[0] ?? '').includes('Loading'));
      });
      pages++;
      const now = await logPlace(page);
      assert.ok(now.scrollTop > 0, 'the lines read are above the view');
      const kept = page.locator('.log-line[data-seen-before="yes"]');
      assert.equal(await kept.locator('.msg').textContent(), before.firstSeen, 'the line seen first is the same element');
      const at = await page.evaluate<number>(`(() => {
        const row = document.querySelector('.log-line[data-seen-before]');
        delete row.dataset.seenBefore;
        return row.getBoundingClientRect().top - document.querySelector('[data-testid=task-log]').getBoundingClientRect().top;
      })()`);
      assert.ok(Math.abs(at - before.firstSeenAt) <= 1, `"${before.firstSeen}" stayed ${before.firstSeenAt} px below the log's top (now ${at} px)`);
    }
    assert.equal(pages, 8, 'seven pages of 5,000 and the try\'s own first lines');
    await shot(page, 'log-02-every-page-read');

    // From the keyboard: Home in the focused log goes to the try's first line, drawn.
    await log.focus();
    await page.keyboard.press('Home');
    const top = await until('the first line to be in view', async () => {
      const p = await logPlace(page);
      return p.scrollTop === 0 ? p : null;
    });
    assert.equal(top.firstSeen, firstLine[0]?.message);
    assert.equal(await log.locator('.log-line .msg').first().textContent(), firstLine[0]?.message);

    // Far jumps (a scrollbar dragged): the frame each one shows has its lines drawn before it is
    // painted (checked in the frame's animation callback, which runs after its scroll event).
    const blankFrames = await page.evaluate<string[]>(`(async () => {
      const box = document.querySelector('[data-testid=task-log]');
      const blank = [];
      for (const top of [400000, 120000, 650000, 30000, 500000, 5000, 700000]) {
        box.scrollTop = top;
        await new Promise((resolve) => requestAnimationFrame(resolve));
        const view = box.getBoundingClientRect();
        const seen = [...box.querySelectorAll('.log-line')].some((row) => {
          const r = row.getBoundingClientRect();
          return r.bottom > view.top + 20 && r.top < view.bottom - 20;
        });
        if (!seen) blank.push(String(top));
      }
      return blank;
    })()`);
    assert.deepEqual(blankFrames, [], 'no frame of a far jump is painted without its lines');
    assert.equal(await page.evaluate('window.__shrank'), null, 'the lines shown never became fewer');
    const most = await mostRows(page);
    assert.ok(most > 30 && most <= 300, `the page drew ${most} lines at most at once, of over 40,000`);
    assert.equal(await log.getAttribute('role'), 'log');
    await shot(page, 'log-03-first-line');

    // Download: the whole try as a file, every line of it, not only those drawn (QA round 50b O1).
    const total = (await stack.api('GET', `/api/runs/${runId}/tasks/extract/logs?try=1&limit=1`, stack.devToken)).body.total_lines as number;
    const saving = page.waitForEvent('download');
    await page.getByTestId('log-download').click();
    const saved = await saving;
    assert.equal(saved.suggestedFilename(), `slow long log-run-${runId.slice(0, 8)}-extract-try-1.log`);
    const file = await saved.path();
    const text = readFileSync(file, 'utf8').split('\n');
    assert.equal(text.pop(), '');
    assert.ok(text.length >= total, `the file holds ${text.length} lines; the try had ${total} when the download began`);
    assert.match(text[0] ?? '', /Z INFO  try 1 of \d+ started on runner /);
    assert.equal(text.filter((l) => / INFO  long line \d+$/.test(l)).length, 40_000);
    assert.ok(text.some((l) => l.endsWith(' WARN  tail line while at the end')));
    await context.close();
  });

  test("a finished try's long log opens at its end, where it succeeded or failed (QA round 54b F1: at the top of its last page, 5,000 lines above)", async () => {
    const created = await stack.api('POST', '/api/airbyte/ingest', stack.devToken, jobBody({ name: 'finished long log' }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const runId = (await stack.api('POST', `/api/airbyte/ingest/${created.body.job_id as string}/runs`, stack.devToken, {})).body.run_id as string;
    const extract = await until('extract to succeed', () => stack.db.prisma.taskInstance.findFirst({ where: { runId, taskId: 'extract', state: 'success' } }));
    // 7,000 lines before the try's own last ones, as a connector that logged much would leave them.
    const last = await stack.db.prisma.taskLog.findFirstOrThrow({ where: { taskInstanceId: extract.id, tryNumber: 1 }, orderBy: { id: 'desc' } });
    await stack.db.prisma.taskLog.createMany({
      data: Array.from({ length: 7000 }, (_, i) => ({ taskInstanceId: extract.id, tryNumber: 1, level: 'info', message: `finished line ${i + 1}`, ts: new Date(last.ts.getTime() - 7000 + i) })),
    });
    await stack.db.prisma.taskLog.create({ data: { taskInstanceId: extract.id, tryNumber: 1, level: 'info', message: 'the last line of the try', ts: new Date(last.ts.getTime() + 1) } });
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${stack.url}/runs/${runId}/tasks/extract`);
    const log = page.getByTestId('task-log');
    await page.getByTestId('log-earlier').waitFor();
    await log.getByText('the last line of the try', { exact: true }).waitFor();
    const at = await until('the log to be at its end', async () => {
      const p = await logPlace(page);
      return p.scrollHeight - p.scrollTop - p.clientHeight <= 18 ? p : null;
    }, 10_000);
    assert.ok(at.scrollTop > 0, 'the view is not at the top of the page of lines');
    await shot(page, 'log-04-finished-long-log-at-end');
    await context.close();
  });
});
