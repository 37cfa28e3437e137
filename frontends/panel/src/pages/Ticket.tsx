// One ticket: the live transcript and reply box on the left; details, assignment, SLA, internal
// notes and the history timeline on the right (below, on a tablet).

import { useCallback, useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { ApiError, describeError } from '../api/client';
import {
  PRIORITIES,
  type CannedResponse,
  type EventEnvelope,
  type Message,
  type NoteAddedPayload,
  type Priority,
  type Ticket,
  type TicketDetail,
  type TicketEvent,
  type TicketNote,
  type TicketStatus,
  type TypingPayload,
} from '../api/types';
import { ErrorNotice, formatTime, Loading, PriorityBadge, SlaTimer, StatusBadge, useAction, useNow } from '../components/common';
import { Transcript, type PendingReply } from '../components/Transcript';
import { useDesk, useLiveEvents } from '../desk';
import { Link } from '../router';
import { humanize, ticketFromEvent } from '../state/tickets';
import { label, tr, useT } from '../i18n';
import { applyRedaction, mergeMessages, messageForConversation } from '../state/transcript';

/** Why a ticket is urgent, for its banner: the rule the classifier wrote at the start of the subject
 * ("URGENT: urgent wording "stolen" — lost or stolen card — …"), else the ticket's reason. */
function urgentWhy(ticket: Ticket): string {
  const match = /^URGENT: (.+?) — /.exec(ticket.subject);
  return match ? match[1] : humanize(ticket.reason);
}

/** Where a ticket may go from each status (the API answers 409 to anything else). */
const NEXT_STATUS: Record<TicketStatus, TicketStatus[]> = {
  open: ['in_progress', 'resolved', 'closed'],
  in_progress: ['resolved', 'open', 'closed'],
  resolved: ['closed', 'in_progress'],
  closed: ['in_progress'],
};

/** How long a "typing…" signal is shown without a new one. */
const TYPING_SHOWN_MS = 5_000;
/** Send our own typing signal at most this often while the agent types. */
const TYPING_SENT_EVERY_MS = 3_000;

export function TicketPage({ id }: { id: string }) {
  const desk = useDesk();
  const { t } = useT();
  const now = useNow(1000);
  const [ticket, setTicket] = useState<Ticket | null>(null);
  const [messages, setMessages] = useState<Message[]>([]);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [notes, setNotes] = useState<TicketNote[] | null>(null);
  const [notesError, setNotesError] = useState<unknown>(null);
  const [history, setHistory] = useState<TicketEvent[] | null>(null);
  const [historyError, setHistoryError] = useState<unknown>(null);
  const [pending, setPending] = useState<PendingReply[]>([]);
  const [typing, setTyping] = useState<{ text: string; until: number } | null>(null);
  const [conversationClosed, setConversationClosed] = useState(false);
  const change = useAction();
  // The newest version of the ticket we have seen, from our own responses, live events and reloads:
  // what a change sends as `expected_updated_at`, so the agent's own earlier changes never count
  // against them.
  const version = useRef<string | null>(null);
  const seen = (t: { updated_at?: string } | null | undefined) => {
    if (t?.updated_at && (!version.current || Date.parse(t.updated_at) >= Date.parse(version.current))) version.current = t.updated_at;
  };
  // Someone else changed the ticket first: what they changed, and the agent's change to apply again.
  const [conflict, setConflict] = useState<{ message: string; retry: () => void } | null>(null);
  // The ids already in the transcript, readable from callbacks without waiting for a render.
  const messageIds = useRef(new Set<string>());
  messageIds.current = new Set(messages.map((m) => m.id));

  const loadTicket = useCallback(async () => {
    try {
      const detail: TicketDetail = await desk.api.getTicket(id);
      const { messages: fetched, conversation_status, ...rest } = detail;
      setConversationClosed(conversation_status === 'closed');
      version.current = null;
      seen(rest);
      setTicket(rest);
      setMessages((current) => mergeMessages(current, fetched ?? []));
      setLoadError(null);
    } catch (e) {
      setLoadError(e);
    }
  }, [desk.api, id]);

  const loadNotes = useCallback(async () => {
    try {
      setNotes(await desk.api.listNotes(id));
      setNotesError(null);
    } catch (e) {
      setNotesError(e);
    }
  }, [desk.api, id]);

  const loadHistory = useCallback(async () => {
    try {
      setHistory(await desk.api.ticketHistory(id));
      setHistoryError(null);
    } catch (e) {
      setHistoryError(e);
    }
  }, [desk.api, id]);

  const reloadAll = useCallback(() => {
    void loadTicket();
    void loadNotes();
    void loadHistory();
  }, [loadTicket, loadNotes, loadHistory]);

  useEffect(() => {
    reloadAll();
    desk.markSeen(id);
  }, [reloadAll]); // eslint-disable-line react-hooks/exhaustive-deps

  const conversationId = ticket?.conversation_id ?? null;
  useLiveEvents((event: EventEnvelope) => {
    const message = messageForConversation(event, conversationId);
    if (message) {
      messageIds.current.add(message.id);
      setMessages((current) => mergeMessages(current, [message]));
      // The reply we were waiting for has arrived: drop its "sending…" placeholder.
      setPending((current) => current.filter((p) => p.messageId !== message.id));
      if (message.sender === 'customer') setTyping(null);
      return;
    }
    if (event.type === 'message.redacted') {
      setMessages((current) => applyRedaction(current, event, conversationId) ?? current);
      return;
    }
    const updated = ticketFromEvent(event);
    if (updated && updated.id === id) {
      seen(updated);
      setTicket((current) => (current && Date.parse(current.updated_at) > Date.parse(updated.updated_at) ? current : { ...current, ...updated }));
      // The event has no SLA or first-response time (the API computes them): read the ticket again.
      void loadTicket();
      void loadHistory();
      return;
    }
    if (event.type === 'ticket.note_added') {
      const payload = event.payload as NoteAddedPayload;
      if (payload.ticket_id === id && payload.note) {
        setNotes((current) => (current?.some((n) => n.id === payload.note.id) ? current : [...(current ?? []), payload.note]));
        void loadHistory();
      }
      return;
    }
    if (event.type.startsWith('conversation.') && (event.payload as { conversation_id?: string } | null)?.conversation_id === conversationId) {
      // Ended, handed back or taken: the reply box's state comes from the stored conversation.
      if (event.type === 'conversation.closed') setConversationClosed(true);
      void loadTicket();
      return;
    }
    if (event.type === 'typing') {
      const payload = event.payload as TypingPayload;
      if (payload.conversation_id === conversationId && payload.sender === 'customer') {
        setTyping({ text: t('ticket.typing', { name: payload.name ?? t('ticket.theCustomer') }), until: Date.now() + TYPING_SHOWN_MS });
      }
    }
  }, reloadAll);

  if (loadError && !ticket) {
    return (
      <section className="page" aria-labelledby="page-title">
        <h1 id="page-title" tabIndex={-1}>
          {t('ticket.title')}
        </h1>
        <ErrorNotice error={loadError} onRetry={() => void loadTicket()} />
        <p>
          <Link to="/queue">{t('ticket.backToQueue')}</Link>
        </p>
      </section>
    );
  }
  if (!ticket) return <Loading what={t('ticket.loading')} />;

  const mine = ticket.assignee_id === desk.user.id;
  const supervisor = desk.user.role !== 'agent';
  // A supervisor gave the ticket to someone else while this agent had it open.
  const takenByOther = !supervisor && !!ticket.assignee_id && !mine;
  const assigneeName = !ticket.assignee_id
    ? t('ticket.unassigned')
    : mine
      ? t('ticket.you', { name: desk.user.display_name })
      : (ticket.assignee_name ?? desk.staffNames[ticket.assignee_id] ?? t('ticket.anotherAgent'));

  const apply = (result: Ticket | unknown) => {
    if (result && typeof result === 'object' && 'status' in result) {
      seen(result as Ticket);
      setTicket(result as Ticket);
      desk.applyTicket(result as Ticket);
      void loadHistory();
    }
  };

  const typingText = typing && typing.until > now ? typing.text : null;

  /** Run a change that names the version it was based on. When someone else changed the ticket first,
   * show what they changed with the latest version, and offer the same change again in one click. */
  const guarded = (attempt: (expected: string | undefined) => Promise<Ticket | unknown>): void => {
    setConflict(null);
    void change.run(async () => {
      try {
        apply(await attempt(version.current ?? ticket.updated_at));
      } catch (e) {
        if (e instanceof ApiError && e.status === 409 && /changed since you loaded/.test(e.message)) {
          await loadTicket();
          void loadHistory();
          setConflict({ message: e.message, retry: () => guarded(attempt) });
          return;
        }
        throw e;
      }
    });
  };

  return (
    <section className="page ticket-page" aria-labelledby="page-title">
      <div className="page-header">
        <div>
          <p className="breadcrumb">
            <Link to="/queue">{t('nav.queue')}</Link> / {ticket.number}
          </p>
          <h1 id="page-title" tabIndex={-1}>
            {ticket.subject}
          </h1>
          <p className="ticket-badges">
            <span className="ticket-number">{ticket.number}</span>
            <StatusBadge status={ticket.status} />
            <PriorityBadge priority={ticket.priority} />
            <span className="badge">{label('reason', ticket.reason)}</span>
            <SlaTimer ticket={ticket} now={now} />
          </p>
        </div>
      </div>
      {ticket.priority === 'urgent' && (
        <div className="notice urgent-banner" role="alert" data-testid="urgent-banner">
          <div>
            <strong>{t('ticket.urgentBanner')}</strong>
            <br />
            {t('ticket.urgentWhy', { why: urgentWhy(ticket) })}
          </div>
        </div>
      )}
      {/* Once someone else has the ticket an agent may no longer read it: that refusal is expected. */}
      {!takenByOther && <ErrorNotice error={loadError} onRetry={() => void loadTicket()} />}
      <div className="ticket-layout">
        <div className="ticket-main">
          <h2 className="visually-hidden">{t('ticket.transcript')}</h2>
          <Transcript messages={messages} pending={pending} typing={typingText} />
          {takenByOther ? (
            <p className="notice" role="status" data-testid="taken-by-other">
              {t('ticket.takenByOther', { name: assigneeName })}
            </p>
          ) : ticket.conversation_id ? (
            <ReplyBox
              ticket={ticket}
              ended={conversationClosed}
              canSignalTyping={mine || supervisor}
              onSending={(p) => setPending((current) => [...current, p])}
              onSent={(text, messageId) =>
                setPending((current) =>
                  // The stored message's event can beat the POST's answer; then there is nothing left to wait for.
                  messageIds.current.has(messageId)
                    ? current.filter((p) => !(p.text === text && p.messageId === null))
                    : current.map((p) => (p.text === text && p.messageId === null ? { ...p, messageId } : p)),
                )
              }
              onFailed={(text, error) =>
                setPending((current) => current.map((p) => (p.text === text && p.messageId === null ? { ...p, failed: error } : p)))
              }
            />
          ) : (
            <p className="muted">{t('ticket.noConversation')}</p>
          )}
        </div>
        <aside className="ticket-side" aria-label={t('ticket.detailsLabel')}>
          <section className="card">
            <h2>{t('ticket.details')}</h2>
            <ErrorNotice what={t('ticket.notSaved')} error={change.error} />
            {conflict && (
              <div className="notice notice-error" role="alert" data-testid="conflict">
                <span>{t('ticket.conflict', { message: conflict.message.replace(/; your change was not saved$/, '') })}</span>
                <button type="button" className="button-small" onClick={conflict.retry}>
                  {t('ticket.applyAgain')}
                </button>
              </div>
            )}
            <dl className="details">
              <dt>{t('ticket.assignee')}</dt>
              <dd data-testid="assignee">{assigneeName}</dd>
              <dt>
                <label htmlFor="ticket-status">{t('ticket.status')}</label>
              </dt>
              <dd>
                <select
                  id="ticket-status"
                  value={ticket.status}
                  disabled={change.busy}
                  onChange={(e) => {
                    const status = e.target.value as TicketStatus;
                    guarded((expected) => desk.api.setTicketStatus(ticket.id, status, expected));
                  }}
                >
                  <option value={ticket.status}>{label('status', ticket.status)}</option>
                  {NEXT_STATUS[ticket.status].map((s) => (
                    <option key={s} value={s}>
                      {label('status', s)}
                    </option>
                  ))}
                </select>
              </dd>
              <dt>
                <label htmlFor="ticket-priority">{t('ticket.priority')}</label>
              </dt>
              <dd>
                <select
                  id="ticket-priority"
                  value={ticket.priority}
                  disabled={change.busy}
                  onChange={(e) => {
                    const priority = e.target.value as Priority;
                    guarded((expected) => desk.api.updateTicket(ticket.id, { priority, expected_updated_at: expected }));
                  }}
                >
                  {PRIORITIES.map((p) => (
                    <option key={p} value={p}>
                      {label('priority', p)}
                    </option>
                  ))}
                </select>
              </dd>
              <dt>{t('ticket.opened')}</dt>
              <dd>{formatTime(ticket.created_at)}</dd>
              <dt>{t('ticket.firstResponse')}</dt>
              <dd>
                {ticket.first_response_at ? formatTime(ticket.first_response_at) : t('ticket.notYet')}
                {ticket.sla?.first_response_due_at && !ticket.first_response_at && <> · {t('ticket.dueAt', { when: formatTime(ticket.sla.first_response_due_at) })}</>}
              </dd>
              <dt>{t('ticket.resolutionDue')}</dt>
              <dd>{ticket.sla?.resolution_due_at ? formatTime(ticket.sla.resolution_due_at) : '—'}</dd>
              {supervisor && ticket.customer_id && (
                <>
                  <dt>{t('ticket.customer')}</dt>
                  <dd>
                    <Link to={`/customers/${ticket.customer_id}`}>{t('ticket.profile')}</Link>
                  </dd>
                </>
              )}
              {supervisor && ticket.conversation_id && (
                <>
                  <dt>{t('ticket.conversation')}</dt>
                  <dd>
                    <Link to={`/conversations/${ticket.conversation_id}`}>{t('ticket.openConversation')}</Link>
                  </dd>
                </>
              )}
            </dl>
            <div className="assign">
              {supervisor ? (
                <label>
                  {t('ticket.assignTo')}
                  <select
                    value={ticket.assignee_id ?? ''}
                    disabled={change.busy}
                    aria-label={t('ticket.assignTo')}
                    onChange={(e) => void change.run(async () => apply(await desk.api.assignTicket(ticket.id, e.target.value || null)))}
                  >
                    <option value="">{t('ticket.nobody')}</option>
                    {ticket.assignee_id && !desk.staff.some((s) => s.id === ticket.assignee_id) && (
                      <option value={ticket.assignee_id}>{assigneeName}</option>
                    )}
                    {desk.staff
                      .filter((s) => s.active !== false)
                      .map((s) => (
                        <option key={s.id} value={s.id}>
                          {s.display_name} · {label('role', s.role)}
                          {s.availability ? ` · ${t(`availability.${s.availability}`)}` : ''}
                          {s.open_tickets !== undefined ? ` · ${t('ticket.openCount', { count: s.open_tickets })}` : ''}
                        </option>
                      ))}
                  </select>
                </label>
              ) : null}
              {!ticket.assignee_id && (
                <button type="button" disabled={change.busy} onClick={() => void change.run(async () => apply(await desk.api.assignTicket(ticket.id, desk.user.id)))}>
                  {t('ticket.take')}
                </button>
              )}
              {mine && (
                <button type="button" className="button-quiet" disabled={change.busy} onClick={() => void change.run(async () => apply(await desk.api.assignTicket(ticket.id, null)))}>
                  {t('ticket.putBack')}
                </button>
              )}
            </div>
          </section>
          <Notes ticketId={ticket.id} notes={notes} error={notesError} onAdded={(n) => setNotes((c) => (c?.some((x) => x.id === n.id) ? c : [...(c ?? []), n]))} onRetry={() => void loadNotes()} />
          <History entries={history} error={historyError} onRetry={() => void loadHistory()} names={desk.staffNames} />
        </aside>
      </div>
    </section>
  );
}

function ReplyBox({
  ticket,
  ended,
  canSignalTyping,
  onSending,
  onSent,
  onFailed,
}: {
  ticket: Ticket;
  /** The customer's chat has ended: a reply would be refused, so the box says why and stays shut. */
  ended: boolean;
  /** Only the assignee (or a supervisor) may tell the customer someone is typing (the API's rule). */
  canSignalTyping: boolean;
  onSending: (p: PendingReply) => void;
  onSent: (text: string, messageId: string) => void;
  onFailed: (text: string, error: string) => void;
}) {
  const desk = useDesk();
  const { t } = useT();
  const [text, setText] = useState('');
  const [canned, setCanned] = useState<CannedResponse[] | null>(null);
  const [cannedError, setCannedError] = useState<unknown>(null);
  const [sendError, setSendError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  // One idempotency key per draft: a retried send of the same draft never posts twice.
  const draftKey = useRef(newKey());
  const lastTypingSent = useRef(0);
  const area = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    desk.api.listCanned().then(setCanned, setCannedError);
  }, [desk.api]);

  const send = async (event?: FormEvent) => {
    event?.preventDefault();
    const body = text.trim();
    if (!body || sending || ended) return;
    setSending(true);
    setSendError(null);
    onSending({ messageId: null, text: body });
    try {
      const { message_id } = await desk.api.reply(ticket.id, body, draftKey.current);
      onSent(body, message_id);
      setText('');
      draftKey.current = newKey();
    } catch (e) {
      const words = describeError(e);
      setSendError(words);
      onFailed(body, words);
    } finally {
      setSending(false);
    }
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void send();
  };

  const onChange = (value: string) => {
    setText(value);
    const now = Date.now();
    // Someone who has not taken the ticket may still draft (sending takes it), but the customer is told
    // "typing…" only by the person who answers them: the API refuses the signal to anyone else.
    if (canSignalTyping && now - lastTypingSent.current > TYPING_SENT_EVERY_MS) {
      lastTypingSent.current = now;
      // Best effort: the customer seeing "typing…" is a nicety, never worth an error message.
      void desk.api.request('POST', `/api/v1/tickets/${encodeURIComponent(ticket.id)}/typing`, { body: {} }).catch(() => undefined);
    }
  };

  const insertCanned = async (id: string) => {
    if (!id) return;
    const item = canned?.find((c) => c.id === id);
    if (!item) return;
    let insert = item.body;
    try {
      insert = (await desk.api.renderCanned(id, ticket.id)).text;
    } catch {
      // Without the render endpoint, insert the template; the agent can fill the placeholders.
    }
    setText((current) => (current.trim() ? `${current.trimEnd()}\n${insert}` : insert));
    area.current?.focus();
  };

  return (
    <form className="reply" onSubmit={send} aria-label={t('reply.label')}>
      <label htmlFor="reply-text">{t('reply.label')}</label>
      {ended && (
        <p className="notice" role="status" id="reply-ended" data-testid="reply-ended">
          {t('reply.ended')}
        </p>
      )}
      {!ended && !canSignalTyping && (
        <p className="muted small" data-testid="reply-takes-ticket">
          {t('reply.takesTicket')}
        </p>
      )}
      <textarea
        id="reply-text"
        ref={area}
        rows={4}
        disabled={ended}
        aria-describedby={ended ? 'reply-ended' : undefined}
        value={text}
        maxLength={4000}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={onKeyDown}
        placeholder={t('reply.placeholder')}
      />
      {sendError && (
        <p className="notice notice-error" role="alert">
          {t('reply.notSent', { error: sendError })}
        </p>
      )}
      <div className="reply-actions">
        <label className="canned-picker">
          <span className="visually-hidden">{t('reply.insertCanned')}</span>
          <select value="" onChange={(e) => void insertCanned(e.target.value)} disabled={!canned || canned.length === 0}>
            <option value="">
              {canned ? (canned.length ? t('reply.cannedPick') : t('reply.cannedNone')) : cannedError ? t('reply.cannedUnavailable') : t('reply.cannedLoading')}
            </option>
            {canned?.map((c) => (
              <option key={c.id} value={c.id}>
                {c.title}
              </option>
            ))}
          </select>
        </label>
        {cannedError ? (
          <span className="muted small" title={describeError(cannedError)}>
            {describeError(cannedError)}
          </span>
        ) : null}
        <button type="submit" className="button-primary" disabled={ended || sending || !text.trim()}>
          {sending ? t('reply.sending') : t('reply.send')}
        </button>
      </div>
    </form>
  );
}

function Notes({
  ticketId,
  notes,
  error,
  onAdded,
  onRetry,
}: {
  ticketId: string;
  notes: TicketNote[] | null;
  error: unknown;
  onAdded: (note: TicketNote) => void;
  onRetry: () => void;
}) {
  const desk = useDesk();
  const { t } = useT();
  const [text, setText] = useState('');
  const add = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim()) return;
    const note = await add.run(() => desk.api.addNote(ticketId, text.trim()));
    if (note) {
      if ('id' in note) onAdded(note);
      setText('');
    }
  };
  return (
    <section className="card notes" aria-labelledby="notes-title">
      <h2 id="notes-title">{t('notes.title')}</h2>
      <p className="muted small">{t('notes.hint')}</p>
      <ErrorNotice what={t('notes.loadFailed')} error={error} onRetry={onRetry} />
      {notes && notes.length === 0 && <p className="muted">{t('notes.none')}</p>}
      <ul className="note-list">
        {notes?.map((n) => (
          <li key={n.id}>
            <p className="note-text">{n.text}</p>
            <p className="note-meta">
              {n.author_name ?? t('notes.staff')} · {formatTime(n.created_at)}
            </p>
          </li>
        ))}
      </ul>
      <form onSubmit={submit}>
        <label htmlFor="note-text" className="visually-hidden">
          {t('notes.new')}
        </label>
        <textarea id="note-text" rows={2} value={text} onChange={(e) => setText(e.target.value)} placeholder={t('notes.placeholder')} />
        <ErrorNotice what={t('notes.notSaved')} error={add.error} />
        <button type="submit" disabled={add.busy || !text.trim()}>
          {t('notes.add')}
        </button>
      </form>
    </section>
  );
}

function History({ entries, error, onRetry, names }: { entries: TicketEvent[] | null; error: unknown; onRetry: () => void; names: Record<string, string> }) {
  const { t } = useT();
  return (
    <section className="card" aria-labelledby="history-title">
      <h2 id="history-title">{t('history.title')}</h2>
      <ErrorNotice what={t('history.loadFailed')} error={error} onRetry={onRetry} />
      {entries && entries.length === 0 && <p className="muted">{t('history.none')}</p>}
      <ol className="timeline">
        {entries?.map((entry) => (
          <li key={entry.id}>
            <span className="timeline-what">{describeHistory(entry, names)}</span>
            <span className="timeline-when">
              {actorName(entry.actor, names)} · {formatTime(entry.created_at)}
            </span>
          </li>
        ))}
      </ol>
    </section>
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Who did it, in words: staff are named when we know them; services ("classifier", "auto") as they are. */
function actorName(actor: unknown, names: Record<string, string>): string {
  if (!actor) return tr('history.system');
  if (typeof actor === 'string') return UUID.test(actor) ? (names[actor] ?? tr('history.staffMember')) : humanize(actor);
  if (typeof actor === 'object') {
    const a = actor as Record<string, unknown>;
    return String(a.name ?? a.display_name ?? a.kind ?? a.type ?? tr('history.someone'));
  }
  return String(actor);
}

/** One line of history in words. Unknown kinds are shown by name, so a newer server's events still
 * appear rather than vanish. The server records who was assigned by id; `names` (the staff we know)
 * turns that into a name. */
export function describeHistory(entry: TicketEvent, names: Record<string, string> = {}): string {
  const d = (entry.data ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? humanize(v) : v == null ? '—' : String(v));
  const status = (v: unknown) => (typeof v === 'string' ? label('status', v) : str(v));
  switch (entry.kind) {
    case 'created':
      return `${tr('history.created')}${typeof d.reason === 'string' ? ` (${label('reason', d.reason)})` : ''}`;
    case 'assigned':
      return tr('history.assigned', {
        name: String(d.assignee_name ?? d.agent_name ?? (typeof d.assignee_id === 'string' ? names[d.assignee_id] : undefined) ?? tr('history.anAgent')),
      });
    case 'unassigned':
      return tr('history.unassigned');
    case 'status_changed':
      return tr('history.status', { change: `${d.from ? `${status(d.from)} → ` : ''}${status(d.to ?? d.status)}` });
    case 'updated':
      return `${tr('history.updated')}${Object.keys(d).length ? `: ${Object.keys(d).filter((k) => k !== 'expected_updated_at').join(', ')}` : ''}`;
    case 'note_added':
      return tr('history.noteAdded');
    case 'agent_replied':
      return tr('history.agentReplied');
    default:
      return humanize(entry.kind);
  }
}

function newKey(): string {
  return typeof crypto !== 'undefined' && 'randomUUID' in crypto ? crypto.randomUUID() : `r${Date.now()}${Math.random().toString(36).slice(2)}`;
}
