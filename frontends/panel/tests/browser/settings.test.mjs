// Browser test of the Settings page against the real all-in-one JoxAI: an admin changes the bank's
// colour and greeting in the panel, and a customer who opens the widget afterwards (another browser
// context, same running server: no restart) sees them. An invalid save names its field.
//
//   npm run test:browser   (starts and stops its own backend; JOXAI_TEST_URL=... to use a running one)

import { after, before, test } from 'node:test';
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

const PORT = Number(process.env.JOXAI_SETTINGS_TEST_PORT || 5074);
const PASSWORD = process.env.JOXAI_DEMO_PASSWORD || 'e2e-password-123';
const SLOW = 30_000;

let serverPid = null;
let base = process.env.JOXAI_TEST_URL || null;
let browser;

function startServer() {
  const script = process.env.JOXAI_SERVE_FOR_TESTS || join(repoRoot, 'infra/scripts/serve-for-tests.sh');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, String(PORT)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
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

before(async () => {
  if (!base) {
    const server = await startServer();
    serverPid = server.pid;
    base = server.url;
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
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

test('an admin changes the colour and greeting and the widget shows them without a restart', async () => {
  const admin = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
  await admin.goto(`${base}/panel/`);
  await admin.getByLabel(/email/i).fill('admin@joxai.local');
  await admin.getByLabel(/password/i).fill(PASSWORD);
  await admin.getByRole('button', { name: /sign in/i }).click();
  await admin.getByRole('link', { name: 'Settings' }).click();
  await admin.getByRole('heading', { name: 'Settings' }).waitFor({ timeout: SLOW });
  await admin.getByLabel('Main colour').fill('#aa0033');
  await admin.locator('textarea[name=en-greeting]').fill('Welcome to Example Bank, how can we help?');
  await admin.getByRole('button', { name: 'Save settings' }).click();
  await admin.getByText('Saved.').waitFor({ timeout: SLOW });

  const customer = await (await browser.newContext()).newPage();
  await customer.goto(`${base}/widget/frame.html?locale=en`);
  await customer.getByText('Welcome to Example Bank, how can we help?').waitFor({ timeout: SLOW });
  const colour = await customer.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--primary').trim());
  assert.equal(colour, '#aa0033');
  await customer.screenshot({ path: join(shots, 'settings-widget-themed.png') });

  // An empty greeting is refused, and the admin is told which field.
  await admin.locator('textarea[name=en-greeting]').fill('');
  await admin.getByRole('button', { name: 'Save settings' }).click();
  await admin.getByText(/profile\.texts\.en\.greeting/).waitFor({ timeout: SLOW });
  await admin.screenshot({ path: join(shots, 'settings-refused.png'), fullPage: true });
});
