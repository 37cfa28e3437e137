// The desk's shared ticket queue: one reducer fed by REST loads and live events. The dashboard and
// the queue page both read it, so a counter and a list never disagree.

import type { EventEnvelope, StaffUser, Ticket, Uuid } from '../api/types';
import { ticketFromEvent, upsertTicket, visibleTo } from './tickets';

export interface QueueState {
  tickets: Ticket[];
  loaded: boolean;
  /** The last load's failure, in words; cleared by the next successful load. */
  error: string | null;
  /** Tickets that arrived live and have not been looked at yet (id → arrival time). */
  highlighted: Record<Uuid, number>;
}

export const EMPTY_QUEUE: QueueState = { tickets: [], loaded: false, error: null, highlighted: {} };

export type QueueAction =
  | { type: 'loaded'; tickets: Ticket[] }
  | { type: 'failed'; error: string }
  | { type: 'event'; event: EventEnvelope; user: Pick<StaffUser, 'id' | 'role'>; at: number }
  /** A ticket the API just returned from a write (assign, status…), applied before its event arrives. */
  | { type: 'upsert'; ticket: Ticket; user: Pick<StaffUser, 'id' | 'role'> }
  | { type: 'seen'; id: Uuid }
  | { type: 'reset' };

export function queueReducer(state: QueueState, action: QueueAction): QueueState {
  switch (action.type) {
    case 'loaded': {
      // A REST answer can be older than a live event that arrived while it was in flight: keep
      // whichever copy of each ticket is newer.
      let tickets = action.tickets;
      for (const live of state.tickets) {
        const fetched = tickets.find((t) => t.id === live.id);
        if (fetched && Date.parse(live.updated_at) > Date.parse(fetched.updated_at)) tickets = upsertTicket(tickets, live);
      }
      return { ...state, tickets, loaded: true, error: null };
    }
    case 'failed':
      return { ...state, error: action.error };
    case 'event': {
      const ticket = ticketFromEvent(action.event);
      if (!ticket) return state;
      const known = state.tickets.some((t) => t.id === ticket.id);
      if (!visibleTo(action.user, ticket)) {
        // Reassigned to someone else: it leaves an agent's queue, as it would on reload.
        if (!known) return state;
        const { [ticket.id]: _gone, ...highlighted } = state.highlighted;
        return { ...state, tickets: state.tickets.filter((t) => t.id !== ticket.id), highlighted };
      }
      const tickets = upsertTicket(state.tickets, ticket);
      // New to this person's queue (escalated, or reassigned to them): highlight it until looked at.
      const highlighted = known ? state.highlighted : { ...state.highlighted, [ticket.id]: action.at };
      return { ...state, tickets, highlighted };
    }
    case 'upsert': {
      if (!visibleTo(action.user, action.ticket)) {
        return { ...state, tickets: state.tickets.filter((t) => t.id !== action.ticket.id) };
      }
      return { ...state, tickets: upsertTicket(state.tickets, action.ticket) };
    }
    case 'seen': {
      if (!(action.id in state.highlighted)) return state;
      const { [action.id]: _seen, ...highlighted } = state.highlighted;
      return { ...state, highlighted };
    }
    case 'reset':
      return EMPTY_QUEUE;
  }
}
