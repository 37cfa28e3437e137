import { describe, expect, it } from 'vitest';
import { ApiClient, ApiError, describeError, pageOf, queryString, type KeyValueStore } from '../../src/api/client';

type Call = { url: string; init: RequestInit };

function memoryStore(): KeyValueStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v), removeItem: (k) => void data.delete(k) };
}

function json(status: number, body: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

const user = { id: 'u1', email: 'agent@joxai.local', display_name: 'Agent', role: 'agent' as const };

function fakeServer(handler: (call: Call) => Response | Promise<Response>) {
  const calls: Call[] = [];
  const fetchImpl = (async (url: string, init: RequestInit) => {
    const call = { url, init };
    calls.push(call);
    return handler(call);
  }) as unknown as typeof fetch;
  return { calls, fetchImpl };
}

describe('ApiClient', () => {
  it('signs in, keeps the session in storage and sends the bearer token afterwards', async () => {
    const store = memoryStore();
    const { calls, fetchImpl } = fakeServer(({ url }) =>
      url.endsWith('/auth/login')
        ? json(200, { access_token: 'A1', token_type: 'Bearer', expires_in: 900, refresh_token: 'R1', user })
        : json(200, { items: [], next_cursor: null }),
    );
    const api = new ApiClient({ fetch: fetchImpl, storage: store, now: () => 1_000 });
    const session = await api.login('agent@joxai.local', 'pw');
    expect(session.expiresAt).toBe(1_000 + 900_000);
    expect(JSON.parse(store.data.get('joxai.panel.session')!).accessToken).toBe('A1');
    await api.listTickets({ status: 'open' });
    const headers = calls[1].init.headers as Record<string, string>;
    expect(headers.Authorization).toBe('Bearer A1');
    expect(calls[1].url).toBe('/api/v1/tickets?limit=100&status=open');
    // A new client (a reload) finds the session again.
    expect(new ApiClient({ fetch: fetchImpl, storage: store }).session?.user.email).toBe('agent@joxai.local');
  });

  it('turns an error body into an ApiError whose message is the server words', async () => {
    const { fetchImpl } = fakeServer(() =>
      json(422, { code: 'validation_failed', message: 'some fields are invalid', fields: [{ field: 'text', message: '1 to 4000 characters' }] }),
    );
    const api = new ApiClient({ fetch: fetchImpl, storage: null });
    const error = await api.request<never>('POST', '/api/v1/x', { body: {}, auth: false }).catch((e: ApiError) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(422);
    expect(describeError(error)).toBe('some fields are invalid (text: 1 to 4000 characters)');
  });

  it('says in words when the server cannot be reached or lacks the route', async () => {
    const down = new ApiClient({ fetch: (async () => { throw new TypeError('Failed to fetch'); }) as unknown as typeof fetch, storage: null });
    const e1 = await down.request<never>('GET', '/api/v1/x', { auth: false }).catch((e: ApiError) => e);
    expect(e1.status).toBe(0);
    expect(describeError(e1)).toMatch(/Cannot reach the JoxAI server/);
    const old = new ApiClient({ fetch: fakeServer(() => json(404, { code: 'not_found', message: 'route not found' })).fetchImpl, storage: null });
    const e2 = await old.request<never>('GET', '/api/v1/knowledge/articles', { auth: false }).catch((e: ApiError) => e);
    expect(describeError(e2)).toBe('This server does not offer this feature yet (route not found).');
  });

  it('refreshes once on a 401 and retries the call with the new token', async () => {
    const store = memoryStore();
    let refreshes = 0;
    const { calls, fetchImpl } = fakeServer(({ url, init }) => {
      const auth = (init.headers as Record<string, string>).Authorization;
      if (url.endsWith('/auth/refresh')) {
        refreshes++;
        expect(JSON.parse(String(init.body))).toEqual({ refresh_token: 'R1' });
        return json(200, { access_token: 'A2', token_type: 'Bearer', expires_in: 900, refresh_token: 'R2', user });
      }
      return auth === 'Bearer A2' ? json(200, { ok: true }) : json(401, { code: 'unauthorized', message: 'expired' });
    });
    store.setItem('joxai.panel.session', JSON.stringify({ accessToken: 'A1', expiresAt: Date.now() + 600_000, refreshToken: 'R1', user }));
    const api = new ApiClient({ fetch: fetchImpl, storage: store });
    // Two calls at once share one refresh (a refresh token is single use).
    const [a, b] = await Promise.all([api.request('GET', '/api/v1/a'), api.request('GET', '/api/v1/b')]);
    expect(a).toEqual({ ok: true });
    expect(b).toEqual({ ok: true });
    expect(refreshes).toBe(1);
    expect(api.session?.refreshToken).toBe('R2');
    expect(calls.filter((c) => c.url.endsWith('/a')).length).toBe(2);
  });

  it('refreshes before a call when the token is about to expire', async () => {
    let now = 0;
    const { calls, fetchImpl } = fakeServer(({ url }) =>
      url.endsWith('/auth/login') || url.endsWith('/auth/refresh')
        ? json(200, { access_token: url.endsWith('refresh') ? 'A2' : 'A1', token_type: 'Bearer', expires_in: 900, refresh_token: 'R', user })
        : json(200, {}),
    );
    const api = new ApiClient({ fetch: fetchImpl, storage: null, now: () => now });
    await api.login('a', 'b');
    now = 900_000 - 30_000; // 30 s left: inside the refresh margin
    await api.me();
    expect(calls.map((c) => c.url.split('/').pop())).toEqual(['login', 'refresh', 'me']);
    expect((calls[2].init.headers as Record<string, string>).Authorization).toBe('Bearer A2');
  });

  it('signs out when the refresh is refused', async () => {
    const changes: unknown[] = [];
    const { fetchImpl } = fakeServer(() => json(401, { code: 'unauthorized', message: 'authentication required' }));
    const store = memoryStore();
    store.setItem('joxai.panel.session', JSON.stringify({ accessToken: 'A1', expiresAt: Date.now() + 600_000, refreshToken: 'R1', user }));
    const api = new ApiClient({ fetch: fetchImpl, storage: store });
    api.onSessionChange((s) => changes.push(s));
    await expect(api.me()).rejects.toBeInstanceOf(ApiError);
    expect(api.session).toBeNull();
    expect(changes).toEqual([null]);
    expect(store.data.size).toBe(0);
  });

  it('logout forgets the session even when the server call fails', async () => {
    const { fetchImpl } = fakeServer(() => json(500, { code: 'internal', message: 'boom' }));
    const store = memoryStore();
    store.setItem('joxai.panel.session', JSON.stringify({ accessToken: 'A1', expiresAt: Date.now() + 600_000, user }));
    const api = new ApiClient({ fetch: fetchImpl, storage: store });
    await api.logout();
    expect(api.session).toBeNull();
  });
});

describe('pageOf and queryString', () => {
  it('reads the documented {items} shape and the older named list', () => {
    expect(pageOf({ items: [1], next_cursor: 'c' }, 'tickets')).toEqual({ items: [1], next_cursor: 'c' });
    expect(pageOf({ tickets: [2] }, 'tickets')).toEqual({ items: [2], next_cursor: null });
    expect(pageOf(undefined, 'tickets')).toEqual({ items: [], next_cursor: null });
  });
  it('leaves out empty values and encodes the rest', () => {
    expect(queryString({ q: 'a b&c', status: '', x: undefined, n: 3 })).toBe('?q=a+b%26c&n=3');
    expect(queryString({})).toBe('');
  });
});

describe('lists longer than one page', () => {
  it('reads every page of the knowledge base by its cursor', async () => {
    const { calls, fetchImpl } = fakeServer(({ url }) => {
      const cursor = new URL(url, 'http://x').searchParams.get('cursor');
      if (!cursor) return json(200, { items: Array.from({ length: 100 }, (_, i) => ({ id: `a${i}` })), next_cursor: 'p2' });
      return json(200, { items: [{ id: 'a100' }, { id: 'a101' }], next_cursor: null });
    });
    const api = new ApiClient({ fetch: fetchImpl, storage: null });
    const articles = await api.listArticles();
    expect(articles).toHaveLength(102);
    expect(articles.at(-1)?.id).toBe('a101');
    expect(calls.map((c) => c.url)).toEqual(['/api/v1/knowledge/articles?limit=100', '/api/v1/knowledge/articles?limit=100&cursor=p2']);
  });

  it('stops after a bounded number of pages when the server never stops giving a cursor', async () => {
    const { calls, fetchImpl } = fakeServer(() => json(200, { items: [{ id: 'c' }], next_cursor: 'again' }));
    const api = new ApiClient({ fetch: fetchImpl, storage: null });
    expect(await api.listCanned()).toHaveLength(50);
    expect(calls).toHaveLength(50);
  });
});
