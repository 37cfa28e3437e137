// Browser test of the Emails page against the real all-in-one JoxAI and a real mail server (aiosmtpd,
// `infra/scripts/smtp_catcher.py`, with JOXAI_TEST_PYTHON's Python): an email that failed while the mail
// server was down is listed for the admin, recipient masked, and "Send again" delivers it once.
//
//   npm run test:browser   (starts and stops its own backend; JOXAI_TEST_URL=... to use a running one)

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiToken, eventually, http, shot, signIn, SLOW, useBackend } from './harness.mjs';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** A loopback port nobody listens on yet: the mail server is down until the test starts it there. */
const smtpPort = await new Promise((resolve) => {
  const server = createServer();
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
});
// The backend this file starts inherits these: mail goes to that port, and an email is given up
// (failed) after two quick tries.
Object.assign(process.env, {
  JOXAI_SMTP__HOST: '127.0.0.1',
  JOXAI_SMTP__PORT: String(smtpPort),
  JOXAI_SMTP__TLS: 'none',
  JOXAI_SMTP__TIMEOUT_MS: '2000',
  JOXAI_WORKERS__EMAIL__MAX_DELIVER: '2',
  JOXAI_WORKERS__EMAIL__RETRY_MIN_MS: '100',
  JOXAI_WORKERS__EMAIL__RETRY_MAX_MS: '200',
});

useBackend('JOXAI_EMAILS_TEST_PORT', 5078);

let catcher = null;
after(() => catcher?.kill());

/** Start the mail server on `smtpPort`, writing each email as JSON into `folder`. */
function startCatcher(folder) {
  return new Promise((resolve, reject) => {
    // The same Python as the other mail tests: frontends/test.sh (and make test) set it up with aiosmtpd.
    const python = process.env.JOXAI_TEST_PYTHON || join(process.env.HOME ?? '', '.cache/joxai/smtp-venv/bin/python');
    const child = spawn(python, [join(repoRoot, 'infra/scripts/smtp_catcher.py'), String(smtpPort), folder], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.on('error', reject);
    // A catcher that cannot start fails the test at once instead of leaving it waiting.
    child.on('exit', (code) => reject(new Error(`the mail catcher exited with ${code} (is aiosmtpd installed for ${python}?)`)));
    child.stdout.once('data', () => resolve(child));
  });
}

const mails = (folder) => readdirSync(folder).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(folder, f), 'utf8')));

test('an email that failed while the mail server was down is listed for the admin and Send again delivers it once', async () => {
  // The agent takes a ticket: their "assigned to you" email cannot be sent and is given up.
  const agent = await apiToken('agent@joxai.local');
  const created = await http('POST', '/api/v1/tickets', { token: agent, body: { subject: 'Card declined abroad', priority: 'normal' } });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const admin = await apiToken('admin@joxai.local');
  await eventually(async () => {
    const list = await http('GET', '/api/v1/emails?status=failed', { token: admin });
    return list.json?.items?.some((e) => e.kind === 'ticket_assigned');
  }, { what: 'the failed email' });

  const page = await signIn('admin@joxai.local');
  await page.getByRole('link', { name: 'Emails' }).click();
  await page.getByRole('heading', { name: 'Emails' }).waitFor({ timeout: SLOW });
  const row = page.locator('tr', { hasText: 'Ticket assigned' }).first();
  await row.waitFor({ timeout: SLOW });
  const text = await row.innerText();
  assert.match(text, /a\*\*\*@joxai\.local/, 'the recipient is masked');
  assert.doesNotMatch(await page.locator('table').innerText(), /agent@joxai\.local/, 'never the whole address');
  assert.match(text, /failed/);
  await shot(page, 'emails-failed');

  // The mail server is back; the admin sends it again: it arrives once.
  const folder = mkdtempSync(join(tmpdir(), 'joxai-mail-'));
  catcher = await startCatcher(folder);
  await row.getByRole('button', { name: /Send again/ }).click();
  await page.getByRole('status').filter({ hasText: 'is on its way again' }).waitFor({ timeout: SLOW });
  await eventually(() => mails(folder).some((m) => m.to.includes('agent@joxai.local')), { what: 'the resent email to arrive' });
  await page.getByLabel('Show').selectOption('sent');
  await page.locator('tr', { hasText: 'Ticket assigned' }).filter({ hasText: 'resent 1×' }).waitFor({ timeout: SLOW });
  assert.equal(mails(folder).filter((m) => m.to.includes('agent@joxai.local')).length, 1, 'delivered once');
  await shot(page, 'emails-resent');
});
