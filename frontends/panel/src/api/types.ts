// Every shape the panel exchanges with the JoxAI API, in one place.
//
// Written by hand from docs/api.md (the human summary of /api/v1/openapi.json) and the Rust types in
// schemas/src/types.rs. Optional fields are ones the API leaves out when empty, or that older servers
// do not send yet.
// When the API publishes /api/v1/openapi.json, `npm run types` saves a generated copy beside this
// file (openapi.d.ts) and these names should become aliases of the generated ones.

export type Uuid = string;
/** RFC 3339 timestamp as sent by the API. */
export type Timestamp = string;

export type StaffRole = 'admin' | 'supervisor' | 'agent';
export type Sender = 'customer' | 'bot' | 'agent' | 'system';
export type ConversationOwner = 'bot' | 'agent';
export type Priority = 'low' | 'normal' | 'high' | 'urgent';
export type TicketStatus = 'open' | 'in_progress' | 'resolved' | 'closed';
export type EscalationReason =
  | 'customer_asked'
  | 'urgent_intent'
  | 'frustration'
  | 'low_confidence'
  | 'ai_failure'
  | 'needs_human_action'
  | 'manual';
export type Availability = 'online' | 'away' | 'offline';

export const PRIORITIES: readonly Priority[] = ['low', 'normal', 'high', 'urgent'];
export const TICKET_STATUSES: readonly TicketStatus[] = ['open', 'in_progress', 'resolved', 'closed'];
export const ROLES: readonly StaffRole[] = ['agent', 'supervisor', 'admin'];

export interface StaffUser {
  id: Uuid;
  email: string;
  display_name: string;
  role: StaffRole;
  active?: boolean;
  /** Their own capacity; null: the bank's default applies. */
  capacity?: number | null;
  /** Their own capacity, else the bank's default: what automatic assignment holds them to. */
  effective_capacity?: number;
  availability?: Availability;
  created_at?: Timestamp;
  /** Present in user lists. */
  open_tickets?: number;
}

/** A staff member's own preferences (`/api/v1/me/preferences`). `email` maps each kind of staff email
 * to on/off; the kinds are the server's, so a kind added there shows in the page without a change here. */
export interface StaffPreferences {
  language: 'en' | 'es';
  desktop_notifications: boolean;
  email: Record<string, boolean>;
}

/** Every list endpoint answers this shape; pass `next_cursor` back as `cursor` for the next page. */
export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

export interface LoginResponse {
  access_token: string;
  token_type: string;
  /** Seconds until the access token expires. */
  expires_in: number;
  refresh_token?: string;
  refresh_expires_in?: number;
  user: StaffUser;
}

export interface CustomerRef {
  external_ref?: string;
  display_name?: string;
  verified: boolean;
}

export interface Message {
  id: Uuid;
  conversation_id: Uuid;
  sender: Sender;
  text: string;
  created_at: Timestamp;
  client_message_id?: string;
  in_reply_to?: Uuid;
  intent?: string;
  confidence?: number;
  author_id?: Uuid;
  author_name?: string;
}

export interface TicketSla {
  first_response_due_at?: Timestamp | null;
  resolution_due_at?: Timestamp | null;
  first_response_breached?: boolean;
  resolution_breached?: boolean;
  breached?: boolean;
}

export interface Ticket {
  id: Uuid;
  /** Human-friendly number, e.g. "TKT-000001". */
  number: string;
  conversation_id?: Uuid | null;
  customer_id?: Uuid | null;
  subject: string;
  status: TicketStatus;
  priority: Priority;
  reason: EscalationReason;
  category?: string | null;
  tags?: string[];
  assignee_id?: Uuid | null;
  assignee_name?: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  first_response_at?: Timestamp | null;
  resolved_at?: Timestamp | null;
  closed_at?: Timestamp | null;
  sla?: TicketSla | null;
}

export interface TicketDetail extends Ticket {
  messages: Message[];
  /** The customer's chat: `closed` once it has ended (a reply would be refused); absent without one. */
  conversation_status?: 'open' | 'closed';
}

export interface TicketNote {
  id: Uuid;
  ticket_id: Uuid;
  author_id?: Uuid;
  author_name?: string;
  text: string;
  created_at: Timestamp;
}

/** One line of a ticket's history. `kind`: created, assigned, unassigned, status_changed, updated,
 * note_added, agent_replied, … (new kinds may appear; show them by name). */
export interface TicketEvent {
  id: Uuid;
  kind: string;
  /** Who did it: a name, an id, or an object with a name, depending on the actor. */
  actor?: unknown;
  data?: Record<string, unknown> | null;
  created_at: Timestamp;
}

export interface Conversation {
  id: Uuid;
  customer_id?: Uuid | null;
  customer_name?: string | null;
  verified?: boolean;
  status: 'open' | 'closed';
  owner: ConversationOwner;
  assigned_agent_id?: Uuid | null;
  locale?: string;
  channel?: string;
  rating?: number | null;
  rating_comment?: string | null;
  ticket_id?: Uuid | null;
  created_at: Timestamp;
  updated_at?: Timestamp;
  last_message_at?: Timestamp | null;
  /** The start of the customer's latest message (card data already masked). */
  last_customer_message?: string | null;
}

export interface ConversationDetail extends Conversation {
  messages: Message[];
}

export interface Customer {
  id: Uuid;
  external_ref?: string | null;
  display_name?: string | null;
  verified: boolean;
  created_at: Timestamp;
  conversation_count?: number;
}

export interface CustomerProfile extends Customer {
  conversations?: Conversation[];
  tickets?: Ticket[];
}

export interface CannedResponse {
  id: Uuid;
  title: string;
  /** May contain {{customer_name}}, {{ticket_number}}, {{agent_name}}; the render endpoint fills them. */
  body: string;
  created_at?: Timestamp;
  updated_at?: Timestamp;
}

export interface KnowledgeArticle {
  id: Uuid;
  slug?: string;
  title: string;
  body: string;
  locale?: string | null;
  intents?: string[];
  tags?: string[];
  active?: boolean;
  updated_at?: Timestamp;
}

export interface DeadLetter {
  id: Uuid;
  worker: string;
  subject: string;
  message_id?: string | null;
  stream_sequence?: number;
  error: string;
  deliveries?: number;
  status: 'pending' | 'replayed' | 'discarded';
  replays?: number;
  created_at: Timestamp;
  resolved_at?: Timestamp | null;
}

export interface DeadLetterDetail extends DeadLetter {
  payload?: string;
  headers?: Record<string, unknown>;
}

export interface DurationStats {
  median?: number | null;
  p90?: number | null;
  count: number;
}

/** One SLA target over a range: of the tickets whose outcome is known, how many were on time. */
export interface TargetMet {
  met: number;
  counted: number;
  /** 0..1; null when nothing was counted. */
  rate: number | null;
}

/** GET /api/v1/analytics/summary (supervisor+). */
export interface Analytics {
  from: Timestamp;
  to: Timestamp;
  tickets?: number;
  sla?: { first_response: TargetMet; resolution: TargetMet };
  tickets_by_status?: Partial<Record<TicketStatus, number>>;
  tickets_by_priority?: Partial<Record<Priority, number>>;
  first_response_seconds?: DurationStats;
  resolution_seconds?: DurationStats;
  conversations?: number;
  escalated_conversations?: number;
  /** 0..1 */
  escalation_rate?: number;
  escalation_reasons?: Record<string, number>;
  top_intents?: { intent: string; count: number }[];
  csat?: { average?: number | null; count: number; distribution?: Record<string, number> };
  volume_per_hour?: { hour: Timestamp; conversations: number; messages: number }[];
  volume_per_day?: { day: string; conversations: number; messages: number }[];
}

/** The error body every API error carries (ingress/src/error.rs). */
export interface ApiErrorBody {
  code: string;
  message: string;
  fields?: { field: string; message: string }[];
}

// ---- WebSocket -------------------------------------------------------------------------------

export interface EventEnvelope<P = unknown> {
  id: Uuid;
  type: string;
  version: number;
  occurred_at: Timestamp;
  correlation_id?: Uuid;
  payload: P;
}

export type ServerFrame =
  | { type: 'ready'; seq: number }
  | { type: 'event'; seq: number; event: EventEnvelope }
  | { type: 'resync' }
  | { type: 'pong' }
  /** `unauthorized` (bad token) or `session_revoked` (signed out elsewhere, deactivated). */
  | { type: 'error'; code: string };

export interface MessageCreatedPayload {
  message: Message;
  owner: ConversationOwner;
  customer: CustomerRef;
  locale: string;
}
export interface TicketCreatedPayload {
  ticket: Ticket;
}
export interface ConversationEscalatedPayload {
  conversation_id: Uuid;
  ticket_id: Uuid;
  ticket_number: string;
  priority: Priority;
  reason: EscalationReason;
}
export interface ConversationStartedPayload {
  conversation_id: Uuid;
  customer: CustomerRef;
  locale: string;
}
export interface MessageClassifiedPayload {
  conversation_id: Uuid;
  message_id: Uuid;
  intent: string;
  confidence: number;
  decision: 'bot' | 'escalate';
  priority?: Priority;
  reason?: EscalationReason;
}
export interface TicketUpdatedPayload {
  ticket: Ticket;
  change: 'assigned' | 'unassigned' | 'status_changed' | 'updated' | string;
  previous_assignee_id?: Uuid | null;
}
export interface NoteAddedPayload {
  ticket_id: Uuid;
  note: TicketNote;
}
export interface ConversationAssignedPayload {
  conversation_id: Uuid;
  ticket_id: Uuid;
  agent_id: Uuid;
  agent_name: string;
}
export interface TypingPayload {
  conversation_id: Uuid;
  sender: 'customer' | 'agent';
  name?: string;
}
