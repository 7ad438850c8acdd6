/**
 * The web dashboard in a real headless Chromium (Debian's, driven by playwright-core): log in with a
 * user's token, open a session, send a prompt and watch the reply stream into the page, answer an
 * ask_user question from the page, withdraw a queued prompt, stop a long turn; allow a tool call that
 * waits for approval; the page keeps
 * streaming when the server drops its event stream; the admin's system page (cron, heartbeat) and
 * the event log, the usage panel (a stand-in usage.command); a phone-sized screen. Every request of every page goes to the daemon's own address.
 * Takes screenshots; with UPDATE_SCREENSHOTS=1 they replace the README's (docs/images/), otherwise they
 * go to the system's temporary directory, so a test run leaves the checkout as it was.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createWorld, waitFor, type TestWorld } from '../support/harness.ts';
import { readEventLog, runCli, startDaemonProcess, stopStartedDaemons, writeConfig } from '../support/daemon-process.ts';

const IMAGES = process.env.UPDATE_SCREENSHOTS === '1' ? path.resolve(import.meta.dirname, '../../docs/images') : fs.mkdtempSync(path.join(os.tmpdir(), 'ce-screens-'));

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

/** A port free now, so the API can be restarted on the same address. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** What the stand-in usage.command prints: the CLI's `get_usage` answer for a subscription. */
const USAGE = {
  subscription_type: 'max',
  rate_limits_available: true,
  rate_limits: { five_hour: { utilization: 55, resets_at: '2099-01-01T05:00:00+00:00' }, seven_day: { utilization: 12, resets_at: '2099-01-05T00:00:00Z' } },
  account: { tokenSource: 'claude.ai', apiKeySource: 'none', apiProvider: 'firstParty' },
};

describe('dashboard', () => {
  let world: TestWorld;
  let config: string;
  let port = 0;
  let base = '';
  let token = '';
  let browser: Browser;
  let page: Page;
  /** Every request any page made, to check that none left the daemon's address. */
  const requests: string[] = [];
  const watched = async (options: Parameters<Browser['newContext']>[0]): Promise<BrowserContext> => {
    const context = await browser.newContext(options);
    context.on('request', (request) => void requests.push(request.url()));
    return context;
  };
  let usageStandIn = '';
  // alice's sessions ask before tool calls (the tools of the daemon's own extensions, such as ask_user, run without asking).
  const webConfig = (rateLimit: number): string =>
    [
      'engine:',
      '  partial_messages: true',
      '  user_permission_modes:',
      '    alice: approve',
      'usage:',
      `  command: [${process.execPath}, ${usageStandIn}]`,
      'enabled: [web, ask_user, cron, heartbeat]',
      'extensions:',
      '  web:',
      `    listen: 127.0.0.1:${port}`,
      `    rate_limit: ${rateLimit}`,
      '',
    ].join('\n');

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
    port = await freePort();
    usageStandIn = path.join(world.root, 'usage-stand-in.mjs');
    fs.writeFileSync(usageStandIn, `process.stdout.write(${JSON.stringify(JSON.stringify(USAGE))});\n`);
    config = writeConfig(world, webConfig(600));
    await startDaemonProcess(world, ['--config', config]);
    const listening = await waitFor('the API to listen', () => readEventLog(world).find((e) => e.type === 'web_listening'));
    base = String(listening.address);
    const created = await runCli(world, ['token', 'create', '--user', 'alice', '--name', 'browser', '--json', '--config', config]);
    assert.equal(created.code, 0, created.stderr);
    token = (JSON.parse(created.stdout) as { token: string }).token;
    browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await (await watched({ viewport: { width: 1100, height: 760 } })).newPage();
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

    // A long turn: a prompt sent meanwhile waits in the queue and is withdrawn from the page; the turn is stopped from the page.
    await sendPrompt('@wait 30000\n@reply too late');
    const longTurn = page.locator('section.turn').nth((await page.locator('section.turn').count()) - 1);
    await page.locator('#session-status', { hasText: 'busy' }).waitFor({ timeout: 15_000 });
    await sendPrompt('@reply never runs');
    const waiting = page.locator('#waiting li', { hasText: 'never runs' });
    await waiting.waitFor();
    await waiting.getByRole('button', { name: 'Withdraw' }).click();
    await waiting.waitFor({ state: 'detached' });
    await lastTurn().locator('.cost[data-outcome="cancelled"]').waitFor({ timeout: 15_000 });
    await lastTurn().getByText('Not run: withdrawn over the HTTP API').waitFor();
    await page.click('#stop');
    await longTurn.locator('.cost[data-outcome="stopped"]').waitFor({ timeout: 15_000 });
    assert.equal(await longTurn.locator('.msg.assistant', { hasText: 'too late' }).count(), 0);
    assert.equal(await page.locator('.msg.assistant', { hasText: 'never runs' }).count(), 0, 'the withdrawn prompt never ran');

    // Back to the list: the session shows what its turns cost.
    await page.click('nav >> text=Sessions');
    await page.locator(`tr[data-session="${session.id}"]`, { hasText: '$0.0' }).waitFor();
  });

  test('a tool call waits for approval in the session page; the sessions list marks the session; "Allow once" runs it and the page shows it allowed', async () => {
    const file = path.join(world.workDir, 'dash-approved');
    const session = await api('POST', '/api/sessions', { name: 'needs-approval' });
    await page.goto(`${base}/#/s/${session.id}`);
    await page.waitForSelector('textarea[name=prompt]');
    const command = `touch ${file} # <img src=x onerror="window.pwned=2">`;
    await sendPrompt(`@tool Bash ${JSON.stringify({ command, description: 'make a file' })}\n@echo-tool`);
    const approval = lastTurn().locator('.approval');
    await approval.waitFor({ timeout: 30_000 });
    assert.match(await approval.innerText(), /Approval: Bash/);
    assert.equal(await approval.locator('pre code').innerText(), command, 'the input, as text');
    assert.equal(await approval.locator('img').count(), 0, 'never as markup');
    await approval.getByRole('button', { name: /^Always allow Bash\(/ }).waitFor();
    assert.ok(!fs.existsSync(file), 'nothing ran while the call waits');
    await page.screenshot({ path: path.join(IMAGES, 'dashboard-approval.png'), fullPage: true });

    await page.click('nav >> text=Sessions');
    await page.locator(`tr[data-session="${session.id}"] .status.needs-approval`, { hasText: '1 to approve' }).waitFor();
    await page.screenshot({ path: path.join(IMAGES, 'dashboard-sessions.png') });
    await page.locator(`tr[data-session="${session.id}"]`).click();
    // Shown again after the page was left: from the kept events and GET /api/approvals.
    const again = page.locator(`.approval[data-approval]`);
    await again.getByRole('button', { name: 'Allow once' }).click();
    await waitFor('the allowed call to run', () => fs.existsSync(file) || undefined, 30_000);
    await page.locator('.approval[data-decision="allow"]', { hasText: 'Allowed by alice' }).waitFor({ timeout: 15_000 });
    await lastTurn().locator('.cost[data-outcome="success"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('.approval .approval-actions').count(), 0, 'no buttons once answered');
    assert.equal(await page.evaluate<unknown>('window.pwned'), undefined);

    await page.click('nav >> text=Sessions');
    const row = page.locator(`tr[data-session="${session.id}"]`);
    await row.locator('.cost-today', { hasText: '$0.0' }).waitFor();
    assert.equal(await row.locator('.status.needs-approval').count(), 0, 'no longer marked');
    assert.equal(await row.locator('.cost-today').innerText(), await row.locator('.cost-total').innerText(), 'all of its cost is of today');

    // "Allow for this session" saves a rule of the session; the system page lists it, and Revoke removes it.
    await row.click();
    await page.waitForSelector('textarea[name=prompt]');
    await sendPrompt(`@tool Bash ${JSON.stringify({ command: `mkdir -p ${path.join(world.workDir, 'dash-rule')}`, description: 'make a directory' })}\n@echo-tool`);
    await lastTurn().locator('.approval').getByRole('button', { name: 'Allow for this session' }).click();
    await lastTurn().locator('.approval[data-decision="allow"]').waitFor({ timeout: 15_000 });
    await page.click('nav >> text=System');
    const rule = page.locator('#rules tr', { hasText: 'Bash(mkdir' });
    await rule.waitFor();
    assert.match(await rule.innerText(), new RegExp(`alice[\\s\\S]*session ${session.id}`));
    await rule.getByRole('button', { name: 'Revoke' }).click();
    await rule.waitFor({ state: 'detached' });
    assert.equal((await api('GET', '/api/rules')).length, 0);
  });

  test("the admin's system page: extensions' health, cron jobs paused, resumed, run and deleted, a job's runs, the heartbeat's valves paused and resumed; the event log filtered and paged", async () => {
    const admin = fs.readFileSync(path.join(world.stateDir, 'admin.token'), 'utf8').trim();
    const job = await fetch(`${base}/api/cron`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'nightly-report', prompt: '@reply report', schedule: '0 3 * * *', user: 'alice' }),
    });
    assert.equal(job.status, 201, await job.text());
    const context = await watched({ viewport: { width: 1100, height: 900 } });
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
    await cron.locator('[data-action=pause]').click();
    await cron.locator('[data-action=resume]').waitFor();
    assert.match(await cron.innerText(), /paused/);
    await cron.locator('[data-action=resume]').click();
    await cron.locator('[data-action=pause]').waitFor();
    await cron.locator('[data-action=run]').click();
    const jobId = await cron.locator('[data-job]').getAttribute('data-job');
    await waitFor('the run to succeed', async () => {
      const runs = (await (await fetch(`${base}/api/cron/${jobId}/runs`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { runs: Array<{ status: string }> };
      return runs.runs.some((r: { status: string }) => r.status === 'success');
    }, 60_000);
    await cron.getByRole('link', { name: 'nightly-report' }).click();
    await system.locator('#cron-runs tr', { hasText: 'success' }).waitFor();
    assert.equal(await system.locator('#runs-older').isDisabled(), true, 'one run: no older page');
    await system.getByRole('link', { name: '← System' }).click();

    const heartbeat = system.locator('#heartbeat');
    await heartbeat.locator('#heartbeat-valves tr', { hasText: 'max_runs_per_day' }).waitFor();
    await heartbeat.locator('#heartbeat-pause').click();
    await system.locator('#heartbeat-state', { hasText: 'Paused until' }).waitFor();
    await system.locator('#heartbeat-valves tr', { hasText: 'paused' }).getByText('until').waitFor();
    await system.locator('#heartbeat-resume').click();
    await system.locator('#heartbeat-state', { hasText: 'Active' }).waitFor();
    await system.locator('#heartbeat-trigger').click();
    await system.locator('#heartbeat-ticks tbody tr').first().waitFor({ timeout: 30_000 });

    const usage = system.locator('#usage');
    await usage.waitFor();
    assert.match(await system.locator('#usage-auth').innerText(), /^Subscription \(max\)/);
    assert.match(await usage.locator('[data-window="5 hours"]').innerText(), /55%[\s\S]*resets/);
    assert.match(await usage.locator('[data-window="7 days"]').innerText(), /12%/);
    assert.equal(await usage.locator('[data-window="5 hours"] meter').getAttribute('value'), '55');
    await usage.locator('#usage-costs tr', { hasText: 'alice' }).waitFor();
    await system.screenshot({ path: path.join(IMAGES, 'dashboard-system.png'), fullPage: true });
    system.once('dialog', (dialog) => void dialog.accept());
    await system.locator('[data-section="Cron"] tr', { hasText: 'nightly-report' }).locator('[data-action=delete]').click();
    await system.locator('[data-section="Cron"] tr', { hasText: 'nightly-report' }).waitFor({ state: 'detached' });

    await system.click('nav >> text=Log');
    const firstLine = async (): Promise<number> => Number(await system.locator('#log tbody tr td').first().innerText());
    await system.locator('#log tbody tr').first().waitFor();
    await system.selectOption('#log-filters select[name=limit]', '10');
    await system.click('#log-filters button[type=submit]');
    await waitFor('a page of 10', async () => ((await system.locator('#log tbody tr').count()) === 10 ? true : undefined));
    const newestFirst = await firstLine();
    await system.click('#log-older');
    await waitFor('an older page', async () => ((await firstLine()) < newestFirst ? true : undefined));
    await system.click('#log-newer');
    await waitFor('the newest page again', async () => ((await firstLine()) === newestFirst ? true : undefined));
    await system.fill('#log-filters input[name=type]', 'web_token_created');
    await system.click('#log-filters button[type=submit]');
    await waitFor('only the filtered type', async () => {
      const types = await system.locator('#log tbody tr td:nth-child(3)').allInnerTexts();
      return types.length > 0 && types.every((t) => t === 'web_token_created') ? true : undefined;
    });
    await context.close();
  });

  test('the page keeps streaming when the server drops its event stream: it reconnects and resumes where it was', async () => {
    const session = await api('POST', '/api/sessions', { name: 'reconnecting' });
    const eventStreams = (): number => requests.filter((url) => url.startsWith(`${base}/api/sessions/${session.id}/events`)).length;
    await page.goto(`${base}/#/s/${session.id}`);
    await page.waitForSelector('textarea[name=prompt]');
    await waitFor('the event stream to open', () => eventStreams() === 1 || undefined);
    const final = 'This reply keeps arriving while the API restarts under the page, and none of it is lost or shown twice.';
    await sendPrompt(`@chunk 3 150\n@reply ${final}`);
    const shown = () => lastTurn().locator('.msg.assistant').first().textContent().catch(() => null);
    await waitFor('part of the reply', async () => ((await shown())?.length ?? 0) > 0 || undefined, 30_000);

    // A changed web section restarts the extension: its server ends every open stream and listens again on the same address.
    const listened = readEventLog(world).filter((e) => e.type === 'web_listening').length;
    fs.writeFileSync(config, `state_dir: ${world.stateDir}\nsessions:\n  default_cwd: ${world.workDir}\n${webConfig(601)}`);
    const reload = await runCli(world, ['reload', '--config', config]);
    assert.equal(reload.code, 0, reload.stderr);
    await waitFor('the API to listen again', () => readEventLog(world).filter((e) => e.type === 'web_listening')[listened]);
    const atRestart = (await shown()) ?? '';
    assert.ok(atRestart.length < final.length, `the reply was still streaming when the stream was dropped (${atRestart.length} characters shown)`);

    await lastTurn().locator('.cost').waitFor({ timeout: 30_000 });
    assert.equal(await shown(), final, 'the whole reply, once');
    assert.ok(eventStreams() >= 2, `the page opened the stream again (${eventStreams()} requests)`);
    assert.equal(await page.locator('#conversation .msg.user').count(), 1, 'no turn shown twice');
  });

  test('on a phone-sized screen the sessions list and a session are readable without scrolling sideways, in the dark theme', async () => {
    const context = await watched({ viewport: { width: 390, height: 844 }, colorScheme: 'dark', isMobile: true, hasTouch: true });
    const phone = await context.newPage();
    await phone.goto(base); // a new context: it logs in on its own
    await phone.fill('input[name=token]', token);
    await phone.click('button[type=submit]');
    await phone.locator('tr[data-session]').first().waitFor();
    const overflow = () => phone.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    assert.ok((await overflow()) <= 0, `the list is ${await overflow()}px wider than the screen`);
    const background = await phone.evaluate<string>('getComputedStyle(document.body).backgroundColor');
    assert.equal(background, 'rgb(22, 23, 26)', 'the dark theme follows the system');

    await phone.locator('tr[data-session]', { hasText: 'dash-demo' }).click();
    await phone.locator('section.turn .cost').first().waitFor();
    await phone.locator('form.question').first().waitFor();
    assert.ok((await overflow()) <= 0, `the session page is ${await overflow()}px wider than the screen`);
    const composer = await phone.locator('textarea[name=prompt]').boundingBox();
    assert.ok(composer && composer.width <= 390 && composer.width > 300, `the prompt box fits the screen (${composer?.width}px)`);
    await phone.evaluate('window.scrollTo(0, 0)');
    await phone.screenshot({ path: path.join(IMAGES, 'dashboard-phone.png') });

    // A waiting approval with a long command, and the system page's usage bars, fit the screen too.
    const waiting = await api('POST', '/api/sessions', { name: 'phone-approval' });
    const command = `touch ${path.join(world.workDir, 'a-rather-long-directory-name-that-does-not-break', 'and-a-file-name-as-long')}`;
    await api('POST', `/api/sessions/${waiting.id}/prompts`, { text: `@tool Bash ${JSON.stringify({ command, description: 'long' })}\n@echo-tool` });
    const pending = await waitFor('the approval', async () => (await api('GET', `/api/approvals?session=${waiting.id}`))[0], 30_000);
    await phone.goto(`${base}/#/s/${waiting.id}`);
    await phone.locator('.approval [data-answer="always"]').waitFor();
    assert.ok((await overflow()) <= 0, `a waiting approval is ${await overflow()}px wider than the screen`);
    await phone.goto(`${base}/#/system`);
    await phone.locator('#usage [data-window="5 hours"] meter').waitFor();
    assert.ok((await overflow()) <= 0, `the system page is ${await overflow()}px wider than the screen`);
    assert.equal((await api('POST', `/api/approvals/${pending.id}`, { decision: 'deny' })).decision, 'deny');
    await context.close();
  });

  test('no page requested anything from outside the daemon', () => {
    const paths = requests.map((url) => url.replace(base, ''));
    for (const expected of ['/static/app.js', '/static/markdown.js', '/static/style.css', '/api/login', '/api/sessions', '/api/cron', '/api/heartbeat', '/api/events?', '/runs?', '/api/approvals?session=', '/api/approvals/', '/api/usage', '/api/rules']) {
      assert.ok(paths.some((p) => p.includes(expected)), `some page requested ${expected}: ${JSON.stringify([...new Set(paths)].slice(0, 40))}`);
    }
    const elsewhere = requests.filter((url) => !url.startsWith(`${base}/`));
    assert.deepEqual(elsewhere, [], 'every request goes to the daemon');
  });
});
