// What the chat keeps in the iframe's localStorage, so the conversation survives reloads and new
// tabs: the session (conversation id + customer token) and the outbox of messages not yet
// delivered. localStorage is per origin, and the iframe's origin is the widget's, so the bank's
// page can never read the token.

export interface StoredSession {
  conversationId: string;
  token: string;
  /** Epoch milliseconds after which the token is useless. */
  expiresAt: number;
  verified: boolean;
  /** The verified customer this session belongs to, so a different signed-in customer on the same
   * browser never continues someone else's conversation. */
  customerRef: string | null;
}

/** A message the customer wrote that the server has not confirmed as stored yet. */
export interface OutboxEntry {
  clientMessageId: string;
  text: string;
  createdAt: string;
}

const SESSION_KEY = 'joxai.session.v1';
const OUTBOX_KEY = 'joxai.outbox.v1';
const OPEN_KEY = 'joxai.open.v1';

function read<T>(storage: Storage, key: string): T | null {
  try {
    const raw = storage.getItem(key);
    return raw ? (JSON.parse(raw) as T) : null;
  } catch {
    // Storage can be disabled (private mode, blocked third-party storage); then the chat still
    // works, it just does not survive a reload.
    return null;
  }
}

function write(storage: Storage, key: string, value: unknown): void {
  try {
    if (value === null) storage.removeItem(key);
    else storage.setItem(key, JSON.stringify(value));
  } catch {
    // See read().
  }
}

export const stored = {
  session(): StoredSession | null {
    const session = read<StoredSession>(localStorage, SESSION_KEY);
    // Stop a minute early: a token that expires mid-request is worse than a fresh session.
    if (!session || session.expiresAt - 60_000 < Date.now()) return null;
    return session;
  },
  setSession(session: StoredSession | null): void {
    write(localStorage, SESSION_KEY, session);
  },
  outbox(conversationId: string): OutboxEntry[] {
    const all = read<{ conversationId: string; entries: OutboxEntry[] }>(localStorage, OUTBOX_KEY);
    return all && all.conversationId === conversationId ? all.entries : [];
  },
  setOutbox(conversationId: string, entries: OutboxEntry[]): void {
    write(localStorage, OUTBOX_KEY, entries.length ? { conversationId, entries } : null);
  },
  /** Whether this tab had the panel open, so a reload keeps it open. Per tab, hence sessionStorage. */
  wasOpen(): boolean {
    return read<boolean>(sessionStorage, OPEN_KEY) === true;
  },
  setOpen(open: boolean): void {
    write(sessionStorage, OPEN_KEY, open);
  },
  sessionKey: SESSION_KEY,
};

/** A fresh client message id: 1–64 of [A-Za-z0-9_-], unique enough to never collide. */
export function newClientMessageId(): string {
  // Groups joined with the letter 'x', never a separator ('-', '_', '.', ' '): the server replaces an id
  // that could be read as a card number (13+ digits in groups joined by any separators) with a stand-in,
  // which the widget would not recognise when its message comes back; no group here is longer than 12.
  if (typeof crypto.randomUUID === 'function') return 'w-' + crypto.randomUUID().replaceAll('-', 'x');
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return 'w-' + (hex.match(/.{1,8}/g) ?? [hex]).join('x');
}
