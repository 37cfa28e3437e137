// The customer chat API (docs/api.md). The frame is served by the same origin as the API, so
// every path is relative and no CORS is involved.

import type { Locale, SignedIdentity } from '../shared/protocol';

export type Sender = 'customer' | 'bot' | 'agent' | 'system';

/** A stored message as the server sends it. */
export interface ServerMessage {
  id: string;
  conversation_id: string;
  sender: Sender;
  text: string;
  client_message_id?: string;
  created_at: string;
  /** Shown for agent messages when the server provides it. */
  author_name?: string;
}

export interface Session {
  conversation_id: string;
  token: string;
  expires_in: number;
  verified: boolean;
}

/**
 * A request that reached the server and was refused. `retryable` is true for answers that mean
 * "try the same request again later" (the backend is briefly unavailable, or we are rate-limited).
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterMs: number | null,
  ) {
    super(message);
  }
  get retryable(): boolean {
    return this.status === 503 || this.status === 502 || this.status === 504 || this.status === 429 || this.status === 500;
  }
}

/** The request never got an answer: offline, DNS, connection reset. Always safe to retry ours. */
export class NetworkError extends Error {}

export function isRetryable(error: unknown): boolean {
  return error instanceof NetworkError || (error instanceof HttpError && error.retryable);
}

async function request<T>(method: string, path: string, token: string | null, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (e) {
    throw new NetworkError(e instanceof Error ? e.message : String(e));
  }
  if (!response.ok) {
    let code = 'http_' + response.status;
    let message = response.statusText;
    try {
      const json = (await response.json()) as { code?: string; message?: string };
      if (json.code) code = json.code;
      if (json.message) message = json.message;
    } catch {
      // Not JSON (a proxy's error page): keep the status.
    }
    const retryAfter = Number(response.headers.get('Retry-After'));
    throw new HttpError(response.status, code, message, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : null);
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  startSession(locale: Locale, identity: SignedIdentity | null): Promise<Session> {
    return request('POST', '/api/v1/chat/sessions', null, identity ? { locale, identity } : { locale });
  },
  /** `after`: the client id of the previous message of this conversation the server accepted, so
   * the server stores (and answers) this one after it even if that one is delayed on its way. */
  postMessage(
    conversationId: string,
    token: string,
    clientMessageId: string,
    text: string,
    after?: string,
  ): Promise<{ message_id: string }> {
    return request('POST', `/api/v1/chat/conversations/${conversationId}/messages`, token, {
      client_message_id: clientMessageId,
      text,
      ...(after ? { after_client_message_id: after } : {}),
    });
  },
  getMessages(conversationId: string, token: string): Promise<{ messages: ServerMessage[] } & Record<string, unknown>> {
    return request('GET', `/api/v1/chat/conversations/${conversationId}/messages`, token);
  },
  escalate(conversationId: string, token: string): Promise<void> {
    return request('POST', `/api/v1/chat/conversations/${conversationId}/escalate`, token, {});
  },
  typing(conversationId: string, token: string): Promise<void> {
    return request('POST', `/api/v1/chat/conversations/${conversationId}/typing`, token, {});
  },
  /** "End chat": the conversation (and its ticket, if any) closes for the bank too; 409 when it already has. */
  close(conversationId: string, token: string): Promise<void> {
    return request('POST', `/api/v1/chat/conversations/${conversationId}/close`, token, {});
  },
  /** Write again after the conversation ended: a new conversation linked to the ended one. */
  followUp(conversationId: string, token: string): Promise<Session> {
    return request('POST', `/api/v1/chat/conversations/${conversationId}/follow-up`, token, {});
  },
  /** Leave the address for emails about this conversation; the answer shows it masked. 422 for a bad one. */
  setContact(conversationId: string, token: string, email: string): Promise<{ email: string | null }> {
    return request('PUT', `/api/v1/chat/conversations/${conversationId}/contact`, token, { email });
  },
  /** "Email me this conversation": 202, or 409 without an address. */
  emailTranscript(conversationId: string, token: string): Promise<{ email: string | null }> {
    return request('POST', `/api/v1/chat/conversations/${conversationId}/transcript-email`, token, {});
  },
  rate(conversationId: string, token: string, rating: number, comment: string): Promise<void> {
    return request('POST', `/api/v1/chat/conversations/${conversationId}/rating`, token, comment ? { rating, comment } : { rating });
  },
};
