// The one WebSocket client. It keeps a single connection to /api/v1/ws open for as long as someone
// is signed in: authenticates with the first frame (tokens never go in URLs, where proxies log
// them), reconnects by itself with capped exponential backoff, resumes after the last sequence it
// saw so nothing is missed or duplicated, and tells the app to refetch over REST when the server
// says it cannot replay (`resync`). Its connection state drives the indicator in the header.

import type { EventEnvelope, ServerFrame } from '../api/types';

export type ConnectionState =
  /** Not started, or stopped after sign-out. */
  | 'idle'
  /** First connection attempt in progress. */
  | 'connecting'
  /** Authenticated and receiving events. */
  | 'live'
  /** The connection dropped; waiting to retry or retrying. */
  | 'reconnecting';

export interface ConnectionStatus {
  state: ConnectionState;
  /** When the next attempt starts (epoch ms), while reconnecting and waiting. */
  retryAt: number | null;
  /** Failed attempts since the socket was last live. */
  attempts: number;
}

/** The subset of the browser WebSocket the client uses, so tests can substitute a fake. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export interface LiveSocketOptions {
  url: string;
  /** A currently valid staff access token, or null when nobody is signed in. */
  getToken: () => Promise<string | null>;
  /** Called when the server refuses the token; should refresh it. Returns false to give up. */
  onUnauthorized?: () => Promise<boolean>;
  createSocket?: (url: string) => SocketLike;
  /** Backoff: first retry after `baseDelayMs`, doubling up to `maxDelayMs`, with ±20 % jitter so a
   * restarted server is not hit by every desk at the same instant. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** App-level ping interval; a connection silent for 2.5 intervals is treated as dead (browsers do
   * not surface protocol pings, and a half-open TCP connection can otherwise look alive for minutes). */
  pingIntervalMs?: number;
  random?: () => number;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

type EventListener = (event: EventEnvelope, seq: number) => void;
type SimpleListener = () => void;

const OPEN = 1;
/** Close code the notifier uses for a refused token. */
const CLOSE_UNAUTHORIZED = 4401;

export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  const jitter = 0.8 + random() * 0.4;
  return Math.round(Math.min(maxMs, raw * jitter));
}

export class LiveSocket {
  private readonly options: Required<Omit<LiveSocketOptions, 'onUnauthorized'>> & Pick<LiveSocketOptions, 'onUnauthorized'>;
  private socket: SocketLike | null = null;
  private running = false;
  /** Highest sequence applied; 0 until the first `ready`. Kept across reconnects: it is what we resume from. */
  private lastSeq = 0;
  private hasBeenLive = false;
  private status: ConnectionStatus = { state: 'idle', retryAt: null, attempts: 0 };
  private retryTimer: unknown = null;
  private pingTimer: unknown = null;
  private lastFrameAt = 0;
  /** Bumped on every connect, so callbacks of an abandoned socket are ignored. */
  private generation = 0;
  private readonly eventListeners = new Set<EventListener>();
  private readonly resyncListeners = new Set<SimpleListener>();
  private readonly statusListeners = new Set<(status: ConnectionStatus) => void>();

  constructor(options: LiveSocketOptions) {
    this.options = {
      createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
      baseDelayMs: 500,
      maxDelayMs: 15_000,
      pingIntervalMs: 20_000,
      random: Math.random,
      now: Date.now,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      ...options,
    };
  }

  get connection(): ConnectionStatus {
    return this.status;
  }

  get sequence(): number {
    return this.lastSeq;
  }

  onEvent(listener: EventListener): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Called when events may have been missed and views should refetch over REST. */
  onResync(listener: SimpleListener): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  onStatus(listener: (status: ConnectionStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  stop(): void {
    this.running = false;
    this.generation++;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, 'signed out');
    this.lastSeq = 0;
    this.hasBeenLive = false;
    this.setStatus({ state: 'idle', retryAt: null, attempts: 0 });
  }

  /** Skip the wait and try now (the browser came back online, or the person clicked "retry"). */
  retryNow(): void {
    if (!this.running || this.status.state !== 'reconnecting' || this.socket) return;
    this.clearTimers();
    this.connect();
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    this.setStatus({
      state: this.hasBeenLive ? 'reconnecting' : 'connecting',
      retryAt: null,
      attempts: this.status.attempts,
    });
    let token: string | null;
    try {
      token = await this.options.getToken();
    } catch {
      token = null;
    }
    if (generation !== this.generation || !this.running) return;
    if (!token) {
      this.scheduleRetry();
      return;
    }
    let socket: SocketLike;
    try {
      socket = this.options.createSocket(this.options.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    let refused = false;
    socket.onopen = () => {
      if (generation !== this.generation) return;
      this.lastFrameAt = this.options.now();
      // A reconnect resumes in the auth frame itself: the server replays what was missed before it
      // sends anything live, so events arrive in order and none is mistaken for a duplicate.
      const resume = this.hasBeenLive && this.lastSeq > 0;
      socket.send(JSON.stringify(resume ? { type: 'auth', token, after: this.lastSeq } : { type: 'auth', token }));
    };
    socket.onmessage = (message) => {
      if (generation !== this.generation) return;
      this.lastFrameAt = this.options.now();
      let frame: ServerFrame;
      try {
        frame = JSON.parse(String(message.data)) as ServerFrame;
      } catch {
        return;
      }
      if (frame.type === 'error' && frame.code === 'unauthorized') refused = true;
      this.handleFrame(socket, frame);
    };
    socket.onerror = () => {
      // Always followed by onclose, which does the work.
    };
    socket.onclose = (event) => {
      if (generation !== this.generation) return;
      this.socket = null;
      this.clearTimers();
      if (!this.running) return;
      if (refused || event.code === CLOSE_UNAUTHORIZED) {
        void this.afterRefusal();
        return;
      }
      this.scheduleRetry();
    };
  }

  private async afterRefusal(): Promise<void> {
    const renewed = this.options.onUnauthorized ? await this.options.onUnauthorized() : false;
    if (!this.running) return;
    if (renewed) this.scheduleRetry();
    else this.stop();
  }

  private handleFrame(socket: SocketLike, frame: ServerFrame): void {
    switch (frame.type) {
      case 'ready': {
        const resuming = this.hasBeenLive;
        const missedUnknowable = !resuming || this.lastSeq === 0 || frame.seq < this.lastSeq;
        this.hasBeenLive = true;
        this.setStatus({ state: 'live', retryAt: null, attempts: 0 });
        this.startPing(socket);
        if (!resuming) {
          // First connection: the views load their data over REST; events after `seq` come live.
          this.lastSeq = frame.seq;
        } else if (missedUnknowable) {
          // Nothing to resume from, or the server's stream went backwards (a new broker): refetch.
          this.lastSeq = frame.seq;
          this.emitResync();
        }
        // Otherwise the auth frame asked for the replay, which comes next.
        break;
      }
      case 'event': {
        // Replay and live delivery can overlap; a sequence already applied is a duplicate.
        if (frame.seq <= this.lastSeq) return;
        this.lastSeq = frame.seq;
        for (const listener of this.eventListeners) {
          try {
            listener(frame.event, frame.seq);
          } catch (error) {
            console.error('event listener failed', error);
          }
        }
        break;
      }
      case 'resync':
        this.emitResync();
        break;
      default:
        break;
    }
  }

  private emitResync(): void {
    for (const listener of this.resyncListeners) {
      try {
        listener();
      } catch (error) {
        console.error('resync listener failed', error);
      }
    }
  }

  private startPing(socket: SocketLike): void {
    const interval = this.options.pingIntervalMs;
    const tick = () => {
      if (this.socket !== socket) return;
      if (this.options.now() - this.lastFrameAt > interval * 2.5) {
        // Silent too long: assume the connection is dead and start over. Bumping the generation
        // makes the real close event, whenever the browser gets round to it, a no-op.
        this.generation++;
        this.socket = null;
        this.clearTimers();
        socket.close(4000, 'no answer to ping');
        this.scheduleRetry();
        return;
      }
      if (socket.readyState === OPEN) socket.send(JSON.stringify({ type: 'ping' }));
      this.pingTimer = this.options.setTimer(tick, interval);
    };
    this.pingTimer = this.options.setTimer(tick, interval);
  }

  private scheduleRetry(): void {
    if (!this.running) return;
    const attempts = this.status.attempts + 1;
    const delay = backoffDelay(attempts, this.options.baseDelayMs, this.options.maxDelayMs, this.options.random);
    this.setStatus({ state: this.hasBeenLive ? 'reconnecting' : 'connecting', retryAt: this.options.now() + delay, attempts });
    this.retryTimer = this.options.setTimer(() => {
      this.retryTimer = null;
      if (this.running) void this.connect();
    }, delay);
  }

  private clearTimers(): void {
    if (this.retryTimer !== null) this.options.clearTimer(this.retryTimer);
    if (this.pingTimer !== null) this.options.clearTimer(this.pingTimer);
    this.retryTimer = null;
    this.pingTimer = null;
  }

  private setStatus(status: ConnectionStatus): void {
    this.status = status;
    for (const listener of this.statusListeners) listener(status);
  }
}

/** The socket URL for the page's own origin (the panel is served by the same process as the API). */
export function defaultSocketUrl(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/api/v1/ws`;
}
