// What every browser test file of the panel shares: its own all-in-one JoxAI (or one already running),
// Debian's Chromium driven by playwright-core (never a downloaded browser), an HTTP helper for the API,
// a bounded wait, sign-in helpers for staff and customers, and screenshots into test-results/.
//
// A test file calls `useBackend('JOXAI_..._TEST_PORT', 50xx)` once at the top: that registers the
// before/after hooks which start the backend on the file's own port (or use JOXAI_TEST_URL) and launch
// the browser. Each file runs in a process of its own under `node --test`, so the state below is per file.

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const panelDir = join(here, '..', '..');
const repoRoot = join(panelDir, '..', '..');
const shots = join(panelDir, 'test-results');
mkdirSync(shots, { recursive: true });

/** serve-for-tests.sh sets this password on every demo staff account. */
export const PASSWORD = process.env.JOXAI_DEMO_PASSWORD || 'e2e-password-123';
/** Generous: the debug build's first answer and a cold Postgres can take a few seconds. */
export const SLOW = 30_000;
export const DESKTOP = { width: 1280, height: 860 };
export const TABLET = { width: 820, height: 1180 };
export const PHONE_ISH = { width: 900, height: 900 };

let base = process.env.JOXAI_TEST_URL || null;
let browser = null;
let serverPid = null;

/** The backend's address, e.g. `http://127.0.0.1:5084` (set once the `before` hook has run). */
export const baseUrl = () => base;
/** The Chromium every context of this file is opened in. */
export const theBrowser = () => browser;

/** Start our own backend on `port` (infra/scripts/serve-for-tests.sh prints "PID URL" on its last line). */
export function startServer(port) {
  const script = process.env.JOXAI_SERVE_FOR_TESTS || join(repoRoot, 'infra/scripts/serve-for-tests.sh');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, String(port)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      const [pid, url] = (out.trim().split('\n').pop() ?? '').split(/\s+/);
      if (code === 0 && pid && url) resolve({ pid: Number(pid), url });
      else reject(new Error(`serve-for-tests.sh exited with ${code}: ${out}`));
    });
  });
}

/** Register the hooks that give this file a backend and a browser, and take both down at the end;
 * `setUp` runs once both are there.
 * Each file has a port of its own (from `portVariable`, else `defaultPort`), so files never share a
 * database or a subject prefix. Not 5061: it is on the browsers' and fetch's list of blocked ports. */
export function useBackend(portVariable, defaultPort, { setUp } = {}) {
  // One hook that does everything in order: Node 20 does not wait for one root-level `before` hook
  // to finish before it starts the next, so a file's own set-up comes in here (`setUp`).
  before(async () => {
    if (!base) {
      const server = await startServer(Number(process.env[portVariable] || defaultPort));
      serverPid = server.pid;
      base = server.url;
    }
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      // Playwright gives every launch a fresh temporary --user-data-dir of its own.
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    await setUp?.();
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
}

// ---- the API ----

/** One API call; `json` is the parsed body (or `{ raw }` when the body is not JSON). */
export async function http(method, path, { token, body } = {}) {
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

/** Poll until `check` returns something truthy, and return it (bounded, never a bare sleep). */
export async function eventually(check, { timeout = SLOW, every = 200, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const value = await check();
    if (value) return value;
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Sign in through the API: `{ access_token, user, … }`. */
export async function apiLogin(email, password = PASSWORD) {
  const { status, json } = await http('POST', '/api/v1/auth/login', { body: { email, password } });
  assert.equal(status, 200, `login ${email}: ${JSON.stringify(json)}`);
  return json;
}

export const apiToken = async (email, password = PASSWORD) => (await apiLogin(email, password)).access_token;

// ---- screenshots ----

/** Save a screenshot to test-results/`name`(.png): the full page, unless `fullPage: false` (a long list). */
export const shot = (page, name, { fullPage = true } = {}) =>
  page.screenshot({ path: join(shots, name.endsWith('.png') ? name : `${name}.png`), fullPage });

// ---- staff in the panel ----

/** A new browser context (fresh storage) signed in as `email` through the sign-in form, on a live desk.
 * With `keyboard`, only Tab, typing and Enter are used, like a keyboard user; `contextOptions` go to
 * the new context (e.g. `{ permissions: ['notifications'] }`). The page collects
 * uncaught errors in `page.errors`. */
export async function signIn(email, { viewport = DESKTOP, password = PASSWORD, keyboard = false, contextOptions = {} } = {}) {
  const context = await browser.newContext({ viewport, ...contextOptions });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (error) => page.errors.push(error));
  await page.goto(`${base}/panel/`);
  if (keyboard) {
    // The email field has focus on arrival. Typing before the app has rendered would send the keys
    // nowhere, so wait for that focus first.
    await page.waitForFunction(() => document.activeElement?.getAttribute('type') === 'email');
    await page.keyboard.type(email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(password);
    await page.keyboard.press('Enter');
  } else {
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: /sign in/i }).click();
  }
  try {
    await page.locator('.connection[data-state="live"]').waitFor({ timeout: SLOW });
  } catch (error) {
    await shot(page, `sign-in-failed-${email.split('@')[0]}`);
    throw new Error(`${email} did not reach a live desk; the page says: ${(await page.locator('body').innerText()).slice(0, 500)}`, { cause: error });
  }
  return page;
}

/** Go to a panel page without a reload (the panel's router listens for this event). Waits for the
 * navigation by its place, not its name: the panel may speak Spanish. */
export async function goInPanel(page, path) {
  await page.locator('nav.sidebar').waitFor();
  await page.evaluate((to) => {
    window.history.pushState(null, '', `/panel/${to}`);
    window.dispatchEvent(new Event('joxai:navigate'));
  }, path);
}

// ---- customers in the widget ----

/** A customer on a demo bank page (signed in as that page's demo customer), chat open. */
export async function customerOnDemoPage(path = '/', { viewport = PHONE_ISH } = {}) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(base + path);
  await page.locator('joxai-widget button.launcher').click();
  await chat(page).locator('#joxai-input').waitFor({ timeout: SLOW });
  return page;
}

/** The chat inside the widget's iframe. */
export const chat = (page) => page.frameLocator('joxai-widget iframe');
/** The bubbles of one sender ('customer', 'bot', 'agent', 'system') in the chat. */
export const lines = (page, sender) => chat(page).locator(`.line[data-sender="${sender}"] .bubble`);

/** Type and send a message. The box takes text while the chat is still starting, but Enter sends only
 * once it is ready (the send button is enabled then), so wait for that rather than lose the Enter. */
export async function say(page, text) {
  const input = chat(page).locator('#joxai-input');
  await input.fill(text);
  await chat(page).locator('button.send:not([disabled])').waitFor({ timeout: SLOW });
  await input.press('Enter');
}

/** Wait for a bot line matching `pattern` (the widget's own greeting is a bot line too, and may render
 * at any moment, so counting lines alone cannot tell an answer from it). */
export async function botSays(page, pattern, { timeout = SLOW } = {}) {
  return eventually(async () => (await lines(page, 'bot').allInnerTexts()).find((t) => pattern.test(t)), {
    timeout,
    what: `a bot line matching ${pattern}`,
  });
}

/** The widget's stored chat session: `{ conversationId, token, … }`. */
export async function sessionOf(page) {
  const frame = await eventually(() => page.frames().find((f) => f.url().includes('/widget/frame.html')), { what: 'the chat frame' });
  return eventually(() => frame.evaluate(() => JSON.parse(localStorage.getItem('joxai.session.v1') || 'null')), {
    what: 'a stored chat session',
  });
}

export const conversationOf = async (page) => (await sessionOf(page)).conversationId;

/** The ticket of a conversation, as staff see it in the ticket list. */
export async function ticketOf(conversationId, token) {
  return eventually(
    async () => {
      const { json } = await http('GET', '/api/v1/tickets?limit=100', { token });
      return (json?.items ?? []).find((t) => t.conversation_id === conversationId);
    },
    { what: `the ticket of conversation ${conversationId}` },
  );
}
