// Browser test of the Settings page against the real all-in-one JoxAI: an admin changes the bank's
// colour and greeting in the panel, and a customer who opens the widget afterwards (another browser
// context, same running server: no restart) sees them. An invalid save names its field.
//
//   npm run test:browser   (starts and stops its own backend; JOXAI_TEST_URL=... to use a running one)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baseUrl, shot, signIn, SLOW, theBrowser, useBackend } from './harness.mjs';

useBackend('JOXAI_SETTINGS_TEST_PORT', 5074);

test('an admin changes the colour and greeting and the widget shows them without a restart', async () => {
  const admin = await signIn('admin@joxai.local');
  await admin.getByRole('link', { name: 'Settings' }).click();
  await admin.getByRole('heading', { name: 'Settings' }).waitFor({ timeout: SLOW });
  await admin.getByLabel('Main colour').fill('#aa0033');
  await admin.locator('textarea[name=en-greeting]').fill('Welcome to Example Bank, how can we help?');
  await admin.getByRole('button', { name: 'Save settings' }).click();
  await admin.getByText('Saved.').waitFor({ timeout: SLOW });

  const customer = await (await theBrowser().newContext()).newPage();
  await customer.goto(`${baseUrl()}/widget/frame.html?locale=en`);
  await customer.getByText('Welcome to Example Bank, how can we help?').waitFor({ timeout: SLOW });
  const colour = await customer.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--primary').trim());
  assert.equal(colour, '#aa0033');
  await shot(customer, 'settings-widget-themed');

  // An empty greeting is refused, and the admin is told which field.
  await admin.locator('textarea[name=en-greeting]').fill('');
  await admin.getByRole('button', { name: 'Save settings' }).click();
  await admin.getByText(/profile\.texts\.en\.greeting/).waitFor({ timeout: SLOW });
  await shot(admin, 'settings-refused');
});
