// The desk context: the signed-in person, the API client, the live socket and the shared queue,
// provided once to every screen.

import { createContext, useCallback, useContext, useEffect, useMemo, useReducer, useRef, useState, type ReactNode } from 'react';
import { ApiClient, describeError, type Session } from './api/client';
import type { EventEnvelope, StaffPreferences, StaffRole, StaffUser, Ticket, TicketUpdatedPayload, Uuid } from './api/types';
import { isLanguage, tr, useT } from './i18n';
import { navigate } from './router';
import { LiveSocket, defaultSocketUrl, type ConnectionStatus } from './live/socket';
import { EMPTY_QUEUE, queueReducer, type QueueState } from './state/queue';
import { eventNeedsRefetch, ticketFromEvent, visibleTo } from './state/tickets';

export interface Desk {
  api: ApiClient;
  live: LiveSocket;
  user: StaffUser;
  connection: ConnectionStatus;
  queue: QueueState;
  reloadQueue: () => Promise<void>;
  markSeen: (ticketId: Uuid) => void;
  /** Apply a ticket returned by a write at once, without waiting for its live event. */
  applyTicket: (ticket: Ticket) => void;
  /** Staff names by id, as far as the panel knows them (for assignees and note authors). */
  staffNames: Record<Uuid, string>;
  staff: StaffUser[];
  signOut: () => Promise<void>;
  /** Short message read out by screen readers (new tickets, connection changes). */
  announce: (text: string) => void;
  soundOn: boolean;
  setSoundOn: (on: boolean) => void;
  /** The person's own preferences; null until loaded. */
  preferences: StaffPreferences | null;
  preferencesError: unknown;
  /** Save through the API, then apply (language at once). Throws what the API refused. */
  savePreferences: (preferences: StaffPreferences) => Promise<StaffPreferences>;
}

const DeskContext = createContext<Desk | null>(null);

/** Pages of 100 tickets loaded into the live queue. */
const MAX_QUEUE_PAGES = 5;

export function useDesk(): Desk {
  const desk = useContext(DeskContext);
  if (!desk) throw new Error('useDesk outside DeskProvider');
  return desk;
}

export function canSee(role: StaffRole, allowed: readonly StaffRole[]): boolean {
  return allowed.includes(role);
}

/** Subscribe to live events for as long as the calling component is mounted. */
export function useLiveEvents(handler: (event: EventEnvelope) => void, onResync?: () => void): void {
  const { live } = useDesk();
  const handlerRef = useRef(handler);
  const resyncRef = useRef(onResync);
  handlerRef.current = handler;
  resyncRef.current = onResync;
  useEffect(() => {
    const offEvent = live.onEvent((event) => handlerRef.current(event));
    const offResync = live.onResync(() => resyncRef.current?.());
    return () => {
      offEvent();
      offResync();
    };
  }, [live]);
}

export function DeskProvider({ api, session, children }: { api: ApiClient; session: Session; children: ReactNode }) {
  const user = session.user;
  const [queue, dispatch] = useReducer(queueReducer, EMPTY_QUEUE);
  const [connection, setConnection] = useState<ConnectionStatus>({ state: 'idle', retryAt: null, attempts: 0 });
  const [staff, setStaff] = useState<StaffUser[]>([]);
  const [announcement, setAnnouncement] = useState('');
  const [soundOn, setSoundOnState] = useState(() => localStorage.getItem('joxai.panel.sound') === 'on');
  const soundRef = useRef(soundOn);
  soundRef.current = soundOn;
  const { setLanguage } = useT();
  const [preferences, setPreferences] = useState<StaffPreferences | null>(null);
  const [preferencesError, setPreferencesError] = useState<unknown>(null);
  const desktopRef = useRef(false);
  desktopRef.current = preferences?.desktop_notifications ?? false;

  const applyPreferences = useCallback(
    (loaded: StaffPreferences) => {
      setPreferences(loaded);
      if (isLanguage(loaded.language)) setLanguage(loaded.language);
    },
    [setLanguage],
  );

  useEffect(() => {
    api.myPreferences().then(
      (loaded) => {
        applyPreferences(loaded);
        setPreferencesError(null);
      },
      setPreferencesError,
    );
  }, [api, applyPreferences]);

  const live = useMemo(
    () =>
      new LiveSocket({
        url: defaultSocketUrl(window.location),
        getToken: () => api.freshToken(),
        onUnauthorized: () => api.refresh(),
      }),
    [api],
  );

  const reloadQueue = useCallback(async () => {
    try {
      // Up to MAX_QUEUE_PAGES pages of the newest tickets: the live list needs the open work and
      // recent history, not the archive (the customer pages hold that).
      let page = await api.listTickets();
      const tickets = [...page.items];
      for (let n = 1; n < MAX_QUEUE_PAGES && page.next_cursor; n++) {
        page = await api.listTickets({ cursor: page.next_cursor });
        tickets.push(...page.items);
      }
      dispatch({ type: 'loaded', tickets });
    } catch (error) {
      dispatch({ type: 'failed', error: describeError(error) });
    }
  }, [api]);

  const announce = useCallback((text: string) => {
    // Clearing first makes screen readers repeat an identical message.
    setAnnouncement('');
    window.setTimeout(() => setAnnouncement(text), 50);
  }, []);

  useEffect(() => {
    const offStatus = live.onStatus(setConnection);
    const offEvent = live.onEvent((event) => {
      dispatch({ type: 'event', event, user, at: Date.now() });
      const ticket = ticketFromEvent(event);
      // Events carry the ticket as the worker stores it; the SLA clock and first-response time are the
      // API's view of it. Read that once per change, so a row that arrived live shows its SLA too.
      if (ticket && !ticket.sla && visibleTo(user, ticket)) {
        api.getTicket(ticket.id).then(
          ({ messages: _messages, ...full }) => dispatch({ type: 'upsert', ticket: full, user }),
          () => undefined, // Gone from this person's view meanwhile: the event already said what it could.
        );
      }
      if (event.type === 'ticket.created' && ticket && (user.role !== 'agent' || !ticket.assignee_id || ticket.assignee_id === user.id)) {
        announce(tr('notify.newTicket', { number: ticket.number, subject: ticket.subject }));
        if (soundRef.current) chime();
        if (desktopRef.current) {
          if (ticket.assignee_id === user.id) desktopNotify(tr('notify.assigned', { number: ticket.number }), ticket.subject, ticket.id);
          else if (!ticket.assignee_id && ticket.priority === 'urgent') desktopNotify(tr('notify.urgent', { number: ticket.number }), ticket.subject, ticket.id);
        }
      } else if (event.type === 'ticket.updated' && ticket) {
        const { previous_assignee_id } = event.payload as TicketUpdatedPayload;
        if (ticket.assignee_id === user.id && previous_assignee_id !== user.id) {
          const words = tr('notify.assigned', { number: ticket.number });
          announce(words);
          if (soundRef.current) chime();
          if (desktopRef.current) desktopNotify(words, ticket.subject, ticket.id);
        }
      } else if (eventNeedsRefetch(event)) {
        void reloadQueue();
      }
    });
    const offResync = live.onResync(() => void reloadQueue());
    live.start();
    void reloadQueue();
    return () => {
      offStatus();
      offEvent();
      offResync();
      live.stop();
    };
  }, [live, reloadQueue, user, announce]);

  useEffect(() => {
    // Come back as soon as the browser says the network is back, instead of waiting out the backoff.
    const online = () => live.retryNow();
    window.addEventListener('online', online);
    return () => window.removeEventListener('online', online);
  }, [live]);

  useEffect(() => {
    // Names and availability of colleagues, for assigning. Agents may not list staff (supervisor+);
    // tickets carry `assignee_name` for them.
    if (user.role === 'agent') return;
    api
      .listUsers({ active: true })
      .then((page) => setStaff(page.items))
      .catch(() => setStaff([]));
  }, [api, user.role]);

  const staffNames = useMemo(() => {
    const names: Record<Uuid, string> = {};
    for (const s of staff) names[s.id] = s.display_name;
    names[user.id] = user.display_name;
    return names;
  }, [staff, user]);

  const desk: Desk = {
    api,
    live,
    user,
    connection,
    queue,
    reloadQueue,
    markSeen: (id) => dispatch({ type: 'seen', id }),
    applyTicket: (ticket) => {
      if (ticket && typeof ticket === 'object' && 'id' in ticket && 'status' in ticket) dispatch({ type: 'upsert', ticket, user });
    },
    staffNames,
    staff,
    signOut: () => api.logout(),
    announce,
    soundOn,
    setSoundOn: (on) => {
      localStorage.setItem('joxai.panel.sound', on ? 'on' : 'off');
      setSoundOnState(on);
    },
    preferences,
    preferencesError,
    savePreferences: async (next) => {
      const saved = await api.saveMyPreferences(next);
      applyPreferences(saved && typeof saved === 'object' && 'language' in saved ? saved : next);
      return saved;
    },
  };

  return (
    <DeskContext.Provider value={desk}>
      {children}
      <div className="visually-hidden" role="status" aria-live="polite">
        {announcement}
      </div>
    </DeskContext.Provider>
  );
}

/** A desktop notification, only while the tab is hidden (in view, the highlighted row and the
 * announcement already tell the agent), and only with the browser's permission, asked for when the
 * person turned the preference on. A click brings the tab back on the ticket. */
function desktopNotify(title: string, body: string, ticketId: Uuid): void {
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted' || !document.hidden) return;
  try {
    const notification = new Notification(title, { body, tag: `ticket-${ticketId}` });
    notification.onclick = () => {
      window.focus();
      navigate(`/tickets/${ticketId}`);
      notification.close();
    };
  } catch {
    // Some browsers allow notifications only from a service worker; the in-page signals remain.
  }
}

/** A short two-note chime made with Web Audio, so no sound file has to be bundled or fetched. */
function chime(): void {
  try {
    const AudioCtx = window.AudioContext;
    if (!AudioCtx) return;
    const ctx = new AudioCtx();
    const gain = ctx.createGain();
    gain.gain.setValueAtTime(0.08, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.5);
    gain.connect(ctx.destination);
    [880, 1320].forEach((freq, i) => {
      const osc = ctx.createOscillator();
      osc.frequency.value = freq;
      osc.connect(gain);
      osc.start(ctx.currentTime + i * 0.12);
      osc.stop(ctx.currentTime + 0.5);
    });
    window.setTimeout(() => void ctx.close(), 800);
  } catch {
    // Sound is a nicety; the highlight still shows the new ticket.
  }
}
