// A customer in trouble reaches a person at once, and the agent sees why: the customer writes in the
// widget on the demo bank page (one browser context) and an agent watches the queue in the panel (another
// context, open at the same time). The ticket arrives marked urgent with the reason in its subject, and the
// ticket page opens with the urgent banner. Screenshots of the end state: test-results/urgent-*.png.
//
//   JOXAI_URGENT_TEST_PORT=5131 node --test tests/browser/urgent.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  apiToken,
  chat,
  conversationOf,
  customerOnDemoPage,
  goInPanel,
  http,
  say,
  shot,
  signIn,
  SLOW,
  ticketOf,
  useBackend,
} from './harness.mjs';

useBackend('JOXAI_URGENT_TEST_PORT', 5077, {
  setUp: async () => {
    // Nobody is online, so the urgent ticket waits in the queue where the agent can see it arrive.
    const token = await apiToken('agent@joxai.local');
    assert.equal((await http('PUT', '/api/v1/me/availability', { token, body: { availability: 'away' } })).status, 200);
  },
});

test('a customer says someone took their money: the agent sees an urgent ticket with the reason, and the urgent banner', async () => {
  const agent = await signIn('agent@joxai.local');
  await goInPanel(agent, 'queue');
  const customer = await customerOnDemoPage();

  await say(customer, "someone took money from my account, it wasn't me");
  // The customer is told a person is coming (the system notice's words depend on the bank's opening hours; the
  // widget's status line does not).
  await chat(customer).getByText(/You're waiting for a person/).waitFor({ timeout: SLOW });

  const ticket = await ticketOf(await conversationOf(customer), await apiToken('supervisor@joxai.local'));
  assert.equal(ticket.priority, 'urgent', JSON.stringify(ticket));
  assert.equal(ticket.reason, 'urgent_intent', JSON.stringify(ticket));

  // In the agent's queue, without a reload: the row is marked urgent and its subject says why.
  const row = agent.locator(`tr[data-ticket-id="${ticket.id}"]`);
  await row.waitFor({ timeout: SLOW });
  await row.locator('.badge.priority-urgent').getByText('Urgent').waitFor({ timeout: SLOW });
  const subject = await row.locator('.subject').innerText();
  assert.match(subject, /^URGENT: urgent wording "(someone took|wasnt me)"/, subject);
  assert.match(subject, /someone took money from my account/, subject);
  await shot(agent, 'urgent-queue', { fullPage: false });

  // The ticket page opens with the urgent banner and the same reason.
  await row.getByRole('link', { name: ticket.number }).click();
  const banner = agent.getByTestId('urgent-banner');
  await banner.waitFor({ timeout: SLOW });
  assert.equal(await banner.getAttribute('role'), 'alert');
  const said = await banner.innerText();
  assert.match(said, /Urgent: the customer's money or card may be at risk/, said);
  assert.match(said, /Why: urgent wording "(someone took|wasnt me)"/, said);
  await agent.locator('.transcript').getByText("someone took money from my account, it wasn't me").waitFor({ timeout: SLOW });

  await shot(customer, 'urgent-customer');
  await shot(agent, 'urgent-ticket');
  await customer.context().close();
  await agent.context().close();
});
