// The one API client: every REST call the panel makes goes through `ApiClient.request`, which adds the
// staff token, refreshes it silently when it runs out, and turns every failure into an `ApiError`
// whose message can be shown to a person as it is.

import type {
  Analytics,
  ApiErrorBody,
  Availability,
  CannedResponse,
  Conversation,
  ConversationDetail,
  Customer,
  CustomerProfile,
  DeadLetter,
  DeadLetterDetail,
  KnowledgeArticle,
  LoginResponse,
  Page,
  Priority,
  StaffPreferences,
  StaffRole,
  StaffUser,
  Ticket,
  TicketDetail,
  TicketEvent,
  TicketNote,
  TicketStatus,
  Uuid,
} from './types';

/** A failed API call, described in words. `status` is 0 when the server could not be reached. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: { field: string; message: string }[];

  constructor(status: number, code: string, message: string, fields: { field: string; message: string }[] = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
  }

  /** Whether the route itself is missing (the server is older than the panel), rather than a record. */
  get routeMissing(): boolean {
    return this.status === 404 && /route/i.test(this.message);
  }
}

/** The sentence to show a person for any error thrown by the client (or anything else). */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 0) return error.message;
    if (error.routeMissing) {
      return `This server does not offer this feature yet (${error.message}).`;
    }
    const fields = error.fields.map((f) => `${f.field}: ${f.message}`).join('; ');
    return fields ? `${error.message} (${fields})` : error.message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

/** What we keep about the signed-in person. Stored in sessionStorage so a reload keeps the
 * session but closing the tab ends it (a shared bank workstation must not stay signed in). */
export interface Session {
  accessToken: string;
  /** Epoch milliseconds at which the access token expires. */
  expiresAt: number;
  refreshToken?: string;
  user: StaffUser;
}

export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface ApiClientOptions {
  /** Origin + path prefix of the API, e.g. "" for same-origin or "http://127.0.0.1:5000". */
  baseUrl?: string;
  fetch?: typeof fetch;
  storage?: KeyValueStore | null;
  now?: () => number;
}

const SESSION_KEY = 'joxai.panel.session';
/** At most this many pages of a list are read for one screen (5,000 items). */
const MAX_PAGES = 50;
/** Refresh this long before the access token expires, so a request in flight never carries a
 * token that dies on the way. */
const REFRESH_MARGIN_MS = 60_000;

type Query = Record<string, string | number | boolean | null | undefined>;

export class ApiClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly storage: KeyValueStore | null;
  private readonly now: () => number;
  private current: Session | null;
  /** One refresh at a time: concurrent 401s all wait for the same refresh. */
  private refreshing: Promise<boolean> | null = null;
  private readonly listeners = new Set<(session: Session | null) => void>();

  constructor(options: ApiClientOptions = {}) {
    this.baseUrl = options.baseUrl ?? '';
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.storage = options.storage === undefined ? safeSessionStorage() : options.storage;
    this.now = options.now ?? Date.now;
    this.current = this.load();
  }

  get session(): Session | null {
    return this.current;
  }

  /** Called with the new session after sign-in, refresh and sign-out (null). */
  onSessionChange(listener: (session: Session | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A token that is valid now, refreshing first when it is about to expire. */
  async freshToken(): Promise<string | null> {
    if (!this.current) return null;
    if (this.current.expiresAt - REFRESH_MARGIN_MS <= this.now()) await this.refresh();
    return this.current?.accessToken ?? null;
  }

  // ---- auth --------------------------------------------------------------------------------

  async login(email: string, password: string): Promise<Session> {
    const response = await this.request<LoginResponse>('POST', '/api/v1/auth/login', {
      body: { email, password },
      auth: false,
    });
    const session = this.sessionFrom(response);
    this.setSession(session);
    return session;
  }

  /** Sign out: revoke the session on the server when it can, and forget it here regardless. */
  async logout(): Promise<void> {
    const session = this.current;
    this.setSession(null);
    if (!session) return;
    try {
      await this.rawRequest('POST', '/api/v1/auth/logout', {
        body: session.refreshToken ? { refresh_token: session.refreshToken } : {},
        token: session.accessToken,
      });
    } catch {
      // Signing out locally is what matters; the server session expires on its own.
    }
  }

  /** Exchange the refresh token for a new access token. Returns false (and signs out) when the
   * session cannot be renewed, so the panel shows the sign-in page instead of failing calls. */
  refresh(): Promise<boolean> {
    if (!this.refreshing) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(): Promise<boolean> {
    const session = this.current;
    if (!session) return false;
    try {
      const body = session.refreshToken ? { refresh_token: session.refreshToken } : {};
      const response = await this.rawRequest<LoginResponse>('POST', '/api/v1/auth/refresh', {
        body,
        // Cookie-based refresh needs credentials; a body token needs nothing else.
        token: null,
      });
      // The refresh answer may leave out the user; keep the one we know.
      this.setSession(this.sessionFrom({ ...response, user: response.user ?? session.user }, session.refreshToken));
      return true;
    } catch (error) {
      // A refresh that the server refuses ends the session. A network failure does not: the old
      // token may still be good, and the next call will try again.
      if (error instanceof ApiError && error.status !== 0 && error.status < 500) this.setSession(null);
      return false;
    }
  }

  me(): Promise<StaffUser> {
    return this.request('GET', '/api/v1/auth/me');
  }

  /** The signed-in person's own preferences (the defaults until they save their own). */
  myPreferences(): Promise<StaffPreferences> {
    return this.request('GET', '/api/v1/me/preferences');
  }
  saveMyPreferences(preferences: StaffPreferences): Promise<StaffPreferences> {
    return this.request('PUT', '/api/v1/me/preferences', { body: preferences });
  }

  // ---- tickets -----------------------------------------------------------------------------

  async listTickets(query: Query = {}): Promise<Page<Ticket>> {
    return pageOf(await this.request('GET', '/api/v1/tickets', { query: { limit: 100, ...query } }), 'tickets');
  }
  getTicket(id: Uuid): Promise<TicketDetail> {
    return this.request('GET', `/api/v1/tickets/${enc(id)}`);
  }
  /** Reply to the ticket's customer. `clientMessageId` makes a retried click post only once. */
  reply(ticketId: Uuid, text: string, clientMessageId?: string): Promise<{ message_id: Uuid }> {
    return this.request('POST', `/api/v1/tickets/${enc(ticketId)}/messages`, {
      body: clientMessageId ? { text, client_message_id: clientMessageId } : { text },
    });
  }
  /** Change fields; `expected_updated_at` makes a stale edit fail with 409 instead of overwriting. */
  updateTicket(id: Uuid, change: { priority?: Priority; subject?: string; expected_updated_at?: string }): Promise<Ticket> {
    return this.request('PATCH', `/api/v1/tickets/${enc(id)}`, { body: change });
  }
  setTicketStatus(id: Uuid, status: TicketStatus, expectedUpdatedAt?: string): Promise<Ticket> {
    return this.request('POST', `/api/v1/tickets/${enc(id)}/status`, {
      body: expectedUpdatedAt ? { status, expected_updated_at: expectedUpdatedAt } : { status },
    });
  }
  assignTicket(id: Uuid, assigneeId: Uuid | null): Promise<Ticket> {
    return this.request('POST', `/api/v1/tickets/${enc(id)}/assign`, { body: { assignee_id: assigneeId } });
  }
  async listNotes(id: Uuid): Promise<TicketNote[]> {
    return pageOf<TicketNote>(await this.request('GET', `/api/v1/tickets/${enc(id)}/notes`), 'notes').items;
  }
  addNote(id: Uuid, text: string): Promise<TicketNote> {
    return this.request('POST', `/api/v1/tickets/${enc(id)}/notes`, { body: { text } });
  }
  async ticketHistory(id: Uuid): Promise<TicketEvent[]> {
    return pageOf<TicketEvent>(await this.request('GET', `/api/v1/tickets/${enc(id)}/history`), 'history').items;
  }

  // ---- conversations -----------------------------------------------------------------------

  async listConversations(query: Query = {}): Promise<Page<Conversation>> {
    return pageOf(await this.request('GET', '/api/v1/conversations', { query: { limit: 100, ...query } }), 'conversations');
  }
  getConversation(id: Uuid): Promise<ConversationDetail> {
    return this.request('GET', `/api/v1/conversations/${enc(id)}`);
  }
  takeOver(id: Uuid): Promise<Conversation> {
    return this.request('POST', `/api/v1/conversations/${enc(id)}/take-over`, { body: {} });
  }
  handBack(id: Uuid): Promise<Conversation> {
    return this.request('POST', `/api/v1/conversations/${enc(id)}/hand-back`, { body: {} });
  }

  // ---- customers ---------------------------------------------------------------------------

  async searchCustomers(q: string): Promise<Page<Customer>> {
    return pageOf(await this.request('GET', '/api/v1/customers', { query: { q, limit: 50 } }), 'customers');
  }
  getCustomer(id: Uuid): Promise<CustomerProfile> {
    return this.request('GET', `/api/v1/customers/${enc(id)}`);
  }

  // ---- people and availability -------------------------------------------------------------

  // No `limit` here: docs/api.md lists it, but the server refuses it on this route (it accepts only
  // `role` and `active`), and a desk has far fewer staff than its default page.
  async listUsers(query: Query = {}): Promise<Page<StaffUser>> {
    return pageOf(await this.request('GET', '/api/v1/users', { query }), 'users');
  }
  createUser(user: { email: string; display_name: string; role: StaffRole; password: string; capacity?: number }): Promise<StaffUser> {
    return this.request('POST', '/api/v1/users', { body: user });
  }
  updateUser(id: Uuid, change: Partial<Pick<StaffUser, 'role' | 'display_name' | 'capacity' | 'active'>>): Promise<StaffUser> {
    return this.request('PATCH', `/api/v1/users/${enc(id)}`, { body: change });
  }
  resetPassword(id: Uuid, password: string): Promise<void> {
    return this.request('POST', `/api/v1/users/${enc(id)}/password`, { body: { password } });
  }
  setAvailability(availability: Availability): Promise<StaffUser> {
    return this.request('PUT', '/api/v1/me/availability', { body: { availability } });
  }

  /** All items of a list, page after page (100 each, the API's largest page) by `next_cursor`.
   * Bounded, so a server that keeps answering with a cursor cannot keep the panel loading forever. */
  private async everyPage<T>(path: string, query: Query, legacyKey: string): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < MAX_PAGES; pages++) {
      const page: Page<T> = pageOf<T>(await this.request('GET', path, { query: { ...query, limit: 100, cursor } }), legacyKey);
      items.push(...page.items);
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
    return items;
  }

  // ---- canned responses and knowledge ------------------------------------------------------

  async listCanned(q = ''): Promise<CannedResponse[]> {
    return this.everyPage<CannedResponse>('/api/v1/canned-responses', { q }, 'canned_responses');
  }
  saveCanned(item: { id?: Uuid; title: string; body: string }): Promise<CannedResponse> {
    const body = { title: item.title, body: item.body };
    return item.id
      ? this.request('PUT', `/api/v1/canned-responses/${enc(item.id)}`, { body })
      : this.request('POST', '/api/v1/canned-responses', { body });
  }
  deleteCanned(id: Uuid): Promise<void> {
    return this.request('DELETE', `/api/v1/canned-responses/${enc(id)}`);
  }
  /** The canned text with its placeholders filled for this ticket (customer name, number, agent). */
  renderCanned(id: Uuid, ticketId: Uuid): Promise<{ text: string }> {
    return this.request('POST', `/api/v1/canned-responses/${enc(id)}/render`, { body: { ticket_id: ticketId } });
  }
  /** Every article (the demo bank alone ships more than one page of them). */
  async listArticles(q = ''): Promise<KnowledgeArticle[]> {
    return this.everyPage<KnowledgeArticle>(KB_PATH, { q }, 'articles');
  }
  /** Create (no id) or replace an article; `locale` is required by the API (`en` or `es`). */
  saveArticle(item: {
    id?: Uuid;
    slug?: string;
    title: string;
    body: string;
    locale: string;
    intents?: string[];
    tags?: string[];
    active?: boolean;
  }): Promise<KnowledgeArticle> {
    const { id, ...body } = item;
    return id ? this.request('PUT', `${KB_PATH}/${enc(id)}`, { body }) : this.request('POST', KB_PATH, { body });
  }
  deleteArticle(id: Uuid): Promise<void> {
    return this.request('DELETE', `${KB_PATH}/${enc(id)}`);
  }

  // ---- operations --------------------------------------------------------------------------

  analytics(query: Query = {}): Promise<Analytics> {
    return this.request('GET', '/api/v1/analytics/summary', { query });
  }
  async listDeadLetters(status = ''): Promise<Page<DeadLetter>> {
    return pageOf(await this.request('GET', '/api/v1/dead-letters', { query: { status, limit: 100 } }), 'dead_letters');
  }
  getDeadLetter(id: Uuid): Promise<DeadLetterDetail> {
    return this.request('GET', `/api/v1/dead-letters/${enc(id)}`);
  }
  replayDeadLetter(id: Uuid): Promise<DeadLetter> {
    return this.request('POST', `/api/v1/dead-letters/${enc(id)}/replay`, { body: {} });
  }
  discardDeadLetter(id: Uuid): Promise<DeadLetter> {
    return this.request('POST', `/api/v1/dead-letters/${enc(id)}/discard`, { body: {} });
  }

  // ---- plumbing ----------------------------------------------------------------------------

  /** Call the API as the signed-in person. A 401 triggers one silent refresh and one retry. */
  async request<T>(method: string, path: string, options: { body?: unknown; query?: Query; auth?: boolean } = {}): Promise<T> {
    const auth = options.auth ?? true;
    const token = auth ? await this.freshToken() : null;
    try {
      return await this.rawRequest<T>(method, path, { ...options, token });
    } catch (error) {
      if (auth && error instanceof ApiError && error.status === 401 && this.current && (await this.refresh())) {
        return this.rawRequest<T>(method, path, { ...options, token: this.current?.accessToken ?? null });
      }
      if (auth && error instanceof ApiError && error.status === 401) this.setSession(null);
      throw error;
    }
  }

  private async rawRequest<T>(
    method: string,
    path: string,
    options: { body?: unknown; query?: Query; token?: string | null },
  ): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    if (options.token) headers.Authorization = `Bearer ${options.token}`;
    let response: Response;
    try {
      response = await this.fetchImpl(this.baseUrl + path + queryString(options.query), {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        credentials: 'same-origin',
      });
    } catch {
      throw new ApiError(0, 'network', 'Cannot reach the JoxAI server. Check your connection; the panel will keep trying.');
    }
    const text = await response.text();
    let data: unknown = undefined;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = undefined;
      }
    }
    if (!response.ok) {
      const body = (data ?? {}) as Partial<ApiErrorBody>;
      // A JSON error body carries the words to show. Anything else (a proxy's page, a framework's
      // plain-text rejection) is shown briefly, after the status, rather than dropped.
      const plain = data === undefined && text && text.length < 300 && !text.trimStart().startsWith('<') ? `: ${text.trim()}` : '';
      const message =
        typeof body.message === 'string' && body.message
          ? body.message
          : `The server answered ${response.status} ${response.statusText || ''}`.trim() + plain;
      throw new ApiError(response.status, body.code ?? `http_${response.status}`, message, body.fields ?? []);
    }
    return data as T;
  }

  private sessionFrom(response: LoginResponse, previousRefresh?: string): Session {
    return {
      accessToken: response.access_token,
      expiresAt: this.now() + response.expires_in * 1000,
      refreshToken: response.refresh_token ?? previousRefresh,
      user: response.user,
    };
  }

  private setSession(session: Session | null): void {
    // Signing out twice (a refused refresh, then the failed call) is one change, not two.
    if (session === null && this.current === null) return;
    this.current = session;
    try {
      if (session) this.storage?.setItem(SESSION_KEY, JSON.stringify(session));
      else this.storage?.removeItem(SESSION_KEY);
    } catch {
      // Storage may be full or disabled (private mode); the in-memory session still works.
    }
    for (const listener of this.listeners) listener(session);
  }

  private load(): Session | null {
    try {
      const raw = this.storage?.getItem(SESSION_KEY);
      if (!raw) return null;
      const session = JSON.parse(raw) as Session;
      return session && typeof session.accessToken === 'string' && session.user ? session : null;
    } catch {
      return null;
    }
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

/** The knowledge base is not in docs/api.md yet; this is the path the panel expects. */
const KB_PATH = '/api/v1/knowledge/articles';

/** Lists answer `{items, next_cursor}`; servers from before the desk API answered `{tickets: [...]}`
 * and the like, which we accept too so the panel works during an upgrade. */
export function pageOf<T>(response: unknown, legacyKey: string): Page<T> {
  const body = (response ?? {}) as Record<string, unknown>;
  if (Array.isArray(body.items)) return { items: body.items as T[], next_cursor: (body.next_cursor as string | null) ?? null };
  if (Array.isArray(body[legacyKey])) return { items: body[legacyKey] as T[], next_cursor: null };
  if (Array.isArray(response)) return { items: response as T[], next_cursor: null };
  return { items: [], next_cursor: null };
}

export function queryString(query?: Query): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, String(value));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

function safeSessionStorage(): KeyValueStore | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null;
  }
}
