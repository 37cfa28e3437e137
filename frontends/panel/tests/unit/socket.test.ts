import { describe, expect, it } from 'vitest';
import { backoffDelay, LiveSocket, type SocketLike } from '../../src/live/socket';

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: unknown[] = [];
  closed = false;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.closed = true;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

/** A harness with manual timers and a list of every socket the client opened. */
function harness() {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; at: number; id: number }[] = [];
  let now = 0;
  let nextId = 1;
  const live = new LiveSocket({
    url: 'ws://test/api/v1/ws',
    getToken: async () => 'TOKEN',
    createSocket: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    random: () => 0.5,
    now: () => now,
    setTimer: (fn, ms) => {
      const t = { fn, at: now + ms, id: nextId++ };
      timers.push(t);
      return t.id;
    },
    clearTimer: (id) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
  });
  const advance = async (ms: number) => {
    now += ms;
    for (;;) {
      const due = timers.filter((t) => t.at <= now).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      timers.splice(timers.indexOf(due), 1);
      due.fn();
      await flush();
    }
  };
  return { live, sockets, advance, timers };
}

const flush = () => new Promise((r) => setTimeout(r, 0));
const event = (seq: number, id = `e${seq}`) => ({ type: 'event', seq, event: { id, type: 'ticket.created', version: 1, occurred_at: '', payload: {} } });

describe('LiveSocket', () => {
  it('authenticates with the first frame and goes live on ready', async () => {
    const { live, sockets } = harness();
    const states: string[] = [];
    live.onStatus((s) => states.push(s.state));
    live.start();
    await flush();
    sockets[0].open();
    expect(sockets[0].sent[0]).toEqual({ type: 'auth', token: 'TOKEN' });
    sockets[0].receive({ type: 'ready', seq: 10 });
    expect(live.connection.state).toBe('live');
    expect(states).toEqual(['connecting', 'live']);
    expect(live.sequence).toBe(10);
  });

  it('delivers each event once, ignoring sequences already applied', async () => {
    const { live, sockets } = harness();
    const seen: number[] = [];
    live.onEvent((_e, seq) => seen.push(seq));
    live.start();
    await flush();
    sockets[0].open();
    sockets[0].receive({ type: 'ready', seq: 3 });
    sockets[0].receive(event(3));
    sockets[0].receive(event(4));
    sockets[0].receive(event(4));
    sockets[0].receive(event(6));
    expect(seen).toEqual([4, 6]);
  });

  it('reconnects with backoff after a drop and resumes after the last sequence', async () => {
    const { live, sockets, advance } = harness();
    const resyncs: number[] = [];
    live.onResync(() => resyncs.push(1));
    live.start();
    await flush();
    sockets[0].open();
    sockets[0].receive({ type: 'ready', seq: 5 });
    sockets[0].receive(event(7));
    sockets[0].drop();
    expect(live.connection.state).toBe('reconnecting');
    expect(live.connection.retryAt).toBe(500);
    await advance(499);
    expect(sockets.length).toBe(1);
    await advance(1);
    expect(sockets.length).toBe(2);
    sockets[1].open();
    sockets[1].receive({ type: 'ready', seq: 9 });
    expect(sockets[1].sent).toEqual([{ type: 'auth', token: 'TOKEN', after: 7 }]);
    expect(live.connection.state).toBe('live');
    expect(resyncs).toEqual([]);
  });

  it('backs off exponentially up to the cap while the server stays down', async () => {
    const { live, sockets, advance } = harness();
    live.start();
    await flush();
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      sockets[sockets.length - 1].drop();
      delays.push(live.connection.retryAt! - (live.connection.retryAt! - backoffDelay(i + 1, 500, 15_000, () => 0.5)));
      await advance(live.connection.retryAt! );
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000]);
    expect(backoffDelay(1, 500, 15_000, () => 0)).toBe(400);
    expect(backoffDelay(1, 500, 15_000, () => 1)).toBe(600);
  });

  it('asks for a refetch when the server says resync or its stream went backwards', async () => {
    const { live, sockets, advance } = harness();
    let resyncs = 0;
    live.onResync(() => resyncs++);
    live.start();
    await flush();
    sockets[0].open();
    sockets[0].receive({ type: 'ready', seq: 50 });
    sockets[0].receive({ type: 'resync' });
    expect(resyncs).toBe(1);
    sockets[0].drop();
    await advance(1000);
    sockets[1].open();
    sockets[1].receive({ type: 'ready', seq: 2 });
    expect(resyncs).toBe(2);
    // It asked to resume from 50 (a new broker has nothing after it to replay), then refetched,
    // and follows the new stream from its sequence.
    expect(sockets[1].sent).toEqual([{ type: 'auth', token: 'TOKEN', after: 50 }]);
    expect(live.sequence).toBe(2);
  });

  it('treats a silent connection as dead and reconnects', async () => {
    const { live, sockets, advance } = harness();
    live.start();
    await flush();
    sockets[0].open();
    sockets[0].receive({ type: 'ready', seq: 1 });
    await advance(20_000);
    expect(sockets[0].sent).toContainEqual({ type: 'ping' });
    await advance(20_000);
    await advance(20_000);
    expect(sockets[0].closed).toBe(true);
    expect(live.connection.state).toBe('reconnecting');
    // The browser's late close event must not schedule a second retry.
    sockets[0].drop();
    await advance(15_000);
    expect(sockets.length).toBe(2);
  });

  it('stops after sign-out and ignores the old socket', async () => {
    const { live, sockets, advance } = harness();
    live.start();
    await flush();
    sockets[0].open();
    sockets[0].receive({ type: 'ready', seq: 1 });
    live.stop();
    expect(sockets[0].closed).toBe(true);
    sockets[0].drop();
    await advance(60_000);
    expect(sockets.length).toBe(1);
    expect(live.connection.state).toBe('idle');
  });

  it('refreshes the token when the server refuses it, and gives up if that fails', async () => {
    const sockets: FakeSocket[] = [];
    let refreshOk = true;
    let refreshes = 0;
    const live = new LiveSocket({
      url: 'ws://x',
      getToken: async () => 'T',
      onUnauthorized: async () => {
        refreshes++;
        return refreshOk;
      },
      createSocket: () => {
        const s = new FakeSocket();
        sockets.push(s);
        return s;
      },
      setTimer: (fn) => {
        setTimeout(fn, 0);
        return 0;
      },
      clearTimer: () => undefined,
    });
    live.start();
    await flush();
    sockets[0].open();
    sockets[0].receive({ type: 'error', code: 'unauthorized' });
    sockets[0].drop(4401);
    await flush();
    await flush();
    expect(refreshes).toBe(1);
    expect(sockets.length).toBe(2);
    refreshOk = false;
    sockets[1].open();
    sockets[1].drop(4401);
    await flush();
    await flush();
    expect(live.connection.state).toBe('idle');
  });
});
