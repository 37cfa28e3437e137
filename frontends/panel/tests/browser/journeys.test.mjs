// The desk's everyday journeys with the people side by side: a customer in the widget on the demo bank
// page (signed in as the demo customer) and staff in the panel, each in a browser context of their
// own, open at the same time, against the real all-in-one JoxAI. Each test asserts what each person
// sees and saves a screenshot of its end state to test-results/journey-*.png. More journeys (closing,
// take-over, notes, canned responses, knowledge, users, sign-in, Spanish) are in journeys-desk.test.mjs.
//
//   npm test                       (builds first; starts and stops its own backend)
//   JOXAI_TEST_URL=http://127.0.0.1:5000 node --test tests/browser/journeys.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  apiToken,
  baseUrl,
  botSays,
  chat,
  conversationOf,
  customerOnDemoPage,
  eventually,
  http,
  lines,
  say,
  shot as saveShot,
  signIn,
  SLOW,
  useBackend,
} from './harness.mjs';

useBackend('JOXAI_JOURNEYS_TEST_PORT', 5073);

/** Shared by the escalation journey and the refused reply that follows it. */
let agentPage;
let customerPage;
let ticketId;

const shot = (page, name) => saveShot(page, `journey-${name}`);

// ---- journeys ----

test("the demo customer asks a question and then their balance, and the bot answers both from the bank's data", async () => {
  const supervisor = await signIn('supervisor@joxai.local');
  const customer = await customerOnDemoPage();
  // An everyday question ("block my card" would rightly go straight to a person as urgent).
  await say(customer, 'How do I get a virtual card?');
  const answer = await botSays(customer, /virtual/i);
  assert.ok(answer.length > 20, `a real answer: ${answer}`);
  await say(customer, 'What is my balance?');
  const balance = await botSays(customer, /balance/i);
  assert.match(balance, /\d/, `the demo customer's balance has figures: ${balance}`);
  assert.doesNotMatch(balance, /sign in|log in|verify/i, `the demo customer is signed in: ${balance}`);
  // Staff see a verified customer on the Customers page.
  await supervisor.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Customers' }).click();
  await supervisor.getByText('John Smith').first().waitFor({ timeout: SLOW });
  await shot(customer, 'balance-customer');
  await shot(supervisor, 'balance-customers-page');
  await customer.context().close();
  await supervisor.context().close();
});

test('escalate, take, two replies, resolve: the customer is told, rates, and their next message starts a new conversation', async () => {
  // Nobody online, so the ticket waits in the queue for the agent to take it.
  const alex = await apiToken('agent@joxai.local');
  assert.equal((await http('PUT', '/api/v1/me/availability', { token: alex, body: { availability: 'away' } })).status, 200);
  agentPage = await signIn('agent@joxai.local');
  customerPage = await customerOnDemoPage();
  await say(customerPage, 'Hello, I need help with a transfer');
  await eventually(async () => (await lines(customerPage, 'bot').count()) >= 2, { what: "the bot's answer" });
  await chat(customerPage).getByRole('button', { name: 'Talk to a person' }).click();
  const conversation = await conversationOf(customerPage);
  const supervisor = await apiToken('supervisor@joxai.local');
  ticketId = await eventually(
    async () => {
      const { json } = await http('GET', '/api/v1/tickets?limit=100', { token: supervisor });
      return (json?.items ?? []).find((t) => t.conversation_id === conversation)?.id;
    },
    { what: 'the ticket' },
  );

  // The agent takes it from the ticket page, then answers twice.
  await agentPage.goto(`${baseUrl()}/panel/tickets/${ticketId}`);
  await agentPage.getByRole('button', { name: 'Take this ticket' }).click();
  await agentPage.getByTestId('assignee').getByText('(you)').waitFor({ timeout: SLOW });
  for (const text of ['Hi, I am looking at your transfer now.', 'It has gone through: it will arrive today.']) {
    await agentPage.locator('#reply-text').fill(text);
    await agentPage.getByRole('button', { name: 'Send reply' }).click();
    await chat(customerPage).getByText(text).waitFor({ timeout: SLOW });
  }
  // Details follow without a reload: the first response time is shown once the agent has replied.
  await eventually(async () => !(await agentPage.locator('.details').innerText()).includes('not yet'), {
    what: 'the first response time to show',
  });
  // Resolve with the version the page has: the agent's own replies are no conflict.
  await agentPage.locator('#ticket-status').selectOption('resolved');
  await agentPage.locator('.ticket-badges').getByText('Resolved').waitFor({ timeout: SLOW });
  assert.equal(await agentPage.getByTestId('conflict').count(), 0, 'no conflict after the agent’s own replies');
  assert.equal(await agentPage.getByRole('alert').count(), 0, await agentPage.locator('body').innerText());

  // The customer is told by the bot, the header no longer says they chat with Alex, and they rate.
  await chat(customerPage).getByText(/has been resolved/).waitFor({ timeout: SLOW });
  await chat(customerPage).getByRole('heading', { name: 'How did we do?' }).waitFor({ timeout: SLOW });
  assert.doesNotMatch(await chat(customerPage).locator('header .status').innerText(), /Alex/);
  await chat(customerPage).getByRole('radio', { name: '5 stars' }).check();
  await chat(customerPage).getByRole('button', { name: 'Send rating' }).click();
  await chat(customerPage).getByText('Thank you for your feedback!').waitFor({ timeout: SLOW });

  // Writing again starts a new conversation that the bot answers.
  await chat(customerPage).getByRole('button', { name: 'Start a new conversation' }).click();
  await eventually(async () => (await conversationOf(customerPage)) !== conversation, { what: 'a new conversation' });
  await say(customerPage, 'What is my balance?');
  const answer = await botSays(customerPage, /balance/i);
  assert.match(answer, /\d/, answer);
  const next = await conversationOf(customerPage);
  assert.notEqual(next, conversation);
  await shot(customerPage, 'resolved-rated-new-conversation-customer');
  await shot(agentPage, 'resolved-agent');
});

test('a reply to the ended conversation is refused, and the panel says why', async () => {
  assert.ok(agentPage && ticketId, 'runs after the escalation journey');
  const before = await lines(customerPage, 'agent').count();
  // The reply box says so at once, before the agent writes anything, and cannot send.
  await agentPage.getByTestId('reply-ended').getByText(/conversation has ended, so they would not see a reply/).waitFor({ timeout: SLOW });
  assert.ok(await agentPage.locator('#reply-text').isDisabled(), 'the box is shut');
  assert.ok(await agentPage.getByRole('button', { name: 'Send reply' }).isDisabled(), 'nothing to send');
  assert.equal(await lines(customerPage, 'agent').count(), before, 'nothing reached the customer');
  await shot(agentPage, 'reply-to-closed-refused');
  await customerPage.context().close();
  await agentPage.context().close();
});
