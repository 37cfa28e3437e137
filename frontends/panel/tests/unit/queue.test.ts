import { describe, expect, it } from 'vitest';
import type { EventEnvelope, Ticket } from '../../src/api/types';
import { EMPTY_QUEUE, queueReducer } from '../../src/state/queue';
import { countQueue, DEFAULT_FILTER, filterTickets, formatDuration, slaState, upsertTicket } from '../../src/state/tickets';
import { applyRedaction, mergeMessages } from '../../src/state/transcript';

const agent = { id: 'agent-1', role: 'agent' as const };
const supervisor = { id: 'sup-1', role: 'supervisor' as const };

function ticket(over: Partial<Ticket> = {}): Ticket {
  return {
    id: 't1',
    number: 'TKT-000001',
    subject: 'Card blocked',
    status: 'open',
    priority: 'normal',
    reason: 'customer_asked',
    created_at: '2025-01-01T10:00:00Z',
    updated_at: '2025-01-01T10:00:00Z',
    ...over,
  };
}

function ev(type: string, payload: unknown): EventEnvelope {
  return { id: Math.random().toString(), type, version: 1, occurred_at: '', payload };
}

describe('queueReducer', () => {
  it('adds a live escalation and highlights it until it is seen', () => {
    let s = queueReducer(EMPTY_QUEUE, { type: 'loaded', tickets: [] });
    s = queueReducer(s, { type: 'event', event: ev('ticket.created', { ticket: ticket() }), user: agent, at: 5 });
    expect(s.tickets.map((t) => t.id)).toEqual(['t1']);
    expect(s.highlighted).toEqual({ t1: 5 });
    s = queueReducer(s, { type: 'seen', id: 't1' });
    expect(s.highlighted).toEqual({});
  });

  it('applies updates, but never lets an older copy overwrite a newer one', () => {
    let s = queueReducer(EMPTY_QUEUE, { type: 'loaded', tickets: [ticket()] });
    const newer = ticket({ status: 'in_progress', updated_at: '2025-01-01T10:05:00Z' });
    s = queueReducer(s, { type: 'event', event: ev('ticket.updated', { ticket: newer, change: 'status_changed' }), user: supervisor, at: 1 });
    expect(s.tickets[0].status).toBe('in_progress');
    expect(s.highlighted).toEqual({});
    // A REST answer that left before the event arrived.
    s = queueReducer(s, { type: 'loaded', tickets: [ticket()] });
    expect(s.tickets[0].status).toBe('in_progress');
  });

  it("removes a ticket from an agent's queue when it is reassigned to someone else", () => {
    let s = queueReducer(EMPTY_QUEUE, { type: 'loaded', tickets: [ticket({ assignee_id: 'agent-1' })] });
    const moved = ticket({ assignee_id: 'agent-2', updated_at: '2025-01-01T11:00:00Z' });
    s = queueReducer(s, { type: 'event', event: ev('ticket.updated', { ticket: moved, change: 'assigned' }), user: agent, at: 1 });
    expect(s.tickets).toEqual([]);
    // The supervisor keeps seeing it.
    let sup = queueReducer(EMPTY_QUEUE, { type: 'loaded', tickets: [ticket({ assignee_id: 'agent-1' })] });
    sup = queueReducer(sup, { type: 'event', event: ev('ticket.updated', { ticket: moved }), user: supervisor, at: 1 });
    expect(sup.tickets[0].assignee_id).toBe('agent-2');
  });

  it("adds and highlights a ticket reassigned to the agent", () => {
    let s = queueReducer(EMPTY_QUEUE, { type: 'loaded', tickets: [] });
    s = queueReducer(s, { type: 'event', event: ev('ticket.updated', { ticket: ticket({ assignee_id: 'agent-1' }) }), user: agent, at: 9 });
    expect(s.tickets.length).toBe(1);
    expect(s.highlighted.t1).toBe(9);
  });

  it('ignores events that carry no ticket', () => {
    const s = queueReducer(EMPTY_QUEUE, { type: 'event', event: ev('message.created', { message: {} }), user: agent, at: 1 });
    expect(s).toBe(EMPTY_QUEUE);
  });
});

describe('filtering and counting', () => {
  const tickets = [
    ticket({ id: 'a', number: 'TKT-1', priority: 'low', created_at: '2025-01-01T09:00:00Z' }),
    ticket({ id: 'b', number: 'TKT-2', priority: 'urgent', subject: 'Fraud on my card', created_at: '2025-01-01T11:00:00Z' }),
    ticket({ id: 'c', number: 'TKT-3', status: 'closed' }),
    ticket({ id: 'd', number: 'TKT-4', assignee_id: 'me', status: 'in_progress' }),
  ];
  it('shows active tickets, most urgent first, by default', () => {
    expect(filterTickets(tickets, DEFAULT_FILTER, 'me').map((t) => t.id)).toEqual(['b', 'd', 'a']);
  });
  it('searches, filters by assignee and sorts by age', () => {
    expect(filterTickets(tickets, { ...DEFAULT_FILTER, search: 'fraud' }, 'me').map((t) => t.id)).toEqual(['b']);
    expect(filterTickets(tickets, { ...DEFAULT_FILTER, assignee: 'me' }, 'me').map((t) => t.id)).toEqual(['d']);
    expect(filterTickets(tickets, { ...DEFAULT_FILTER, assignee: 'unassigned', sort: 'oldest' }, 'me').map((t) => t.id)).toEqual(['a', 'b']);
    expect(filterTickets(tickets, { ...DEFAULT_FILTER, status: 'all', sort: 'newest' }, 'me').map((t) => t.id)).toEqual(['b', 'c', 'd', 'a']);
  });
  it('counts waiting, unassigned, priorities and breaches', () => {
    const now = Date.parse('2025-01-01T12:00:00Z');
    const breached = ticket({ id: 'e', sla: { first_response_due_at: '2025-01-01T11:59:00Z' } });
    const c = countQueue([...tickets, breached], now);
    expect(c.waiting).toBe(3);
    expect(c.unassigned).toBe(3);
    expect(c.openByPriority).toEqual({ urgent: 1, high: 0, normal: 2, low: 1 });
    expect(c.slaBreaches).toBe(1);
  });
  it('times the first response until it happens, then the resolution', () => {
    const now = Date.parse('2025-01-01T12:00:00Z');
    const sla = { first_response_due_at: '2025-01-01T12:10:00Z', resolution_due_at: '2025-01-02T12:00:00Z' };
    expect(slaState(ticket({ sla }), now)).toMatchObject({ label: 'first response', remainingMs: 600_000, breached: false });
    expect(slaState(ticket({ sla, first_response_at: '2025-01-01T11:00:00Z' }), now)).toMatchObject({ label: 'resolution', breached: false });
    expect(slaState(ticket({ sla, status: 'resolved' }), now).label).toBeNull();
    expect(formatDuration(65_000)).toBe('1m 05s');
    expect(formatDuration(3_900_000)).toBe('1h 05m');
  });
  it('upserts new tickets at the top', () => {
    expect(upsertTicket([ticket({ id: 'x' })], ticket({ id: 'y' })).map((t) => t.id)).toEqual(['y', 'x']);
  });
});

describe('mergeMessages', () => {
  it('deduplicates by id and keeps time order', () => {
    const m = (id: string, at: string) => ({ id, conversation_id: 'c', sender: 'customer' as const, text: id, created_at: at });
    const merged = mergeMessages([m('b', '2025-01-01T10:01:00Z')], [m('a', '2025-01-01T10:00:00Z'), m('b', '2025-01-01T10:01:00Z')]);
    expect(merged.map((x) => x.id)).toEqual(['a', 'b']);
  });
});

describe('applyRedaction', () => {
  const m = (id: string, text: string) => ({ id, conversation_id: 'c', sender: 'customer' as const, text, created_at: '2025-01-01T10:00:00Z' });
  const event = (payload: Record<string, unknown>) =>
    ({ id: 'e', type: 'message.redacted', payload }) as unknown as Parameters<typeof applyRedaction>[1];

  it('replaces the text of the earlier part of a split card number', () => {
    const out = applyRedaction([m('a', 'my card is 4111 1111'), m('b', '**** 1111')], event({ conversation_id: 'c', message_id: 'a', text: 'my card is 4111 11**' }), 'c');
    expect(out?.map((x) => x.text)).toEqual(['my card is 4111 11**', '**** 1111']);
  });

  it('ignores other conversations and other events', () => {
    expect(applyRedaction([m('a', 'x')], event({ conversation_id: 'other', message_id: 'a', text: 'y' }), 'c')).toBeNull();
    expect(applyRedaction([m('a', 'x')], { ...event({}), type: 'message.created' } as never, 'c')).toBeNull();
  });
});
