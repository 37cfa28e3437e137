// The chat panel the customer sees. Every piece of text from the server is rendered as React
// text (never as HTML); links go through linkify(), which only allows http(s).

import { useEffect, useId, useLayoutEffect, useRef, useState, useSyncExternalStore, type KeyboardEvent } from 'react';
import type { Chat, ChatLine, ChatState } from './chat';
import { MAX_MESSAGE_CHARS } from './chat';
import type { Strings } from './i18n';
import { linkify } from './linkify';
import { ConfirmButtons } from './ConfirmButtons';
import { HttpError } from './api';
import { holdsCardNumber, looksLikeEmail } from './email';

interface AppProps {
  chat: Chat;
  strings: Strings;
  title: string;
  open: boolean;
  embedded: boolean;
  onClose: () => void;
}

const FOCUSABLE = 'a[href], button:not([disabled]), textarea:not([disabled]), input:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function App({ chat, strings: t, title, open, embedded, onClose }: AppProps) {
  const state = useSyncExternalStore(chat.subscribe, chat.getState);
  const panelRef = useRef<HTMLDivElement>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const [confirmingEnd, setConfirmingEnd] = useState(false);

  // Opening the panel puts the customer in the message box, ready to type.
  useEffect(() => {
    if (open) (inputRef.current ?? panelRef.current?.querySelector<HTMLElement>(FOCUSABLE))?.focus();
  }, [open, state.phase]);

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    if (event.key === 'Escape') {
      if (confirmingEnd) setConfirmingEnd(false);
      else if (embedded) onClose();
      return;
    }
    // Focus trap: Tab and Shift+Tab cycle inside the panel instead of wandering off into the
    // bank's page behind it.
    if (event.key !== 'Tab' || !panelRef.current) return;
    const focusable = [...panelRef.current.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.offsetParent !== null);
    if (focusable.length === 0) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (event.shiftKey && (document.activeElement === first || !panelRef.current.contains(document.activeElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }

  const ended = state.closed || state.ending;
  // agentName: null = no person yet; '' = a person whose name we were not told.
  const status = state.closed
    ? t.closedNotice
    : state.agentName !== null
      ? t.statusAgent(state.agentName || t.agentTeam)
      : state.escalation || state.owner === 'agent'
        ? t.statusWaiting
        : t.statusBot;

  if (!open) return null;

  return (
    <div className="panel" ref={panelRef} onKeyDown={onKeyDown} role="dialog" aria-modal="true" aria-labelledby="joxai-title">
      <header className="header">
        <div className="avatar" aria-hidden="true">
          {title.slice(0, 1).toUpperCase()}
        </div>
        <div className="heading">
          <h1 id="joxai-title">{title}</h1>
          <p className="status">
            {status}
            {state.verified ? <span className="verified"> · {t.verified}</span> : null}
          </p>
        </div>
        {embedded ? (
          <button type="button" className="header-button" aria-label={t.close} title={t.close} onClick={onClose}>
            <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
              <path fill="currentColor" d="M18.3 5.7a1 1 0 0 0-1.4 0L12 10.6 7.1 5.7a1 1 0 0 0-1.4 1.4l4.9 4.9-4.9 4.9a1 1 0 1 0 1.4 1.4l4.9-4.9 4.9 4.9a1 1 0 0 0 1.4-1.4L13.4 12l4.9-4.9a1 1 0 0 0 0-1.4z" />
            </svg>
          </button>
        ) : null}
      </header>

      {confirmingEnd ? (
        <div className="confirm" role="alertdialog" aria-label={t.confirmEnd}>
          <span>{t.confirmEnd}</span>
          <button
            type="button"
            className="primary small"
            autoFocus
            onClick={() => {
              setConfirmingEnd(false);
              void chat.end();
            }}
          >
            {t.confirmEndYes}
          </button>
          <button type="button" className="secondary small" onClick={() => setConfirmingEnd(false)}>
            {t.cancel}
          </button>
        </div>
      ) : null}

      <ConnectionBanner state={state} t={t} />
      {state.escalation && state.agentName === null && !ended ? (
        <div className="banner waiting" role="status" data-testid="waiting-banner">
          {t.waitingBanner(state.escalation.ticketNumber)}
        </div>
      ) : null}

      <Transcript state={state} t={t} title={title} onRetry={(id) => chat.retry(id)} onAnswer={(text) => chat.send(text)} />

      {state.phase === 'ready' && (state.escalation || state.owner === 'agent' || state.closed) ? <EmailBox chat={chat} t={t} /> : null}

      {state.phase === 'expired' ? (
        <div className="ended">
          <p>{t.expiredNotice}</p>
          <button type="button" className="primary" onClick={() => chat.startOver()}>
            {t.newConversation}
          </button>
        </div>
      ) : ended ? (
        <Rating chat={chat} state={state} t={t} />
      ) : (
        <Composer chat={chat} state={state} t={t} inputRef={inputRef} onEnd={() => setConfirmingEnd(true)} />
      )}
    </div>
  );
}

/** The optional email: where the agent's reply, the resolution and, on request, the conversation go. */
function EmailBox({ chat, t }: { chat: Chat; t: Strings }) {
  const [value, setValue] = useState('');
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const id = useId();

  async function save() {
    const email = value.trim();
    setNote(null);
    if (holdsCardNumber(email)) return setError(t.emailCardNumber);
    if (!looksLikeEmail(email)) return setError(t.emailInvalid);
    setError(null);
    setBusy(true);
    try {
      setSaved(await chat.saveEmail(email));
      setValue('');
    } catch (e) {
      setError(e instanceof HttpError && e.status === 422 ? (/card/i.test(e.message) ? t.emailCardNumber : t.emailInvalid) : t.emailFailed);
    } finally {
      setBusy(false);
    }
  }

  async function sendTranscript() {
    setBusy(true);
    setError(null);
    try {
      setNote(t.emailTranscriptSent(await chat.emailTranscript()));
    } catch {
      setError(t.emailTranscriptFailed);
    } finally {
      setBusy(false);
    }
  }

  if (saved !== null) {
    return (
      <div className="email-box" data-testid="email-box">
        <p role="status">{note ?? t.emailSaved(saved)}</p>
        <button type="button" className="chip" disabled={busy} onClick={() => void sendTranscript()}>
          {t.emailTranscript}
        </button>
        {error ? (
          <p className="error" role="alert">
            {error}
          </p>
        ) : null}
      </div>
    );
  }
  return (
    <form
      className="email-box"
      data-testid="email-box"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <label htmlFor={id + '-email'}>{t.emailLabel}</label>
      <p id={id + '-hint'} className="hint-text">
        {t.emailHint}
      </p>
      <div className="email-row">
        <input
          id={id + '-email'}
          type="email"
          inputMode="email"
          autoComplete="email"
          maxLength={254}
          value={value}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${id}-hint ${id}-error` : `${id}-hint`}
          onChange={(e) => setValue(e.target.value)}
        />
        <button type="submit" className="secondary small" disabled={busy || value.trim() === ''}>
          {busy ? t.emailSaving : t.emailSave}
        </button>
      </div>
      {error ? (
        <p id={id + '-error'} className="error" role="alert">
          {error}
        </p>
      ) : null}
    </form>
  );
}

function ConnectionBanner({ state, t }: { state: ChatState; t: Strings }) {
  if (state.phase === 'starting') return <div className="banner" role="status">{t.starting}</div>;
  if (state.phase === 'start-failed') return <div className="banner warn" role="status">{t.startFailed}</div>;
  if (state.phase !== 'ready') return null;
  if (state.connection === 'offline') return <div className="banner warn" role="status" data-testid="offline-banner">{t.offline}</div>;
  if (state.connection === 'connecting') return <div className="banner subtle" role="status">{t.reconnecting}</div>;
  return null;
}

function Transcript({
  state,
  t,
  title,
  onRetry,
  onAnswer,
}: {
  state: ChatState;
  t: Strings;
  title: string;
  onRetry: (clientMessageId: string) => void;
  onAnswer: (text: string) => void;
}) {
  const logRef = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);

  // Follow new messages, unless the customer has scrolled up to read something older.
  useLayoutEffect(() => {
    const log = logRef.current;
    if (log && stickToBottom.current) log.scrollTop = log.scrollHeight;
  }, [state.lines, state.botTyping, state.agentTyping]);

  const typing =
    state.agentTyping !== null ? t.agentTyping(state.agentTyping || null) : state.botTyping ? t.botTyping : null;

  return (
    <>
      <div
        className="log"
        ref={logRef}
        role="log"
        aria-live="polite"
        aria-label={t.conversationLabel}
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        <Line line={{ key: 'welcome', kind: 'message', sender: 'bot', text: t.welcome(title), createdAt: '' }} t={t} onRetry={onRetry} welcome />
        {state.lines.map((line) => (
          <Line key={line.key} line={line} t={t} onRetry={onRetry} />
        ))}
        <ConfirmButtons lines={state.lines} onAnswer={onAnswer} label={t.confirmLabel} />
      </div>
      <div className="typing" role="status" aria-live="polite" data-testid="typing">
        {typing ? (
          <>
            <span className="dots" aria-hidden="true">
              <i />
              <i />
              <i />
            </span>
            {typing}
          </>
        ) : null}
      </div>
    </>
  );
}

function senderLabel(line: ChatLine, t: Strings): string {
  switch (line.sender) {
    case 'customer':
      return t.you;
    case 'bot':
      return t.assistant;
    case 'agent':
      return line.authorName || t.agentFallback;
    case 'system':
      return t.system;
  }
}

function formatTime(iso: string): string {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleTimeString(document.documentElement.lang, { hour: '2-digit', minute: '2-digit' });
}

function Line({ line, t, onRetry, welcome }: { line: ChatLine; t: Strings; onRetry: (clientMessageId: string) => void; welcome?: boolean }) {
  if (line.sender === 'system') {
    // What the bank's system says in the conversation: a person joined, the assistant is back, the
    // customer waits for the team. Stored like any message, so it keeps its place after a reload.
    return (
      <div className="notice system" data-sender="system" data-testid="notice">
        {line.text}
      </div>
    );
  }
  const statusText =
    line.status === 'queued'
      ? t.stateQueued
      : line.status === 'sending'
        ? t.stateSending
        : line.status === 'sent'
          ? t.stateSent
          : line.status === 'delivered'
            ? t.stateDelivered
            : line.status === 'failed'
              ? t.stateFailed
              : null;
  const label = senderLabel(line, t);
  return (
    <div className={`line ${line.sender}${welcome ? ' welcome' : ''}`} data-sender={line.sender} data-status={line.status}>
      {line.sender === 'agent' ? (
        <div className="author" aria-hidden="true">
          {label}
        </div>
      ) : null}
      <div className="bubble">
        <span className="sr-only">{label}: </span>
        {linkify(line.text).map((piece, i) =>
          piece.kind === 'link' ? (
            <a key={i} href={piece.href} target="_blank" rel="noopener noreferrer nofollow">
              {piece.text}
              <span className="sr-only"> {t.opensNewTab}</span>
            </a>
          ) : (
            <span key={i}>{piece.text}</span>
          ),
        )}
      </div>
      {line.createdAt || statusText ? (
        <div className="meta">
          {formatTime(line.createdAt)}
          {statusText ? (
            <>
              {line.createdAt ? ' · ' : ''}
              <span className={`state ${line.status}`}>{statusText}</span>
            </>
          ) : null}
          {line.status === 'failed' ? (
            <button type="button" className="link-button" onClick={() => onRetry(line.key.replace(/^cm:/, ''))}>
              {t.retry}
            </button>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

function Composer({
  chat,
  state,
  t,
  inputRef,
  onEnd,
}: {
  chat: Chat;
  state: ChatState;
  t: Strings;
  inputRef: React.RefObject<HTMLTextAreaElement | null>;
  onEnd: () => void;
}) {
  const [text, setText] = useState('');
  const hintId = useId();
  const length = [...text].length;
  const tooLong = length > MAX_MESSAGE_CHARS;
  const canSend = state.phase === 'ready' && text.trim().length > 0 && !tooLong;

  // Grow with the text up to a few lines, then scroll.
  useLayoutEffect(() => {
    const el = inputRef.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = Math.min(el.scrollHeight, 120) + 'px';
  }, [text, inputRef]);

  function submit() {
    if (!canSend) return;
    if (chat.send(text)) setText('');
    inputRef.current?.focus();
  }

  const canEscalate = state.phase === 'ready' && !state.escalation && state.owner === 'bot';

  return (
    <div className="composer-area">
      {state.phase === 'ready' ? (
        <div className="actions">
          {canEscalate ? (
            <button type="button" className="chip" disabled={state.escalating} onClick={() => void chat.escalate()}>
              <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false">
                <path fill="currentColor" d="M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm0 2c-3.3 0-8 1.7-8 5v1h16v-1c0-3.3-4.7-5-8-5z" />
              </svg>
              {state.escalating ? t.requestingPerson : t.talkToPerson}
            </button>
          ) : null}
          <button type="button" className="link-button end" onClick={onEnd}>
            {t.endChat}
          </button>
        </div>
      ) : null}
      <form
        className="composer"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <label className="sr-only" htmlFor="joxai-input">
          {t.messageLabel}
        </label>
        <textarea
          id="joxai-input"
          ref={inputRef}
          rows={1}
          value={text}
          placeholder={t.placeholder}
          aria-describedby={hintId}
          aria-invalid={tooLong || undefined}
          disabled={state.phase !== 'ready' && state.phase !== 'starting' && state.phase !== 'start-failed'}
          onChange={(e) => {
            setText(e.target.value);
            chat.typing();
          }}
          onKeyDown={(e) => {
            // Enter sends, Shift+Enter is a new line; never while an input method is composing
            // (Japanese, Chinese, accented letters on some keyboards).
            if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
              e.preventDefault();
              submit();
            }
          }}
        />
        <button type="submit" className="send" aria-label={t.send} title={t.send} disabled={!canSend}>
          <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
            <path fill="currentColor" d="M3.4 20.4 21 12 3.4 3.6 3.4 10l12.6 2-12.6 2z" />
          </svg>
        </button>
      </form>
      <div id={hintId} className={`hint ${tooLong ? 'error' : ''}`} aria-live="polite">
        {tooLong ? t.tooLong(MAX_MESSAGE_CHARS) : length > MAX_MESSAGE_CHARS - 200 ? t.charsLeft(MAX_MESSAGE_CHARS - length) : ''}
      </div>
    </div>
  );
}

function Rating({ chat, state, t }: { chat: Chat; state: ChatState; t: Strings }) {
  const [stars, setStars] = useState(0);
  const [comment, setComment] = useState('');
  const [skipped, setSkipped] = useState(false);
  const name = useId();

  if (state.rating === 'done' || skipped || state.rating === 'unavailable') {
    return (
      <div className="ended" role="status">
        {state.closed ? <p>{t.closedNotice}</p> : null}
        {state.rating === 'done' ? <p className="thanks">{t.ratingThanks}</p> : null}
        {state.rating === 'unavailable' ? <p>{t.ratingUnavailable}</p> : null}
        <button type="button" className="primary" onClick={() => chat.startOver()}>
          {t.newConversation}
        </button>
      </div>
    );
  }

  return (
    <form
      className="rating"
      aria-labelledby={name + '-title'}
      onSubmit={(e) => {
        e.preventDefault();
        if (stars > 0) void chat.rate(stars, comment);
      }}
    >
      {state.closed ? <p className="closed-notice">{t.closedNotice}</p> : null}
      <h2 id={name + '-title'}>{t.rateTitle}</h2>
      <fieldset className="stars">
        <legend className="sr-only">{t.rateLegend}</legend>
        {[1, 2, 3, 4, 5].map((n) => (
          <label key={n} className={n <= stars ? 'on' : ''}>
            <input
              type="radio"
              name={name}
              value={n}
              checked={stars === n}
              onChange={() => setStars(n)}
              autoFocus={n === 1 && stars === 0}
            />
            <span aria-hidden="true">★</span>
            <span className="sr-only">{t.stars(n)}</span>
          </label>
        ))}
      </fieldset>
      <label className="comment-label" htmlFor={name + '-comment'}>
        {t.commentLabel}
      </label>
      <textarea id={name + '-comment'} rows={2} maxLength={1000} value={comment} onChange={(e) => setComment(e.target.value)} />
      {state.rating === 'failed' ? (
        <p className="error" role="alert">
          {t.ratingFailed}
        </p>
      ) : null}
      <div className="rating-actions">
        <button type="button" className="secondary" onClick={() => setSkipped(true)}>
          {t.skip}
        </button>
        <button type="submit" className="primary" disabled={stars === 0 || state.rating === 'sending'}>
          {t.submitRating}
        </button>
      </div>
    </form>
  );
}
