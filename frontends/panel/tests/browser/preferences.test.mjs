// Each staff member's own preferences, and the desk after hours, in Debian's Chromium against the real
// all-in-one JoxAI (with a local SMTP catcher this file starts, so emails really go out):
// - an agent switches the panel to Spanish: the desk speaks Spanish, still after a reload, while another
//   agent in a second browser stays in English;
// - an agent turns desktop notifications on: a ticket assigned to them while the tab is hidden shows one;
// - an agent turns "a ticket is assigned to me" emails off and stops getting them;
// - after hours: an admin closes the bank in Settings, a customer who asks for a person is told when it
//   opens and sees their ticket number (after a reload too), and the agent who comes online gets it.
// Each test saves a screenshot of its end state to test-results/preferences-*.png.
//
//   JOXAI_PREFERENCES_TEST_PORT=5123 node --test tests/browser/preferences.test.mjs

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  apiLogin,
  apiToken,
  chat,
  customerOnDemoPage,
  eventually,
  goInPanel,
  http,
  say,
  lines,
  shot as saveShot,
  signIn,
  SLOW,
  ticketOf,
  conversationOf,
  useBackend,
} from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..', '..');
const shot = (page, name, options) => saveShot(page, `preferences-${name}`, options);

// ---- a real SMTP server for this file's backend ----

/** A free loopback port (the catcher takes a fixed one). */
const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/** Our own backend only: a running one (JOXAI_TEST_URL) sends its email wherever it was told to. */
const ownBackend = !process.env.JOXAI_TEST_URL;
const smtpPython = process.env.JOXAI_TEST_PYTHON || join(process.env.HOME ?? '', '.cache/joxai/smtp-venv/bin/python');
const mailFolder = mkdtempSync(join(tmpdir(), 'joxai-preferences-mail-'));
let catcher = null;
if (ownBackend) {
  const port = await freePort();
  catcher = spawn(smtpPython, [join(repoRoot, 'infra/scripts/smtp_catcher.py'), String(port), mailFolder], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    catcher.on('error', reject);
    catcher.on('exit', (code) => reject(new Error(`the SMTP catcher exited with ${code}`)));
    catcher.stdout.on('data', (chunk) => String(chunk).includes('SMTP catcher on') && resolve());
  });
  // serve-for-tests.sh passes the environment through to the all-in-one it starts.
  Object.assign(process.env, {
    JOXAI_SMTP__HOST: '127.0.0.1',
    JOXAI_SMTP__PORT: String(port),
    JOXAI_SMTP__TLS: 'none',
    JOXAI_SMTP__FROM: 'JoxAI <desk@joxai.local>',
    // One event at a time, in stream order: an email for a later event then proves the worker has
    // handled every earlier one (the test of a missing email relies on that).
    JOXAI_WORKERS__EMAIL__CONCURRENCY: '1',
  });
}
after(() => {
  catcher?.kill();
  rmSync(mailFolder, { recursive: true, force: true });
});

/** Every email the catcher has received: `{ to: [...], subject, text, … }`. */
const emails = () =>
  readdirSync(mailFolder)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(readFileSync(join(mailFolder, name), 'utf8')));

const emailTo = (address, pattern) => emails().find((e) => e.to.includes(address) && pattern.test(e.subject));

// ---- the people ----

const SECOND_AGENT = { email: 'kim.second@joxai.local', display_name: 'Kim Second', password: 'kim-first-password-7' };

useBackend('JOXAI_PREFERENCES_TEST_PORT', 5076, {
  setUp: async () => {
    // Nobody is online: every new ticket waits in the queue until someone is given it.
    const alex = await apiToken('agent@joxai.local');
    assert.equal((await http('PUT', '/api/v1/me/availability', { token: alex, body: { availability: 'away' } })).status, 200);
    const admin = await apiToken('admin@joxai.local');
    const created = await http('POST', '/api/v1/users', { token: admin, body: { ...SECOND_AGENT, role: 'agent' } });
    assert.ok([201, 409].includes(created.status), JSON.stringify(created.json));
    const kim = await apiToken(SECOND_AGENT.email, SECOND_AGENT.password);
    assert.equal((await http('PUT', '/api/v1/me/availability', { token: kim, body: { availability: 'offline' } })).status, 200);
  },
});

/** A customer asks for a person through the API; returns the ticket as staff see it. */
async function queuedTicket() {
  const session = await http('POST', '/api/v1/chat/sessions', { body: {} });
  assert.equal(session.status, 201, JSON.stringify(session.json));
  const { conversation_id: conversation, token } = session.json;
  const escalated = await http('POST', `/api/v1/chat/conversations/${conversation}/escalate`, { token, body: {} });
  assert.equal(escalated.status, 202, JSON.stringify(escalated.json));
  return ticketOf(conversation, await apiToken('supervisor@joxai.local'));
}

async function assign(ticket, userId) {
  const token = await apiToken('supervisor@joxai.local');
  const { status, json } = await http('POST', `/api/v1/tickets/${ticket.id}/assign`, { token, body: { assignee_id: userId } });
  assert.equal(status, 200, JSON.stringify(json));
}

async function openPreferences(page) {
  await page.getByRole('link', { name: /My preferences|Mis preferencias/ }).click();
  await page.getByRole('heading', { level: 1, name: /My preferences|Mis preferencias/ }).waitFor({ timeout: SLOW });
}

/** Put someone's preferences back to the defaults, so the next test starts from them. */
async function resetPreferences(email, password) {
  const token = await apiToken(email, password);
  const { json } = await http('GET', '/api/v1/me/preferences', { token });
  const email_ = Object.fromEntries(Object.keys(json.email).map((k) => [k, true]));
  const saved = await http('PUT', '/api/v1/me/preferences', { token, body: { ...json, language: 'en', email: email_ } });
  assert.equal(saved.status, 200, JSON.stringify(saved.json));
}

// ---- language ----

test('an agent switches the panel to Spanish: the desk speaks Spanish after a reload too, and another agent stays in English', async () => {
  const alex = await signIn('agent@joxai.local');
  const kim = await signIn(SECOND_AGENT.email, { password: SECOND_AGENT.password });
  const ticket = await queuedTicket();

  await openPreferences(alex);
  await alex.getByRole('combobox', { name: 'Panel language' }).selectOption('es');
  await alex.getByRole('heading', { level: 1, name: 'Mis preferencias' }).waitFor({ timeout: SLOW });
  await alex.getByTestId('preferences-status').getByText('Guardado').waitFor({ timeout: SLOW });
  const nav = alex.locator('nav.sidebar');
  await nav.getByRole('link', { name: 'Cola' }).waitFor();
  assert.equal(await nav.getByRole('link', { name: 'Queue' }).count(), 0, 'no English left in the navigation');

  // The desk itself: the queue and a ticket, dates in Spanish.
  await goInPanel(alex, 'queue');
  await alex.getByRole('columnheader', { name: 'Asunto' }).waitFor({ timeout: SLOW });
  const row = alex.locator(`tr[data-ticket-id="${ticket.id}"]`);
  await row.getByRole('button', { name: `Tomar ${ticket.number}` }).waitFor({ timeout: SLOW });
  assert.match(await row.locator('time').innerText(), /^(ahora mismo|hace \d+)/, 'how long ago, in Spanish');
  assert.match(await row.locator('.badge[class*="priority-"]').innerText(), /^(Baja|Normal|Alta|Urgente)$/);
  await goInPanel(alex, `tickets/${ticket.id}`);
  await alex.getByRole('button', { name: 'Tomar este ticket' }).waitFor({ timeout: SLOW });
  await alex.getByText('Notas internas').waitFor();
  await alex.getByText('Al enviar una respuesta, este ticket pasa a ser suyo.', { exact: false }).waitFor();

  // Kept by the server: a reload (and any other browser) opens in Spanish.
  await alex.reload();
  await alex.locator('.connection[data-state="live"]').waitFor({ timeout: SLOW });
  await alex.getByRole('button', { name: 'Tomar este ticket' }).waitFor({ timeout: SLOW });
  await alex.locator('nav.sidebar').getByRole('link', { name: 'Cola' }).waitFor();
  assert.equal(await alex.locator('.connection-pill').innerText(), 'En directo');
  assert.equal(await alex.evaluate(() => document.documentElement.lang), 'es');

  // Kim, signed in at the same time, still reads English.
  await kim.locator('nav.sidebar').getByRole('link', { name: 'Queue' }).waitFor();
  await goInPanel(kim, `tickets/${ticket.id}`);
  await kim.getByRole('button', { name: 'Take this ticket' }).waitFor({ timeout: SLOW });
  assert.equal(await kim.locator('nav.sidebar').getByRole('link', { name: 'Cola' }).count(), 0);
  await shot(alex, 'spanish-agent');
  await shot(kim, 'english-agent');
  await alex.context().close();
  await kim.context().close();
  await resetPreferences('agent@joxai.local');
  // Out of the queue, so the after-hours test's ticket is the only one waiting.
  await assign(ticket, (await apiLogin('supervisor@joxai.local')).user.id);
});

// ---- desktop notifications ----

test('an agent turns desktop notifications on and a ticket assigned to them while the tab is hidden shows one', async () => {
  const alex = await signIn('agent@joxai.local', { contextOptions: { permissions: ['notifications'] } });
  // Record the notifications the page shows, and let the test say when the tab is hidden.
  await alex.evaluate(() => {
    const Original = window.Notification;
    window.__shown = [];
    window.__hidden = false;
    class Recorded extends Original {
      constructor(title, options) {
        window.__shown.push({ title, body: options?.body ?? '' });
        super(title, options);
      }
    }
    Object.defineProperty(Recorded, 'permission', { get: () => Original.permission });
    Recorded.requestPermission = (...args) => Original.requestPermission(...args);
    window.Notification = Recorded;
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => window.__hidden });
  });
  await openPreferences(alex);
  const desktop = alex.getByRole('checkbox', { name: /desktop notification/i });
  // A switch shows what the server has saved, so it changes once the save is done.
  if (await desktop.isChecked()) {
    // The server's default is on; turn it off and on again, as a person would.
    await desktop.click();
    await eventually(async () => !(await desktop.isChecked()), { what: 'desktop notifications off' });
  }
  await desktop.click();
  await eventually(() => desktop.isChecked(), { what: 'desktop notifications on' });
  await alex.getByTestId('preferences-status').getByText('Saved').waitFor({ timeout: SLOW });
  const alexId = (await apiLogin('agent@joxai.local')).user.id;

  // In view, the desk itself says so: no desktop notification.
  const seen = await queuedTicket();
  await assign(seen, alexId);
  await alex.getByRole('status').getByText(`Ticket ${seen.number} was assigned to you`).waitFor({ timeout: SLOW });

  await alex.evaluate(() => (window.__hidden = true));
  const hidden = await queuedTicket();
  await assign(hidden, alexId);
  const shown = await eventually(async () => (await alex.evaluate(() => window.__shown)).find((n) => n.title.includes(hidden.number)), {
    what: 'a desktop notification',
  });
  assert.equal(shown.title, `Ticket ${hidden.number} was assigned to you`);
  assert.equal(shown.body, hidden.subject);
  assert.ok(!(await alex.evaluate(() => window.__shown)).some((n) => n.title.includes(seen.number)), 'none while the tab was in view');
  await shot(alex, 'desktop-notifications');
  await alex.context().close();
});

// ---- emails ----

test('an agent turns "a ticket is assigned to me" emails off and stops getting them', { skip: !ownBackend && 'needs its own backend to catch its emails' }, async () => {
  const alexId = (await apiLogin('agent@joxai.local')).user.id;
  const samId = (await apiLogin('supervisor@joxai.local')).user.id;

  const first = await queuedTicket();
  await assign(first, alexId);
  const arrived = await eventually(() => emailTo('agent@joxai.local', new RegExp(first.number)), { what: `the email about ${first.number}` });
  assert.equal(arrived.subject, `Ticket ${first.number} was assigned to you`);

  const alex = await signIn('agent@joxai.local');
  await openPreferences(alex);
  const assigned = alex.getByRole('checkbox', { name: 'A ticket is assigned to me', exact: true });
  assert.ok(await assigned.isChecked(), 'on by default');
  await assigned.click();
  await eventually(async () => !(await assigned.isChecked()), { what: 'the email switch off' });
  await alex.getByTestId('preferences-status').getByText('Saved').waitFor({ timeout: SLOW });

  const second = await queuedTicket();
  await assign(second, alexId);
  // Sam still gets theirs; the worker handles one event at a time in order, so once Sam's email is in,
  // the assignment to Alex before it has been handled too.
  const third = await queuedTicket();
  await assign(third, samId);
  await eventually(() => emailTo('supervisor@joxai.local', new RegExp(third.number)), { what: `Sam's email about ${third.number}` });
  assert.equal(emailTo('agent@joxai.local', new RegExp(second.number)), undefined, 'no email to Alex once he turned it off');

  // The page still says off after a reload.
  await alex.reload();
  await assigned.waitFor({ timeout: SLOW });
  assert.equal(await assigned.isChecked(), false);
  await shot(alex, 'email-off');
  await alex.context().close();
  await resetPreferences('agent@joxai.local');
});

// ---- after hours ----

const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

test('after hours: the customer is told when the bank opens, the ticket waits, and the agent who comes online gets it', async () => {
  // Open one day a week, three days from now (UTC, the bank's default offset): closed today, whatever the hour.
  const openDay = DAYS[(new Date().getUTCDay() + 6 + 3) % 7];
  const openTitle = openDay[0].toUpperCase() + openDay.slice(1);
  const admin = await signIn('admin@joxai.local');
  await goInPanel(admin, 'admin/settings');
  await admin.getByRole('button', { name: 'Save settings' }).waitFor({ timeout: SLOW });
  for (const day of DAYS) {
    const row = admin.locator('tr', { has: admin.getByRole('rowheader', { name: day[0].toUpperCase() + day.slice(1), exact: true }) });
    await row.getByRole('checkbox').setChecked(day === openDay);
  }
  await admin.locator('textarea[name=en-after_hours]').fill('We are closed right now.');
  await admin.getByRole('button', { name: 'Save settings' }).click();
  await admin.getByText('Saved.').waitFor({ timeout: SLOW });

  const kim = await signIn(SECOND_AGENT.email, { password: SECOND_AGENT.password });
  const customer = await customerOnDemoPage();
  await say(customer, 'Hello, I need help with a transfer');
  await eventually(async () => (await lines(customer, 'bot').count()) >= 2, { what: "the bot's answer" });
  await chat(customer).getByRole('button', { name: 'Talk to a person' }).click();
  const notice = chat(customer).getByTestId('notice').filter({ hasText: 'We are closed right now.' });
  try {
    await notice.waitFor({ timeout: SLOW });
  } catch (error) {
    await shot(customer, 'after-hours-failed');
    throw new Error(`no after-hours notice; the chat says: ${await chat(customer).locator('body').innerText()}`, { cause: error });
  }
  assert.match(await notice.innerText(), new RegExp(`A person will answer from ${openTitle} 09:00`));
  const ticket = await ticketOf(await conversationOf(customer), await apiToken('supervisor@joxai.local'));
  const banner = chat(customer).getByTestId('waiting-banner');
  await banner.getByText(ticket.number).waitFor({ timeout: SLOW });

  // A reload keeps what the customer was told: the notice and the ticket number in the banner.
  await customer.reload(); // the chat stays open across a reload
  await chat(customer).getByTestId('notice').filter({ hasText: 'We are closed right now.' }).waitFor({ timeout: SLOW });
  await chat(customer).getByTestId('waiting-banner').getByText(ticket.number).waitFor({ timeout: SLOW });

  // The ticket waits in the queue, for nobody yet.
  await goInPanel(kim, 'queue');
  const row = kim.locator(`tr[data-ticket-id="${ticket.id}"]`);
  await row.getByRole('cell', { name: 'Unassigned' }).waitFor({ timeout: SLOW });

  // Kim comes online and is given it; the customer learns who joined.
  await kim.getByLabel('Your availability').selectOption('online');
  await row.getByRole('cell', { name: 'You', exact: true }).waitFor({ timeout: SLOW });
  await chat(customer).getByTestId('notice').getByText('Kim Second joined the conversation').waitFor({ timeout: SLOW });
  await shot(customer, 'after-hours-customer');
  await shot(kim, 'after-hours-agent');
  await shot(admin, 'after-hours-settings');
  for (const page of [admin, kim, customer]) await page.context().close();
});
