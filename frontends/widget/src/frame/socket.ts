// The live feed: one WebSocket to /api/v1/ws that reconnects by itself and resumes where it left
// off, so a customer on a train loses nothing and sees nothing twice.
//
// Protocol (notifier/src/socket.rs): we send {"type":"auth","token"} first; the server answers
// {"type":"ready","seq"} and then {"type":"event","seq","event"} frames. After a reconnect the auth
// frame carries "after":lastSeq and the server replays what we missed before anything live, in
// order. {"type":"resync"} means we were too far behind: refetch the transcript instead.

export interface ServerEvent {
  id: string;
  type: string;
  occurred_at?: string;
  payload: Record<string, unknown>;
}

export type SocketStatus = 'connecting' | 'open' | 'offline';

export interface SocketHandlers {
  /** The socket is authenticated. `resumed` is false on the first connection, true after a reconnect. */
  onReady(resumed: boolean): void;
  onEvent(event: ServerEvent): void;
  onResync(): void;
  onStatus(status: SocketStatus): void;
  /** The token was refused: the conversation expired. The socket stops for good. */
  onUnauthorized(): void;
}

/** Time between our pings. The server pings too, but browsers hide those from scripts. */
const PING_EVERY_MS = 20_000;
/** A socket that has said nothing for this long is dead even if the browser has not noticed
 * (a laptop lid closed, a network that silently dropped us). */
const SILENCE_LIMIT_MS = 45_000;
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
/** After the browser says it is back online, an open socket must answer a ping this fast, or we
 * treat it as dead: a network change can leave a socket that looks open but carries nothing. */
const PROBE_LIMIT_MS = 3_000;

export class LiveSocket {
  private ws: WebSocket | null = null;
  private stopped = false;
  private attempt = 0;
  private lastSeq: number | null = null;
  private lastHeard = 0;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly onOnline = () => this.reconnectNow();

  constructor(
    private readonly token: string,
    private readonly handlers: SocketHandlers,
  ) {
    window.addEventListener('online', this.onOnline);
    this.connect();
  }

  isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.ws?.close(1000);
    this.ws = null;
  }

  private connect(): void {
    if (this.stopped) return;
    this.handlers.onStatus('connecting');
    const url = new URL('/api/v1/ws', location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url.href);
    this.ws = ws;
    // The token goes in the first frame, never in the URL, where proxies would log it.
    // A reconnect resumes in that same frame: the server replays what we missed before it sends
    // anything live, so messages arrive in the order they were stored.
    ws.onopen = () =>
      ws.send(
        JSON.stringify(
          this.lastSeq !== null ? { type: 'auth', token: this.token, after: this.lastSeq } : { type: 'auth', token: this.token },
        ),
      );
    ws.onmessage = (message) => {
      if (ws !== this.ws) return;
      this.lastHeard = Date.now();
      let frame: { type?: string; seq?: number; event?: ServerEvent; code?: string };
      try {
        frame = JSON.parse(String(message.data));
      } catch {
        return;
      }
      switch (frame.type) {
        case 'ready': {
          // A resume was asked for in the auth frame.
          const resumed = this.lastSeq !== null;
          if (!resumed) this.lastSeq = frame.seq ?? 0;
          this.attempt = 0;
          this.startPinging(ws);
          this.handlers.onStatus('open');
          this.handlers.onReady(resumed);
          break;
        }
        case 'event':
          if (typeof frame.seq === 'number') this.lastSeq = Math.max(this.lastSeq ?? 0, frame.seq);
          if (frame.event) this.handlers.onEvent(frame.event);
          break;
        case 'resync':
          this.handlers.onResync();
          break;
        case 'error':
          if (frame.code === 'unauthorized') {
            this.stop();
            this.handlers.onUnauthorized();
          }
          break;
      }
    };
    ws.onclose = (close) => {
      if (ws !== this.ws || this.stopped) return;
      this.ws = null;
      if (this.pingTimer) clearInterval(this.pingTimer);
      if (close.code === 4401) {
        this.stop();
        this.handlers.onUnauthorized();
        return;
      }
      this.handlers.onStatus(navigator.onLine ? 'connecting' : 'offline');
      this.scheduleReconnect();
    };
  }

  private startPinging(ws: WebSocket): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastHeard > SILENCE_LIMIT_MS) {
        ws.close();
        // onclose may take a while on a dead network; do not wait for it.
        if (ws === this.ws) ws.onclose?.(new CloseEvent('close', { code: 1006 }));
        return;
      }
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ping' }));
    }, PING_EVERY_MS);
  }

  /** Ping now; if nothing at all comes back soon, close the socket and reconnect (and resume). */
  private probe(ws: WebSocket): void {
    const asked = Date.now();
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ping' }));
    setTimeout(() => {
      if (ws !== this.ws || this.stopped || this.lastHeard >= asked) return;
      ws.close();
      if (ws === this.ws) ws.onclose?.(new CloseEvent('close', { code: 1006 }));
    }, PROBE_LIMIT_MS);
  }

  private scheduleReconnect(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    // Jitter, so a server restart is not followed by every customer reconnecting in the same instant.
    const delay = base / 2 + Math.random() * base;
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** Back online: skip the rest of the backoff, or check that the open socket still works. */
  private reconnectNow(): void {
    if (this.stopped) return;
    if (this.ws) {
      this.probe(this.ws);
      return;
    }
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.attempt = 0;
    this.connect();
  }
}
