// Browser tests of the chat widget against the real all-in-one JoxAI (NATS, Postgres, workers,
// offline AI), in Debian's Chromium driven by playwright-core. The tests run in order and share one
// customer conversation, the way a real customer's chat unfolds: ask the bot, reload, escalate,
// hear from an agent, lose the network, rate.
//
//   npm test            (builds the widget first; the backend is started and stopped here)
//   JOXAI_TEST_URL=http://127.0.0.1:5000 npm run test:browser   (against a server you already run)

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const widgetDir = join(here, '..');
const repoRoot = join(widgetDir, '..', '..');
const shots = join(widgetDir, 'test-results');
mkdirSync(shots, { recursive: true });

/** This file's own port (JOXAI_WIDGET_TEST_PORT), so it can run beside other suites. */
const PORT = Number(process.env.JOXAI_WIDGET_TEST_PORT || 5062);
const DEMO_PASSWORD = process.env.JOXAI_DEMO_PASSWORD || 'e2e-password-123';
/** Generous: the debug build's first AI answer and a cold Postgres can take a few seconds. */
const SLOW = 30_000;

let serverPid = null;
let base = process.env.JOXAI_TEST_URL || null;
let browser;
let context;
let page;
let agentToken;
let agentId;
let conversationId;
let customerToken;
/** The last API requests the browser made (see `before`), printed when a test fails. */
const networkLog = [];

// ---- helpers ----

/** Start our own backend (see infra/scripts/serve-for-tests.sh): "PID URL" on its last line. */
function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(repoRoot, 'infra/scripts/serve-for-tests.sh'), String(PORT)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      const [pid, url] = last.split(/\s+/);
      if (code === 0 && pid && url) resolve({ pid: Number(pid), url });
      else reject(new Error(`serve-for-tests.sh exited with ${code}: ${out}`));
    });
  });
}

async function http(method, path, { token, body } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = { raw: text };
  }
  return { status: response.status, json };
}

/** Poll until `check` returns something truthy (bounded, never a bare sleep). */
async function eventually(check, { timeout = SLOW, every = 200, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/** The chat inside the widget's iframe (inside the launcher's shadow root; CSS locators pierce it). */
const chatFrame = (p = page) => p.frameLocator('joxai-widget iframe');
const launcher = (p = page) => p.locator('joxai-widget button.launcher');

async function openChat(p = page) {
  await launcher(p).click();
  await chatFrame(p).locator('#joxai-input').waitFor({ timeout: SLOW });
}

/** The frame's stored session (conversation id + token), read from the iframe's own storage. */
async function storedSession(p = page) {
  const frame = await eventually(() => p.frames().find((f) => f.url().includes('/widget/frame.html')), { what: 'the chat frame' });
  return eventually(
    () => frame.evaluate(() => JSON.parse(localStorage.getItem('joxai.session.v1') || 'null')),
    { what: 'a stored chat session' },
  );
}

async function customerTexts(p = page) {
  return chatFrame(p).locator('.line[data-sender="customer"] .bubble').allInnerTexts();
}

/** Type and send a message. The box takes text while the chat is still starting, but Enter sends only once it
 * is ready (the send button is enabled then), so wait for that rather than lose the Enter. */
async function send(text, p = page) {
  const input = chatFrame(p).locator('#joxai-input');
  await input.fill(text);
  await chatFrame(p).locator('button.send:not([disabled])').waitFor({ timeout: SLOW });
  await input.press('Enter');
}

/** A customer line by its text, ignoring the screen-reader prefix ("You: "). */
const customerLine = (text, p = page) => chatFrame(p).locator('.line[data-sender="customer"]', { hasText: text });

// ---- set-up ----

before(async () => {
  if (!base) {
    const server = await startServer();
    serverPid = server.pid;
    base = server.url;
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // Playwright gives every launch a fresh temporary --user-data-dir of its own.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 820 } });
  page = await context.newPage();
  page.on('pageerror', (e) => console.error('[page error]', e.message));
  // What the widget asked of the server, kept so a failing test can say what happened.
  for (const [kind, event] of [['request', 'request'], ['failed', 'requestfailed'], ['response', 'response']]) {
    context.on(event, (x) => {
      const request = kind === 'response' ? x.request() : x;
      if (!request.url().includes('/api/')) return;
      const detail = kind === 'response' ? x.status() : kind === 'failed' ? request.failure()?.errorText : '';
      networkLog.push(`${new Date().toISOString().slice(11, 23)} ${kind} ${request.method()} ${new URL(request.url()).pathname} ${detail ?? ''}`);
      if (networkLog.length > 200) networkLog.shift();
    });
  }
  const login = await http('POST', '/api/v1/auth/login', { body: { email: 'agent@joxai.local', password: DEMO_PASSWORD } });
  assert.equal(login.status, 200, `agent login: ${JSON.stringify(login.json)}`);
  agentToken = login.json.access_token;
  agentId = login.json.user.id;
  // With the only agent offline, an escalation waits in the queue (instead of being assigned at
  // once), so the tests can see the customer's waiting state before an agent takes the ticket.
  const away = await http('PUT', '/api/v1/me/availability', { token: agentToken, body: { availability: 'offline' } });
  assert.equal(away.status, 200, `agent availability: ${JSON.stringify(away.json)}`);
});

after(async () => {
  await browser?.close();
  if (serverPid) {
    try {
      process.kill(serverPid);
    } catch {
      // Already gone.
    }
  }
});

// ---- the customer's journey ----

test('the demo bank page shows the launcher, and the bank page CSS cannot restyle it', async () => {
  await page.goto(base + '/');
  // Hostile page CSS: an unprotected widget would pick this up.
  await page.addStyleTag({ content: 'button, iframe { border: 9px solid red !important; display: none !important; }' });
  await launcher().waitFor({ state: 'visible' });
  assert.equal(await launcher().getAttribute('aria-expanded'), 'false');
  assert.equal(await launcher().getAttribute('aria-label'), 'Open chat');
  const border = await launcher().evaluate((el) => getComputedStyle(el).borderTopWidth);
  assert.equal(border, '0px', 'the page CSS leaked into the launcher');
  await page.screenshot({ path: join(shots, 'launcher-closed.png') });
});

test('a balance question gets an answer from the bot, and the message goes pending to delivered', async () => {
  await openChat();
  assert.equal(await launcher().getAttribute('aria-expanded'), 'true');
  const session = await storedSession();
  conversationId = session.conversationId;
  customerToken = session.token;
  await send('What is my account balance?');
  await customerLine('What is my account balance?').and(chatFrame().locator('[data-status="delivered"]')).waitFor({ timeout: SLOW });
  const answer = chatFrame().locator('.line[data-sender="bot"]:not(.welcome)').first();
  await answer.waitFor({ timeout: SLOW });
  const text = await answer.innerText();
  assert.ok(text.length > 10, `bot answer too short: ${text}`);
  // The typing indicator is gone once the answer is there.
  assert.equal((await chatFrame().getByTestId('typing').innerText()).trim(), '');
  await page.screenshot({ path: join(shots, 'open-conversation.png') });
});

test('reloading the page shows the same transcript, and the panel stays open', async () => {
  const before = await chatFrame().locator('.line .bubble').allInnerTexts();
  await page.reload();
  await chatFrame().locator('#joxai-input').waitFor({ timeout: SLOW });
  await eventually(async () => (await chatFrame().locator('.line .bubble').count()) >= before.length, { what: 'the transcript after reload' });
  const after = await chatFrame().locator('.line .bubble').allInnerTexts();
  assert.deepEqual(after, before);
  assert.equal((await storedSession()).conversationId, conversationId, 'a reload must not start a new conversation');
});

test('a second tab continues the same conversation', async () => {
  const second = await context.newPage();
  try {
    await second.goto(base + '/');
    await openChat(second);
    await customerLine('What is my account balance?', second).waitFor({ timeout: SLOW });
    assert.equal((await storedSession(second)).conversationId, conversationId);
  } finally {
    await second.close();
  }
});

test('the open panel traps keyboard focus, and Escape closes it and returns focus to the launcher', async () => {
  const insideFrame = () =>
    page.evaluate(() => document.querySelector('joxai-widget')?.shadowRoot?.activeElement?.tagName === 'IFRAME');
  await chatFrame().locator('#joxai-input').focus();
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    assert.ok(await insideFrame(), `focus left the chat panel after ${i + 1} Tab presses`);
  }
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Shift+Tab');
    assert.ok(await insideFrame(), `focus left the chat panel after ${i + 1} Shift+Tab presses`);
  }
  await page.keyboard.press('Escape');
  await eventually(async () => (await launcher().getAttribute('aria-expanded')) === 'false', { what: 'the panel to close' });
  const focused = await page.evaluate(() => document.querySelector('joxai-widget')?.shadowRoot?.activeElement?.className);
  assert.equal(focused, 'launcher');
  await openChat();
});

test('asking for a person shows the waiting state, and an agent reply arrives live, rendered as text', async () => {
  await chatFrame().getByRole('button', { name: 'Talk to a person' }).click();
  const banner = chatFrame().getByTestId('waiting-banner');
  await banner.waitFor({ timeout: SLOW });
  await eventually(async () => /TKT-\d+/.test(await banner.innerText()), { what: 'the ticket number in the waiting banner' });
  // The talk-to-a-person button is gone: asking twice would only confuse.
  assert.equal(await chatFrame().getByRole('button', { name: 'Talk to a person' }).count(), 0);
  await page.screenshot({ path: join(shots, 'escalated.png') });

  const ticket = await eventually(
    async () => {
      const list = await http('GET', '/api/v1/tickets?limit=100', { token: agentToken });
      return list.json?.items?.find((t) => t.conversation_id === conversationId);
    },
    { what: "the conversation's ticket" },
  );
  // The agent takes the ticket from the queue (what the panel does): the customer is told who joined.
  const taken = await http('POST', `/api/v1/tickets/${ticket.id}/assign`, { token: agentToken, body: { assignee_id: agentId } });
  assert.equal(taken.status, 200, `assign: ${JSON.stringify(taken.json)}`);
  await chatFrame().getByTestId('notice').filter({ hasText: 'Alex Agent joined the conversation' }).waitFor({ timeout: SLOW });
  await eventually(async () => (await banner.count()) === 0, { what: 'the waiting banner to go' });
  assert.match(await chatFrame().locator('.status').innerText(), /Chatting with Alex Agent/);

  // The agent starts typing: the customer sees who is typing.
  const typing = await http('POST', `/api/v1/tickets/${ticket.id}/typing`, { token: agentToken, body: {} });
  if (typing.status < 300) {
    await chatFrame().getByTestId('typing').filter({ hasText: 'Alex Agent is typing' }).waitFor({ timeout: SLOW });
  } else {
    console.log(`  · agent typing not checked: POST /tickets/{id}/typing answered ${typing.status}`);
  }

  const reply = 'Hello, this is <b>Ana</b>. See https://bank.example/help and javascript:alert(1) please.';
  const posted = await http('POST', `/api/v1/tickets/${ticket.id}/messages`, { token: agentToken, body: { text: reply } });
  assert.ok([200, 201, 202].includes(posted.status), `agent reply: ${posted.status} ${JSON.stringify(posted.json)}`);

  const agentLine = chatFrame().locator('.line[data-sender="agent"]').last();
  await agentLine.waitFor({ timeout: SLOW });
  const bubble = agentLine.locator('.bubble');
  assert.match(await bubble.innerText(), /<b>Ana<\/b>/, 'HTML from the server must show as text');
  assert.equal(await bubble.locator('b').count(), 0, 'HTML from the server must never become elements');
  const links = await bubble.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(links, ['https://bank.example/help'], 'only http(s) addresses become links');
  // The agent's message ends their typing indicator.
  assert.equal((await chatFrame().getByTestId('typing').innerText()).trim(), '');
  await page.screenshot({ path: join(shots, 'agent-replied.png') });
});

test('with a person on the chat the customer may leave an email: a wrong one is explained, a good one is kept and the conversation can be emailed', async () => {
  const box = chatFrame().getByTestId('email-box');
  await box.waitFor({ timeout: SLOW });
  const input = box.getByLabel('Your email (optional)');
  assert.match(await box.innerText(), /we'll write to you if you leave the chat/);
  const save = box.getByRole('button', { name: 'Save email' });

  // Not an address: said in words, next to the field, and nothing reaches the server.
  const contactCalls = () => networkLog.filter((l) => l.includes('/contact')).length;
  const before = contactCalls();
  await input.fill('ana at example');
  await save.click();
  await box.getByRole('alert').filter({ hasText: 'like name@example.com' }).waitFor({ timeout: SLOW });
  assert.equal(await input.getAttribute('aria-invalid'), 'true');
  // A card number is never sent as an address.
  await input.fill('4111 1111 1111 1111@example.com');
  await save.click();
  await box.getByRole('alert').filter({ hasText: 'looks like a card number' }).waitFor({ timeout: SLOW });
  assert.equal(contactCalls(), before, 'refused in the browser');

  await input.fill('ana.customer@example.com');
  await save.click();
  await box.getByRole('status').filter({ hasText: "We'll write to a***@example.com if you leave the chat." }).waitFor({ timeout: SLOW });
  await page.screenshot({ path: join(shots, 'email-left.png') });

  // The address is stored for this conversation: asking for the transcript is accepted and names it.
  await box.getByRole('button', { name: 'Email me this conversation' }).click();
  await box.getByRole('status').filter({ hasText: "We're sending this conversation to a***@example.com." }).waitFor({ timeout: SLOW });
  const again = await http('POST', `/api/v1/chat/conversations/${conversationId}/transcript-email`, { token: customerToken, body: {} });
  assert.equal(again.status, 202, JSON.stringify(again.json));
  assert.equal(again.json.email, 'a***@example.com');
  // The server refuses a bad address with its stable error body, whatever a client sends.
  const bad = await http('PUT', `/api/v1/chat/conversations/${conversationId}/contact`, { token: customerToken, body: { email: 'not an address' } });
  assert.equal(bad.status, 422);
  assert.equal(bad.json.code, 'validation_failed');
  assert.equal(bad.json.fields[0].field, 'email');
});

test('a message sent while offline is queued, then delivered exactly once after reconnecting', async () => {
  // Unique, but never a long run of digits: a 13-digit Date.now() passes the card-number (Luhn)
  // check about one time in ten, and the server rightly stores it masked, which is how this test
  // used to fail now and then.
  const text = `Sent while offline ${Date.now().toString(36)}`;
  await context.setOffline(true);
  try {
    await chatFrame().getByTestId('offline-banner').waitFor({ timeout: SLOW });
    await send(text);
    const line = customerLine(text);
    await line.waitFor();
    assert.equal(await line.getAttribute('data-status'), 'queued');
    // Let a retry or two fail while offline: they must not duplicate anything later.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(await line.getAttribute('data-status'), 'queued');
    await page.screenshot({ path: join(shots, 'offline-queued.png') });
    // Meanwhile the agent writes: it must reach the customer after the reconnect (live or replayed
    // by the socket's resume), exactly once.
    const list = await http('GET', '/api/v1/tickets?limit=100', { token: agentToken });
    const ticket = list.json.items.find((t) => t.conversation_id === conversationId);
    const missed = await http('POST', `/api/v1/tickets/${ticket.id}/messages`, { token: agentToken, body: { text: `${text} — agent` } });
    assert.equal(missed.status, 202);
  } finally {
    await context.setOffline(false);
  }
  try {
    await customerLine(text).and(chatFrame().locator('[data-status="delivered"]')).waitFor({ timeout: SLOW });
  } catch (error) {
    // Say what state it was left in, and what the server has, so a failure can be understood.
    const status = await customerLine(text).first().getAttribute('data-status', { timeout: 1000 }).catch(() => 'not shown');
    const stored = await http('GET', `/api/v1/chat/conversations/${conversationId}/messages`, { token: customerToken });
    const mine = (stored.json?.messages ?? []).filter((m) => m.text === text);
    console.error(`  · the line shows "${status}"; the server stored it ${mine.length} time(s): ${JSON.stringify(mine)}`);
    console.error(`  · the widget's last API requests:\n    ${networkLog.slice(-40).join('\n    ')}`);
    throw error;
  }
  assert.equal(await customerLine(text).count(), 1, 'shown once in the widget');
  const agentMissed = chatFrame().locator('.line[data-sender="agent"]', { hasText: `${text} — agent` });
  await agentMissed.waitFor({ timeout: SLOW });
  assert.equal(await agentMissed.count(), 1);
  const transcript = await http('GET', `/api/v1/chat/conversations/${conversationId}/messages`, { token: customerToken });
  assert.equal(transcript.status, 200);
  const stored = transcript.json.messages.filter((m) => m.text === text);
  assert.equal(stored.length, 1, 'stored exactly once on the server');
  // A reload after all that still shows it once.
  await page.reload();
  await customerLine(text).waitFor({ timeout: SLOW });
  assert.equal(await customerLine(text).count(), 1);
  assert.equal((await customerTexts()).filter((t) => t.includes(text)).length, 1);
});

test('a verified customer who lost their card gets Yes / No buttons, and the card is blocked only after Yes', async () => {
  // A conversation of its own, so blocking the demo card cannot change what the other journeys see.
  const ownContext = await browser.newContext({ viewport: { width: 1280, height: 820 } });
  const p = await ownContext.newPage();
  try {
    await p.goto(base + '/');
    await openChat(p);
    await send('I lost my card', p);
    const buttons = chatFrame(p).getByTestId('confirm-buttons');
    await buttons.waitFor({ timeout: SLOW });
    assert.equal(await buttons.getAttribute('data-card'), '5512', 'asks about the signed-in customer\'s card');
    const question = chatFrame(p).locator('.line[data-sender="bot"]', { hasText: 'card ending 5512' });
    assert.equal(await question.count(), 1);
    await p.screenshot({ path: join(shots, 'confirm-block-card.png') });
    await buttons.getByRole('button', { name: 'Yes' }).click();
    await chatFrame(p).locator('.line[data-sender="bot"]', { hasText: 'blocked your card' }).waitFor({ timeout: SLOW });
    assert.match((await customerTexts(p)).pop() ?? '', /\bYes$/, 'the button sent the answer as the customer');
    assert.equal(await buttons.count(), 0, 'the buttons go away once the question is answered');
    await p.screenshot({ path: join(shots, 'card-blocked.png') });
  } finally {
    await ownContext.close();
  }
});

test('on the Spanish page a customer with two cards picks one with a button, confirms with Sí, and only that card is blocked', async () => {
  const ownContext = await browser.newContext({ viewport: { width: 1280, height: 820 } });
  const p = await ownContext.newPage();
  try {
    await p.goto(base + '/demo/es.html');
    await openChat(p);
    await send('perdí mi tarjeta', p);
    const choice = chatFrame(p).getByTestId('card-choice');
    await choice.waitFor({ timeout: SLOW });
    await p.screenshot({ path: join(shots, 'choose-card-es.png') });
    await choice.getByRole('button', { name: '…7710' }).click();
    const buttons = chatFrame(p).getByTestId('confirm-buttons');
    await buttons.waitFor({ timeout: SLOW });
    assert.equal(await buttons.getAttribute('data-card'), '7710');
    await chatFrame(p).locator('.line[data-sender="bot"]', { hasText: '¿Bloqueo la tarjeta de crédito acabada en 7710?' }).waitFor();
    await buttons.getByRole('button', { name: 'Sí' }).click();
    await chatFrame(p).locator('.line[data-sender="bot"]', { hasText: 'He bloqueado su tarjeta …7710' }).waitFor({ timeout: SLOW });
    assert.equal(await buttons.count(), 0, 'the buttons go away once the question is answered');
    await p.screenshot({ path: join(shots, 'card-blocked-es.png') });
  } finally {
    await ownContext.close();
  }
});

test('when the conversation ends the customer can rate it from 1 to 5 with a comment', async (t) => {
  // Probe for the rating endpoint with an invalid rating: 422 means it exists.
  const probe = await http('POST', `/api/v1/chat/conversations/${conversationId}/rating`, { token: customerToken, body: { rating: 0 } });
  if (probe.status === 404 || probe.status === 405) {
    t.skip(`POST /api/v1/chat/conversations/{id}/rating is not served by this backend yet (${probe.status}); rating not tested`);
    return;
  }
  // The agent ends the conversation; the widget hears conversation.closed and asks for a rating.
  const closed = await http('POST', `/api/v1/conversations/${conversationId}/close`, { token: agentToken, body: {} });
  if (closed.status >= 400) {
    t.diagnostic(`agent close answered ${closed.status}; ending the chat from the widget instead`);
    await chatFrame().getByRole('button', { name: 'End chat' }).click();
    await chatFrame().getByRole('alertdialog').getByRole('button', { name: 'End chat' }).click();
  }
  await chatFrame().getByRole('heading', { name: 'How did we do?' }).waitFor({ timeout: SLOW });
  await chatFrame().getByRole('radio', { name: '4 stars' }).check();
  await chatFrame().getByLabel('Anything to add? (optional)').fill('Quick and friendly.');
  await chatFrame().getByRole('button', { name: 'Send rating' }).click();
  await chatFrame().getByText('Thank you for your feedback!').waitFor({ timeout: SLOW });
  await page.screenshot({ path: join(shots, 'rated.png') });
  const conversation = await http('GET', `/api/v1/conversations/${conversationId}`, { token: agentToken });
  if (conversation.status === 200 && 'rating' in conversation.json) assert.equal(conversation.json.rating, 4);
});

// ---- other screens ----

test('on a phone-width screen the open chat fills the screen and still works', async () => {
  const phone = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
  try {
    const p = await phone.newPage();
    await p.goto(base + '/');
    await openChat(p);
    const box = await p.locator('joxai-widget iframe').boundingBox();
    assert.ok(box && box.width >= 370 && box.height >= 700, `chat should fill the phone screen: ${JSON.stringify(box)}`);
    await send('Hi, can I freeze my card?', p);
    await customerLine('Hi, can I freeze my card?', p).and(chatFrame(p).locator('[data-status="delivered"]')).waitFor({ timeout: SLOW });
    await p.screenshot({ path: join(shots, 'phone.png') });
    // The chat's own close button is there (the launcher is hidden under the full-screen chat).
    await chatFrame(p).getByRole('button', { name: 'Close chat' }).click();
    await eventually(async () => (await launcher(p).getAttribute('aria-expanded')) === 'false', { what: 'the phone chat to close' });
  } finally {
    await phone.close();
  }
});

test('the Spanish page gets the widget in Spanish', async () => {
  const spanish = await browser.newContext({ viewport: { width: 1280, height: 820 } });
  try {
    const p = await spanish.newPage();
    await p.goto(base + '/demo/es.html');
    await launcher(p).waitFor();
    assert.equal(await launcher(p).getAttribute('aria-label'), 'Abrir chat');
    await openChat(p);
    assert.equal(await chatFrame(p).locator('#joxai-input').getAttribute('placeholder'), 'Escriba su mensaje…');
    await chatFrame(p).getByRole('button', { name: 'Hablar con una persona' }).waitFor();
    await p.screenshot({ path: join(shots, 'spanish.png') });
  } finally {
    await spanish.close();
  }
});

test('a card number typed with dots, or split over two messages, shows masked to the customer and to staff', async () => {
  // A customer of their own, beside the shared conversation; a supervisor reads the same conversation.
  const customer = await browser.newContext({ viewport: { width: 1280, height: 820 } });
  try {
    const p = await customer.newPage();
    await p.goto(base + '/');
    await openChat(p);
    const session = await storedSession(p);
    // Visa test numbers, Luhn-valid: typed with dots, then split in two.
    await send('my card 4111.1111.1111.1111 was charged twice', p);
    await customerLine('411111******1111', p).waitFor({ timeout: SLOW });
    // The bot says once why the number was hidden.
    await chatFrame(p).locator('.line[data-sender="bot"]', { hasText: 'For your safety' }).waitFor({ timeout: SLOW });
    await send('my new card is 5555 5555', p);
    await customerLine('my new card is 5555 5555', p).and(chatFrame(p).locator('[data-status="delivered"]')).waitFor({ timeout: SLOW });
    await send('5555 4444 is it blocked?', p);
    // Once the second part arrives, both parts show masked: the first is re-rendered live.
    await eventually(
      async () => {
        const texts = await customerTexts(p);
        const first = texts.find((t) => t.includes('my new card is'));
        const second = texts.find((t) => t.includes('is it blocked?'));
        return first?.includes('*') && second?.includes('*');
      },
      { what: 'both parts of the split number masked on screen' },
    );
    const shown = (await customerTexts(p)).join('\n');
    for (const full of ['4111.1111.1111.1111', '4111111111111111', '5555 5555']) {
      assert.ok(!shown.includes(full), `the customer's screen shows ${full}:\n${shown}`);
    }
    await p.screenshot({ path: join(shots, 'card-data-masked.png') });

    const login = await http('POST', '/api/v1/auth/login', { body: { email: 'supervisor@joxai.local', password: DEMO_PASSWORD } });
    assert.equal(login.status, 200);
    const detail = await http('GET', `/api/v1/conversations/${session.conversationId}`, { token: login.json.access_token });
    assert.equal(detail.status, 200, JSON.stringify(detail.json));
    const staffView = JSON.stringify(detail.json);
    assert.ok(staffView.includes('411111******1111'), 'staff see the masked card');
    for (const full of ['4111.1111.1111.1111', '4111111111111111', '5555 5555', '55555555']) {
      assert.ok(!staffView.includes(full), `staff see ${full}`);
    }
  } finally {
    await customer.close();
  }
});
