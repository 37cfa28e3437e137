// The ticket queue as pure functions: applying live events, deciding what a person may see, and
// filtering/sorting/searching. Kept free of React so the unit tests cover the logic directly.

import type { EventEnvelope, Priority, StaffUser, Ticket, TicketStatus, Uuid } from '../api/types';
import { tr } from '../i18n';

export interface QueueFilter {
  status: TicketStatus | 'active' | 'all';
  priority: Priority | 'all';
  assignee: 'all' | 'me' | 'unassigned';
  search: string;
  sort: 'newest' | 'oldest' | 'priority' | 'updated';
}

export const DEFAULT_FILTER: QueueFilter = {
  status: 'active',
  priority: 'all',
  assignee: 'all',
  search: '',
  sort: 'priority',
};

const PRIORITY_RANK: Record<Priority, number> = { urgent: 0, high: 1, normal: 2, low: 3 };

/** The ticket an event carries, if it carries a whole one (`ticket.created`, `ticket.updated`, …). */
export function ticketFromEvent(event: EventEnvelope): Ticket | null {
  const payload = event.payload as { ticket?: unknown } | null;
  const ticket = payload && typeof payload === 'object' ? payload.ticket : undefined;
  if (ticket && typeof ticket === 'object' && typeof (ticket as Ticket).id === 'string' && typeof (ticket as Ticket).status === 'string') {
    return ticket as Ticket;
  }
  return null;
}

/** Whether an event changes a ticket without carrying it, so the list should be refetched (an older
 * or newer server may send a ticket event in a shape we do not know). Notes do not change the list. */
export function eventNeedsRefetch(event: EventEnvelope): boolean {
  return (event.type === 'ticket.created' || event.type === 'ticket.updated') && ticketFromEvent(event) === null;
}

/** Insert or replace `incoming`; an older copy never overwrites a newer one (replays and REST
 * responses can arrive after the live event that superseded them). */
export function upsertTicket(tickets: readonly Ticket[], incoming: Ticket): Ticket[] {
  const index = tickets.findIndex((t) => t.id === incoming.id);
  if (index === -1) return [incoming, ...tickets];
  const existing = tickets[index];
  if (Date.parse(existing.updated_at) > Date.parse(incoming.updated_at)) return tickets as Ticket[];
  const next = tickets.slice();
  next[index] = { ...existing, ...incoming };
  return next;
}

/** Whether `user` may see `ticket` in their queue: supervisors and admins see everything, an agent
 * sees the unassigned queue and their own tickets (the same rule the API applies). */
export function visibleTo(user: Pick<StaffUser, 'id' | 'role'>, ticket: Ticket): boolean {
  if (user.role !== 'agent') return true;
  return !ticket.assignee_id || ticket.assignee_id === user.id;
}

export function isActive(status: TicketStatus): boolean {
  return status === 'open' || status === 'in_progress';
}

export function filterTickets(tickets: readonly Ticket[], filter: QueueFilter, me: Uuid): Ticket[] {
  const needle = filter.search.trim().toLowerCase();
  const kept = tickets.filter((t) => {
    if (filter.status === 'active' && !isActive(t.status)) return false;
    if (filter.status !== 'active' && filter.status !== 'all' && t.status !== filter.status) return false;
    if (filter.priority !== 'all' && t.priority !== filter.priority) return false;
    if (filter.assignee === 'me' && t.assignee_id !== me) return false;
    if (filter.assignee === 'unassigned' && t.assignee_id) return false;
    if (needle) {
      const haystack = [t.number, t.subject, t.reason, t.assignee_name ?? '', t.category ?? '', ...(t.tags ?? [])]
        .join(' ')
        .toLowerCase();
      if (!haystack.includes(needle)) return false;
    }
    return true;
  });
  return sortTickets(kept, filter.sort);
}

export function sortTickets(tickets: Ticket[], sort: QueueFilter['sort']): Ticket[] {
  const byNewest = (a: Ticket, b: Ticket) => Date.parse(b.created_at) - Date.parse(a.created_at) || a.id.localeCompare(b.id);
  const compare: Record<QueueFilter['sort'], (a: Ticket, b: Ticket) => number> = {
    newest: byNewest,
    oldest: (a, b) => -byNewest(a, b),
    updated: (a, b) => Date.parse(b.updated_at) - Date.parse(a.updated_at) || byNewest(a, b),
    // Most urgent first; within a priority the longest-waiting customer first.
    priority: (a, b) => PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] || -byNewest(a, b),
  };
  return tickets.slice().sort(compare[sort]);
}

/** Live counters for the dashboard, derived from the tickets the panel holds. */
export interface QueueCounters {
  waiting: number;
  unassigned: number;
  openByPriority: Record<Priority, number>;
  slaBreaches: number;
}

export function countQueue(tickets: readonly Ticket[], now: number): QueueCounters {
  const counters: QueueCounters = {
    waiting: 0,
    unassigned: 0,
    openByPriority: { urgent: 0, high: 0, normal: 0, low: 0 },
    slaBreaches: 0,
  };
  for (const t of tickets) {
    if (!isActive(t.status)) continue;
    counters.openByPriority[t.priority]++;
    if (!t.assignee_id) counters.unassigned++;
    // Waiting: nobody has answered the customer yet.
    if (t.status === 'open' && !t.first_response_at) counters.waiting++;
    if (slaState(t, now).breached) counters.slaBreaches++;
  }
  return counters;
}

export interface SlaState {
  /** The deadline that matters now (first response while unanswered, then resolution). */
  dueAt: number | null;
  label: 'first response' | 'resolution' | null;
  breached: boolean;
  /** Milliseconds left (negative once breached). */
  remainingMs: number | null;
}

export function slaState(ticket: Ticket, now: number): SlaState {
  const sla = ticket.sla;
  if (!sla || !isActive(ticket.status)) return { dueAt: null, label: null, breached: false, remainingMs: null };
  let due: string | null | undefined = null;
  let label: SlaState['label'] = null;
  let reported = false;
  if (!ticket.first_response_at && sla.first_response_due_at) {
    due = sla.first_response_due_at;
    label = 'first response';
    reported = sla.first_response_breached === true;
  } else if (sla.resolution_due_at) {
    due = sla.resolution_due_at;
    label = 'resolution';
    reported = sla.resolution_breached === true;
  }
  if (!due) return { dueAt: null, label: null, breached: sla.breached === true, remainingMs: null };
  const dueAt = Date.parse(due);
  const remainingMs = dueAt - now;
  // The server's flag is computed when the ticket was last written; the clock catches the breaches
  // that happened since.
  return { dueAt, label, breached: reported || remainingMs < 0, remainingMs };
}

/** "4m 05s", "1h 12m", "2d 3h" — compact durations for SLA timers and wait times. */
export function formatDuration(ms: number): string {
  const total = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (d > 0) return tr('duration.days', { d, h });
  if (h > 0) return tr('duration.hours', { h, m: String(m).padStart(2, '0') });
  return tr('duration.minutes', { m, s: String(s).padStart(2, '0') });
}

export function humanize(word: string): string {
  const s = word.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}
