/**
 * The web dashboard in a real headless Chromium (Debian's, driven by playwright-core): log in with a
 * user's token, open a session, send a prompt and watch the reply stream into the page, answer an
 * ask_user question from the page, stop a long turn; the admin's system page. Saves screenshots for the README (docs/images/).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createWorld, waitFor, type TestWorld } from '../support/harness.ts';
import { readEventLog, runCli, startDaemonProcess, stopStartedDaemons, writeConfig } from '../support/daemon-process.ts';

const IMAGES = path.resolve(import.meta.dirname, '../../docs/images');

/** Debian's chromium (CHROMIUM_PATH overrides): `.ci/run` installs it when missing. */
function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('which', [name], { encoding: 'utf8' }).trim();
    } catch {
      // try the next name
    }
  }
  throw new Error('no chromium on PATH: apt-get install chromium, or set CHROMIUM_PATH');
}

describe('dashboard', () => {
  let world: TestWorld;
  let config: string;
  let base = '';
  let token = '';
  let browser: Browser;
  let page: Page;

  const api = async (method: string, url: string, body?: unknown): Promise<any> => { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON answers
    const response = await fetch(`${base}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    return response.json();
  };
  /** Sends a prompt from the page and waits for its turn to appear (so that lastTurn() is this one). */
  const sendPrompt = async (text: string): Promise<void> => {
    const turns = await page.locator('section.turn').count();
    await page.fill('textarea[name=prompt]', text);
    await page.click('#send');
    await page.locator('section.turn').nth(turns).waitFor();
  };
  const lastTurn = () => page.locator('section.turn').last();

  before(async () => {
    world = await createWorld('dashboard');
    config = writeConfig(world, 'engine:\n  partial_messages: true\nenabled: [web, ask_user, cron, heartbeat]\nextensions:\n  web:\n    listen: 127.0.0.1:0\n');
    await startDaemonProcess(world, ['--config', config]);
    const listening = await waitFor('the API to listen', () => readEventLog(world).find((e) => e.type === 'web_listening'));
    base = String(listening.address);
    const created = await runCli(world, ['token', 'create', '--user', 'alice', '--name', 'browser', '--json', '--config', config]);
    assert.equal(created.code, 0, created.stderr);
    token = (JSON.parse(created.stdout) as { token: string }).token;
    browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  });
  after(async () => {
    await browser?.close();
    await stopStartedDaemons();
    await world.cleanup();
  });

  test('the page and its files carry a content security policy; a wrong token is refused on the login page', async () => {
    const index = await fetch(`${base}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(await index.text(), /\/static\/app\.js/);
    assert.equal((await fetch(`${base}/static/markdown.js`)).status, 200);
    assert.equal((await fetch(`${base}/static/../extension.js`)).status, 404);

    await page.goto(base);
    await page.waitForSelector('input[name=token]');
    await page.fill('input[name=token]', 'cxt_wrong_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
    await page.click('button[type=submit]');
    await page.getByText('That token is not valid.').waitFor();
  });

  test('log in with a token, see the sessions, open one, watch a reply stream in, answer a question, stop a long turn', async () => {
    const session = await api('POST', '/api/sessions', { name: 'dash-demo' });
    await api('POST', '/api/sessions', { name: 'notes' });

    await page.fill('input[name=token]', token);
    await page.click('button[type=submit]');
    const row = page.locator(`tr[data-session="${session.id}"]`);
    await row.waitFor();
    assert.match(await row.innerText(), /dash-demo[\s\S]*idle[\s\S]*alice/);
    assert.equal(await page.locator('#who').innerText(), 'alice');

    await row.click();
    await page.waitForSelector('textarea[name=prompt]');
    assert.match(page.url(), new RegExp(`#/s/${session.id}$`));

    // A reply streamed slowly: the page shows part of it before all of it, then renders its Markdown.
    const final = 'The answer is **forty-two**, sent in small pieces so that the page shows it while it streams.';
    await sendPrompt(`@chunk 4 120\n@reply ${final}`);
    const seen: string[] = [];
    await waitFor('the whole reply in the page', async () => {
      const text = await lastTurn().locator('.msg.assistant').first().textContent().catch(() => null);
      if (text) seen.push(text);
      return text?.includes('while it streams.') ? true : undefined;
    }, 30_000);
    assert.ok(seen.some((text) => text.length > 0 && !text.includes('while it streams.')), `a part was shown first: ${JSON.stringify(seen.slice(0, 5))}`);
    await lastTurn().locator('strong', { hasText: 'forty-two' }).waitFor();
    await lastTurn().locator('.cost').waitFor();
    assert.match(await lastTurn().locator('.msg.user').innerText(), /@chunk 4 120/);
    assert.match(await lastTurn().locator('.cost').innerText(), /^success · \$/);

    // Model output is shown, never run: HTML in a reply stays text; code is highlighted.
    await sendPrompt('@reply Untrusted: <img src=x onerror="window.pwned=1"><script>window.pwned=1</script>\\n```js\\nconst answer = 42; // the answer\\n```');
    await lastTurn().locator('.cost').waitFor();
    const reply = lastTurn().locator('.msg.assistant');
    assert.match(await reply.innerText(), /Untrusted: <img src=x onerror="window.pwned=1"><script>/);
    assert.equal(await reply.locator('img, script').count(), 0);
    assert.equal(await reply.locator('pre code .tok-kw', { hasText: 'const' }).count(), 1);
    assert.equal(await page.evaluate<unknown>('window.pwned'), undefined);

    // A question the model asks is answered in the page; the model's next answer shows it.
    await sendPrompt('@tool mcp__ask_user__ask_user {"question":"Which colour?","options":["red","blue"]}\n@echo-tool');
    const question = lastTurn().locator('form.question');
    await question.getByText('Which colour?').waitFor();
    await question.locator('input[name=answer]').fill('teal');
    await question.getByRole('button', { name: 'Answer' }).click();
    await lastTurn().locator('.msg.assistant', { hasText: 'teal' }).waitFor({ timeout: 30_000 });
    assert.match(await question.innerText(), /Answered: teal/);
    await page.screenshot({ path: path.join(IMAGES, 'dashboard-session.png'), fullPage: true });

    // A long turn is stopped from the page.
    await sendPrompt('@wait 30000\n@reply too late');
    await page.locator('#session-status', { hasText: 'busy' }).waitFor({ timeout: 15_000 });
    await page.click('#stop');
    await lastTurn().locator('.cost[data-outcome="stopped"]').waitFor({ timeout: 15_000 });
    assert.equal(await lastTurn().locator('.msg.assistant', { hasText: 'too late' }).count(), 0);

    // Back to the list: the session shows what its turns cost.
    await page.click('nav >> text=Sessions');
    await page.locator(`tr[data-session="${session.id}"]`, { hasText: '$0.0' }).waitFor();
    await page.screenshot({ path: path.join(IMAGES, 'dashboard-sessions.png') });
  });

  test("the admin's system page: extensions' health, cron jobs with their next run, the heartbeat, the event log", async () => {
    const admin = fs.readFileSync(path.join(world.stateDir, 'admin.token'), 'utf8').trim();
    const job = await fetch(`${base}/api/cron`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'nightly-report', prompt: '@reply report', schedule: '0 3 * * *', user: 'alice' }),
    });
    assert.equal(job.status, 201, await job.text());
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const system = await context.newPage();
    await system.goto(base);
    await system.fill('input[name=token]', admin);
    await system.click('button[type=submit]');
    await system.locator('#who', { hasText: 'admin' }).waitFor();
    await system.click('nav >> text=System');
    const extensions = system.locator('[data-section="Extensions"] tr', { hasText: 'web' });
    await extensions.waitFor();
    assert.match(await extensions.innerText(), /running[\s\S]*ok[\s\S]*listening on http/);
    const cron = system.locator('[data-section="Cron"] tr', { hasText: 'nightly-report' });
    await cron.waitFor();
    assert.match(await cron.innerText(), /0 3 \* \* \*[\s\S]*active/);
    await system.locator('#heartbeat').getByText('Runs today').waitFor();
    await system.locator('[data-section="Event log"] td', { hasText: 'web_listening' }).first().waitFor();
    await context.close();
  });

  test('on a phone-sized screen the sessions list is readable without scrolling sideways', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 800 }, colorScheme: 'dark' });
    await phone.goto(base); // a new context: it logs in on its own
    await phone.fill('input[name=token]', token);
    await phone.click('button[type=submit]');
    await phone.locator('tr[data-session]').first().waitFor();
    const overflow = await phone.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    const background = await phone.evaluate<string>('getComputedStyle(document.body).backgroundColor');
    assert.equal(background, 'rgb(22, 23, 26)', 'the dark theme follows the system');
    await phone.close();
  });
});
