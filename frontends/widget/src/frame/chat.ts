// The chat's behaviour, kept out of the React components: starting or resuming the session,
// merging the transcript with live events, the offline outbox, typing indicators, escalation and
// rating. Components read an immutable `ChatState` snapshot (useSyncExternalStore) and call methods.

import type { Locale, SignedIdentity } from '../shared/protocol';
import { api, HttpError, isRetryable, type Sender, type ServerMessage } from './api';
import { LiveSocket, type ServerEvent, type SocketStatus } from './socket';
import { newClientMessageId, stored, type OutboxEntry, type StoredSession } from './storage';

/**
 * One line in the conversation. Customer messages start as `queued` (written, not yet sent) and go
 * `sending` → `sent` (the server accepted it) → `delivered` (its `message.created` came back, so
 * it is stored and the bank sees it). `failed` is a refusal that retrying cannot fix.
 */
export interface ChatLine {
  key: string;
  kind: 'message';
  sender: Sender;
  text: string;
  createdAt: string;
  status?: 'queued' | 'sending' | 'sent' | 'delivered' | 'failed';
  authorName?: string;
}

export type Phase = 'idle' | 'starting' | 'start-failed' | 'ready' | 'expired';

export interface ChatState {
  phase: Phase;
  lines: ChatLine[];
  connection: SocketStatus;
  owner: 'bot' | 'agent';
  /** Set once the conversation is handed to people; `ticketNumber` once the ticket exists. */
  escalation: { ticketNumber: string | null } | null;
  escalating: boolean;
  agentName: string | null;
  botTyping: boolean;
  /** The typing agent's name ('' when the server gave none), or null when nobody types. */
  agentTyping: string | null;
  closed: boolean;
  /** The customer chose "End chat": show the rating form although the bank has not closed it. */
  ending: boolean;
  rating: 'none' | 'sending' | 'done' | 'failed' | 'unavailable';
  verified: boolean;
}

/** The longest message the server accepts (ingress MAX_MESSAGE_CHARS). */
export const MAX_MESSAGE_CHARS = 4000;
/** A bot that has said nothing after this long is not typing any more; stop claiming it is. */
const BOT_TYPING_LIMIT_MS = 45_000;
/** docs/api.md: typing events are ephemeral, show them for about 5 s. */
const AGENT_TYPING_SHOW_MS = 5_000;
/** The server needs one typing signal every few seconds, not one per keystroke. */
const TYPING_SIGNAL_EVERY_MS = 3_000;
const RETRY_BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];
/** How long a sent message may wait for its stored event before we check the transcript. */
const CONFIRM_AFTER_MS = 4000;
/** How many times (every CONFIRM_AFTER_MS) a sent message is looked for in the transcript. */
const CONFIRM_CHECKS = 15;

export interface ChatOptions {
  locale: Locale;
  /** Called whenever a bank message (bot, agent, notice) arrives live. */
  onIncoming?: () => void;
}

const initialState: ChatState = {
  phase: 'idle',
  lines: [],
  connection: 'connecting',
  owner: 'bot',
  escalation: null,
  escalating: false,
  agentName: null,
  botTyping: false,
  agentTyping: null,
  closed: false,
  ending: false,
  rating: 'none',
  verified: false,
};

export class Chat {
  private state: ChatState = initialState;
  private listeners = new Set<() => void>();
  private session: StoredSession | null = null;
  private socket: LiveSocket | null = null;
  private identity: SignedIdentity | null = null;
  /** Server messages by id: the transcript and live events both land here, so overlaps merge. */
  private messages = new Map<string, ServerMessage>();
  private outbox: OutboxEntry[] = [];
  /** Send state of outbox entries, by client message id (not stored: a reload starts them queued). */
  private sendState = new Map<string, 'queued' | 'sending' | 'sent' | 'failed'>();
  private seenEvents = new Set<string>();
  private flushing = false;
  /** Something (coming back online, a reconnect) asked for a flush while one was running. */
  private flushAgain = false;
  private confirmTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retryAttempt = 0;
  private botTypingTimer: ReturnType<typeof setTimeout> | null = null;
  private agentTypingTimer: ReturnType<typeof setTimeout> | null = null;
  private lastTypingSignal = 0;

  constructor(private readonly options: ChatOptions) {
    window.addEventListener('online', () => {
      this.update({ connection: this.socket?.isOpen() ? 'open' : 'connecting' });
      void this.flush();
    });
    // Say so at once; the socket may take many seconds to notice on its own.
    window.addEventListener('offline', () => this.update({ connection: 'offline' }));
    // Another tab of the same browser started or ended the conversation: follow it.
    window.addEventListener('storage', (event) => {
      if (event.key !== stored.sessionKey) return;
      const other = this.storedForThisCustomer();
      if (other?.conversationId !== this.session?.conversationId) this.adopt(other);
    });
  }

  // ---- the store interface for React ----

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getState = (): ChatState => this.state;

  private update(change: Partial<ChatState>): void {
    this.state = { ...this.state, ...change };
    this.listeners.forEach((l) => l());
  }

  // ---- session ----

  /** The page told us who the customer is (or that they are anonymous). Resume a stored
   * conversation if it belongs to the same customer. */
  init(identity: SignedIdentity | null): void {
    this.identity = identity;
    const existing = this.storedForThisCustomer();
    if (existing && !this.session) this.adopt(existing);
  }

  /** The stored session, if it belongs to whoever the page says is here. An anonymous page never
   * continues a verified customer's conversation (a shared computer after they signed out), and
   * one verified customer never continues another's. */
  private storedForThisCustomer(): StoredSession | null {
    const existing = stored.session();
    if (!existing) return null;
    return existing.customerRef === (this.identity?.customer_ref ?? null) ? existing : null;
  }

  /** The customer opened the panel: make sure there is a conversation. */
  ensureStarted(): void {
    if (this.session || this.state.phase === 'starting') return;
    const existing = this.storedForThisCustomer();
    if (existing) {
      this.adopt(existing);
      return;
    }
    void this.startSession();
  }

  private async startSession(): Promise<void> {
    this.update({ phase: 'starting' });
    try {
      const session = await api.startSession(this.options.locale, this.identity);
      const mine: StoredSession = {
        conversationId: session.conversation_id,
        token: session.token,
        expiresAt: Date.now() + session.expires_in * 1000,
        verified: session.verified,
        customerRef: session.verified ? (this.identity?.customer_ref ?? null) : null,
      };
      stored.setSession(mine);
      this.adopt(mine);
    } catch (error) {
      if (error instanceof HttpError && error.status === 422 && this.identity) {
        // The page's signed identity is wrong or too old. Chatting anonymously beats not
        // chatting; the bot will ask the customer to sign in for account questions.
        this.identity = null;
        return this.startSession();
      }
      this.update({ phase: 'start-failed' });
      const delay = error instanceof HttpError && error.retryAfterMs ? error.retryAfterMs : 3000;
      setTimeout(() => {
        if (!this.session) void this.startSession();
      }, delay);
    }
  }

  /** Switch to `session` (or to none), dropping everything about the previous conversation. */
  private adopt(session: StoredSession | null): void {
    this.socket?.stop();
    this.socket = null;
    this.session = session;
    this.messages.clear();
    this.seenEvents.clear();
    this.sendState.clear();
    this.outbox = session ? stored.outbox(session.conversationId) : [];
    this.outbox.forEach((e) => this.sendState.set(e.clientMessageId, 'queued'));
    this.state = { ...initialState, phase: session ? 'ready' : 'idle', verified: session?.verified ?? false };
    this.render();
    if (!session) return;
    this.socket = new LiveSocket(session.token, {
      onReady: (resumed) => {
        // First connection: the socket is live before we read the transcript, so nothing that
        // happens in between is missed. After a reconnect the socket itself replays what we
        // missed (resume by sequence); the refetch is a cheap safety net for a stored chat.
        void this.refetch();
        if (resumed || this.outbox.length) void this.flush();
      },
      onEvent: (event) => this.handleEvent(event),
      onResync: () => void this.refetch(),
      onStatus: (connection) => this.update({ connection }),
      onUnauthorized: () => this.expire(),
    });
  }

  private expire(): void {
    stored.setSession(null);
    this.socket?.stop();
    this.socket = null;
    this.session = null;
    this.update({ phase: 'expired', botTyping: false, agentTyping: null });
  }

  /** After a closed, rated or expired conversation: forget it and start again. A conversation the
   * bank closed is followed up (the new one is linked to it and its ticket); anything else starts afresh. */
  startOver(): void {
    const ended = this.session && this.state.closed ? this.session : null;
    if (this.session) stored.setOutbox(this.session.conversationId, []);
    if (ended) {
      void this.followUp(ended, []);
      return;
    }
    stored.setSession(null);
    this.adopt(null);
    void this.startSession();
  }

  /** Continue an ended conversation in a new, linked one, taking the unsent messages `carry` along. */
  private async followUp(ended: StoredSession, carry: OutboxEntry[]): Promise<void> {
    this.update({ phase: 'starting' });
    try {
      const session = await api.followUp(ended.conversationId, ended.token);
      const next: StoredSession = {
        conversationId: session.conversation_id,
        token: session.token,
        expiresAt: Date.now() + session.expires_in * 1000,
        verified: session.verified,
        customerRef: ended.customerRef,
      };
      stored.setOutbox(next.conversationId, carry);
      stored.setSession(next);
      this.adopt(next);
      if (carry.length) void this.flush();
    } catch {
      // The old token expired or the server refused: a fresh conversation still lets them write.
      stored.setSession(null);
      this.adopt(null);
      await this.startSession();
      if (carry.length && this.session) {
        stored.setOutbox(this.session.conversationId, carry);
        this.outbox = carry;
        carry.forEach((e) => this.sendState.set(e.clientMessageId, 'queued'));
        void this.flush();
      }
    }
  }

  // ---- transcript ----

  private async refetch(): Promise<void> {
    const session = this.session;
    if (!session) return;
    try {
      const transcript = await api.getMessages(session.conversationId, session.token);
      if (session !== this.session) return;
      for (const message of transcript.messages) this.absorb(message, false);
      this.deriveFromTranscript(transcript);
      this.render();
    } catch (error) {
      if (error instanceof HttpError && (error.status === 401 || error.status === 404)) this.expire();
      // Anything else: the live feed still works and the next reconnect refetches.
    }
  }

  /** What a reloaded widget has to work out from the transcript, because the events that said it
   * went to the page before the reload: whether a person has the conversation, and (when the
   * server includes them in the answer) whether it is closed or already rated. */
  private deriveFromTranscript(transcript: Record<string, unknown>): void {
    const all = [...this.messages.values()];
    const change: Partial<ChatState> = {};
    const handedOver = all.some((m) => m.sender === 'system' || m.sender === 'agent');
    // Handed back to the assistant before the reload: no person is on the way, so no waiting banner.
    const withAssistant = transcript.owner === 'bot';
    if (withAssistant) change.escalation = null;
    else if (handedOver && !this.state.escalation) Object.assign(change, { escalation: { ticketNumber: null }, owner: 'agent' });
    // The waiting banner names the ticket after a reload too (the event that said it went to the old page).
    const ticketNumber = typeof transcript.ticket_number === 'string' ? transcript.ticket_number : null;
    const escalation = withAssistant ? null : (change.escalation ?? this.state.escalation);
    if (ticketNumber && escalation && !escalation.ticketNumber) change.escalation = { ticketNumber };
    const lastAgent = [...all].reverse().find((m) => m.sender === 'agent');
    if (withAssistant) change.agentName = null;
    else if (lastAgent && this.state.agentName === null) change.agentName = lastAgent.author_name || '';
    if (transcript.owner === 'bot' || transcript.owner === 'agent') change.owner = transcript.owner;
    if (transcript.status === 'closed') change.closed = true;
    if (typeof transcript.rating === 'number') change.rating = 'done';
    this.state = { ...this.state, ...change };
  }

  /** Take in one stored message (from the transcript or a live event). */
  private absorb(message: ServerMessage, live: boolean): void {
    const isNew = !this.messages.has(message.id);
    this.messages.set(message.id, message);
    if (message.sender === 'customer' && message.client_message_id) {
      const id = message.client_message_id;
      if (this.outbox.some((e) => e.clientMessageId === id)) {
        this.outbox = this.outbox.filter((e) => e.clientMessageId !== id);
        this.sendState.delete(id);
        if (this.session) stored.setOutbox(this.session.conversationId, this.outbox);
      }
    }
    if (live && isNew && message.sender !== 'customer') this.options.onIncoming?.();
  }

  // ---- live events ----

  private handleEvent(event: ServerEvent): void {
    // A resume and a refetch can overlap; each event counts once.
    if (this.seenEvents.has(event.id)) return;
    this.seenEvents.add(event.id);
    const p = event.payload;
    switch (event.type) {
      case 'message.created': {
        const message = p.message as ServerMessage;
        if (!message || message.conversation_id !== this.session?.conversationId) return;
        this.absorb(message, true);
        const owner = p.owner === 'agent' ? 'agent' : 'bot';
        const change: Partial<ChatState> = { owner };
        if (message.sender === 'customer') {
          // The customer's message is stored; if the bot owns the conversation it is now
          // working on an answer.
          if (owner === 'bot') this.setBotTyping(true);
        } else if (message.sender === 'bot') {
          this.setBotTyping(false);
        } else if (message.sender === 'agent') {
          this.setBotTyping(false);
          change.agentTyping = null;
          change.agentName = message.author_name || this.state.agentName || '';
          if (!this.state.escalation) change.escalation = { ticketNumber: null };
        } else if (message.sender === 'system') {
          this.setBotTyping(false);
        }
        this.state = { ...this.state, ...change };
        this.render();
        break;
      }
      case 'message.redacted': {
        // A card number split over several messages was found when its last part arrived: the earlier
        // parts are shown masked too.
        const id = typeof p.message_id === 'string' ? p.message_id : '';
        const message = this.messages.get(id);
        if (message && typeof p.text === 'string') {
          this.messages.set(id, { ...message, text: p.text });
          this.render();
        }
        break;
      }
      case 'conversation.escalated':
        this.setBotTyping(false);
        this.update({
          owner: 'agent',
          escalating: false,
          escalation: { ticketNumber: typeof p.ticket_number === 'string' ? p.ticket_number : null },
        });
        break;
      case 'conversation.assigned': {
        // "X joined the conversation" is a stored system message (its own `message.created`), so it
        // takes its place before X's first reply and is still there after a reload.
        const name = typeof p.agent_name === 'string' ? p.agent_name : '';
        this.state = { ...this.state, owner: 'agent', agentName: name, escalation: this.state.escalation ?? { ticketNumber: null } };
        this.render();
        break;
      }
      case 'conversation.handed_back':
        // The conversation says so in a stored system message ("You are back with the virtual
        // assistant"); here the header and the waiting banner follow.
        this.state = { ...this.state, owner: 'bot', escalation: null, agentName: null, agentTyping: null };
        this.render();
        break;
      case 'conversation.closed':
        this.setBotTyping(false);
        this.update({ closed: true, agentTyping: null });
        break;
      case 'typing': {
        if (p.sender !== 'agent') return;
        if (this.agentTypingTimer) clearTimeout(this.agentTypingTimer);
        this.agentTypingTimer = setTimeout(() => this.update({ agentTyping: null }), AGENT_TYPING_SHOW_MS);
        this.update({ agentTyping: typeof p.name === 'string' ? p.name : '' });
        break;
      }
    }
  }

  private setBotTyping(typing: boolean): void {
    if (this.botTypingTimer) clearTimeout(this.botTypingTimer);
    this.botTypingTimer = null;
    if (typing) this.botTypingTimer = setTimeout(() => this.update({ botTyping: false }), BOT_TYPING_LIMIT_MS);
    this.state = { ...this.state, botTyping: typing };
  }

  // ---- sending ----

  /** Queue a message and try to send it. Returns false when the text is not sendable. */
  send(text: string): boolean {
    const trimmed = text.trim();
    if (!trimmed || [...text].length > MAX_MESSAGE_CHARS || !this.session) return false;
    const entry: OutboxEntry = { clientMessageId: newClientMessageId(), text: trimmed, createdAt: new Date().toISOString() };
    // Stored before the first attempt: a reload or a crash mid-request still sends it later,
    // under the same client id, so the server stores it exactly once.
    this.outbox = [...this.outbox, entry];
    this.sendState.set(entry.clientMessageId, 'queued');
    stored.setOutbox(this.session.conversationId, this.outbox);
    this.render();
    void this.flush();
    return true;
  }

  /** Per conversation, the last message the server accepted: the next one names it. */
  private readonly lastAccepted = new Map<string, string>();

  retry(clientMessageId: string): void {
    if (this.sendState.get(clientMessageId) !== 'failed') return;
    this.sendState.set(clientMessageId, 'queued');
    this.render();
    void this.flush();
  }

  /** Send queued messages one at a time, in order. Stops at the first transient failure and
   * tries again later (backoff, Retry-After, coming back online, or the socket reconnecting). */
  private async flush(): Promise<void> {
    if (!this.session) return;
    if (this.flushing) {
      // The running flush may be waiting on a request that started offline; when it fails it
      // tries again at once instead of sleeping through the backoff.
      this.flushAgain = true;
      return;
    }
    this.flushing = true;
    this.flushAgain = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    try {
      for (;;) {
        const session = this.session;
        if (!session) return;
        const next = this.outbox.find((e) => this.sendState.get(e.clientMessageId) === 'queued');
        if (!next) {
          this.retryAttempt = 0;
          return;
        }
        this.sendState.set(next.clientMessageId, 'sending');
        this.render();
        try {
          const after = this.lastAccepted.get(session.conversationId);
          await api.postMessage(session.conversationId, session.token, next.clientMessageId, next.text, after);
          this.lastAccepted.set(session.conversationId, next.clientMessageId);
          // Unless its message.created already arrived (then it left the outbox).
          if (this.sendState.has(next.clientMessageId)) this.sendState.set(next.clientMessageId, 'sent');
          this.retryAttempt = 0;
          this.render();
          this.confirmLater();
        } catch (error) {
          if (error instanceof HttpError && error.status === 401) {
            this.sendState.set(next.clientMessageId, 'failed');
            this.expire();
            return;
          }
          if (error instanceof HttpError && error.status === 409) {
            // The conversation ended before this message reached it (the bank resolved the case):
            // it goes, with anything queued after it, into a new conversation linked to the old one.
            const carry = this.outbox.filter((e) => this.sendState.get(e.clientMessageId) !== 'sent');
            void this.followUp(session, carry);
            return;
          }
          if (isRetryable(error)) {
            this.sendState.set(next.clientMessageId, 'queued');
            this.render();
            const backoff = RETRY_BACKOFF_MS[Math.min(this.retryAttempt, RETRY_BACKOFF_MS.length - 1)];
            this.retryAttempt += 1;
            let delay = error instanceof HttpError && error.retryAfterMs ? error.retryAfterMs : backoff;
            if (this.flushAgain && !(error instanceof HttpError)) delay = 0;
            this.flushAgain = false;
            // Offline, the 'online' event resends at once; the timer covers flaky networks.
            this.retryTimer = setTimeout(() => void this.flush(), delay);
            return;
          }
          // Refused for good (too long, malformed): show it so the customer can edit and resend.
          this.sendState.set(next.clientMessageId, 'failed');
          this.render();
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Safety net for the live feed: if a sent message has not come back as stored within a few
   * seconds (its event was lost with a dying socket), read the transcript, which settles it. */
  private confirmLater(checksLeft = CONFIRM_CHECKS): void {
    if (this.confirmTimer) clearTimeout(this.confirmTimer);
    this.confirmTimer = setTimeout(async () => {
      this.confirmTimer = null;
      if (![...this.sendState.values()].includes('sent')) return;
      await this.refetch();
      // Still not in the transcript (stored late on a busy server, or the read failed just after coming back
      // online): look again, a bounded number of times, rather than leave it showing "sent" for good.
      if (checksLeft > 1 && !this.confirmTimer && [...this.sendState.values()].includes('sent')) {
        this.confirmLater(checksLeft - 1);
      }
    }, CONFIRM_AFTER_MS);
  }

  // ---- other actions ----

  async escalate(): Promise<void> {
    const session = this.session;
    if (!session || this.state.escalating || this.state.escalation) return;
    this.update({ escalating: true });
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await api.escalate(session.conversationId, session.token);
        // The confirmation (ticket number) arrives as conversation.escalated.
        return;
      } catch (error) {
        if (!isRetryable(error)) break;
        await new Promise((r) => setTimeout(r, error instanceof HttpError && error.retryAfterMs ? error.retryAfterMs : 1000 * (attempt + 1)));
      }
    }
    this.update({ escalating: false });
  }

  /** Leave an email address for this conversation; resolves to the address as the server shows it
   * (masked). Throws the server's refusal (`HttpError`, 422 for an address it does not accept). */
  async saveEmail(email: string): Promise<string> {
    const session = this.session;
    if (!session) throw new Error('no conversation');
    const answer = await api.setContact(session.conversationId, session.token, email);
    return answer.email ?? '';
  }

  /** Ask for the conversation by email; resolves to where it goes (masked). */
  async emailTranscript(): Promise<string> {
    const session = this.session;
    if (!session) throw new Error('no conversation');
    const answer = await api.emailTranscript(session.conversationId, session.token);
    return answer.email ?? '';
  }

  /** The customer is typing; tell the agent (the bot does not care), at most every few seconds. */
  typing(): void {
    const session = this.session;
    if (!session || this.state.owner !== 'agent' || this.state.closed) return;
    const now = Date.now();
    if (now - this.lastTypingSignal < TYPING_SIGNAL_EVERY_MS) return;
    this.lastTypingSignal = now;
    api.typing(session.conversationId, session.token).catch(() => {
      // Ephemeral: a lost typing signal is not worth a retry.
    });
  }

  /** The customer chose "End chat": show the rating form at once, and end the conversation on the
   * server too, so its ticket closes and no agent writes into a chat nobody reads any more. The
   * server's `conversation.closed` then marks it closed here as well (a later message starts a
   * follow-up conversation). A conversation that has already ended (409) is what we wanted. */
  async end(): Promise<void> {
    const session = this.session;
    this.update({ ending: true });
    if (!session || this.state.closed) return;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await api.close(session.conversationId, session.token);
        return;
      } catch (error) {
        if (error instanceof HttpError && error.status === 409) return;
        if (!isRetryable(error)) return;
        await new Promise((r) => setTimeout(r, error instanceof HttpError && error.retryAfterMs ? error.retryAfterMs : 1000 * (attempt + 1)));
      }
    }
  }

  async rate(rating: number, comment: string): Promise<void> {
    const session = this.session;
    if (!session) return;
    this.update({ rating: 'sending' });
    try {
      await api.rate(session.conversationId, session.token, rating, comment.trim());
      this.update({ rating: 'done' });
    } catch (error) {
      if (error instanceof HttpError && error.status === 409) this.update({ rating: 'done' }); // already rated
      else if (error instanceof HttpError && (error.status === 404 || error.status === 405)) this.update({ rating: 'unavailable' });
      else this.update({ rating: 'failed' });
    }
  }

  // ---- the view ----

  /** Rebuild the ordered lines from the stored messages and the outbox. */
  private render(): void {
    const lines: ChatLine[] = [];
    for (const m of this.messages.values()) {
      lines.push({
        // Keyed by the client id when there is one, so a bubble keeps its place (and focus) when
        // it turns from pending to delivered.
        key: m.client_message_id ? 'cm:' + m.client_message_id : m.id,
        kind: 'message',
        sender: m.sender,
        text: m.text,
        createdAt: m.created_at,
        status: m.sender === 'customer' ? 'delivered' : undefined,
        authorName: m.author_name,
      });
    }
    lines.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
    // Not yet stored: after everything the server has, in the order the customer wrote them.
    for (const e of this.outbox) {
      lines.push({
        key: 'cm:' + e.clientMessageId,
        kind: 'message',
        sender: 'customer',
        text: e.text,
        createdAt: e.createdAt,
        status: this.sendState.get(e.clientMessageId) ?? 'queued',
      });
    }
    this.state = { ...this.state, lines };
    this.listeners.forEach((l) => l());
  }
}
