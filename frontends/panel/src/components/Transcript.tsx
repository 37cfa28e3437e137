// A conversation's messages. Text is rendered as React text nodes — never as HTML — so nothing a
// customer or the model writes can inject markup; line breaks are kept with CSS (pre-wrap).

import { useEffect, useLayoutEffect, useRef } from 'react';
import type { Message } from '../api/types';
import { label, useT } from '../i18n';
import { formatTime } from './common';

export interface PendingReply {
  messageId: string | null;
  text: string;
  failed?: string;
}

export function Transcript({
  messages,
  pending = [],
  typing,
  customerName,
}: {
  messages: Message[];
  pending?: PendingReply[];
  typing?: string | null;
  customerName?: string | null;
}) {
  const { t } = useT();
  const box = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const onScroll = () => {
      // Follow new messages only while the reader is at the bottom; someone reading older
      // messages must not be yanked down by a live one.
      stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
    };
    el.addEventListener('scroll', onScroll);
    return () => el.removeEventListener('scroll', onScroll);
  }, []);

  useLayoutEffect(() => {
    const el = box.current;
    if (el && stickToBottom.current) el.scrollTop = el.scrollHeight;
  }, [messages.length, pending.length]);

  return (
    <div className="transcript-wrap">
      <div className="transcript" ref={box} role="log" aria-label={t('transcript.label')} aria-live="polite" tabIndex={0}>
        {messages.length === 0 && pending.length === 0 && <p className="muted">{t('transcript.empty')}</p>}
        {messages.map((m) => (
          <article key={m.id} className={`msg msg-${m.sender}`} data-message-id={m.id}>
            <header className="msg-meta">
              <span className="msg-sender">
                {m.sender === 'agent' && m.author_name
                  ? m.author_name
                  : m.sender === 'customer' && customerName
                    ? customerName
                    : label('sender', m.sender)}
              </span>
              {m.sender === 'agent' && <span className="msg-tag">{t('transcript.agentTag')}</span>}
              {m.sender === 'bot' && <span className="msg-tag">{t('transcript.botTag')}</span>}
              {m.intent && (
                <span className="msg-intent" title={t('transcript.intent')}>
                  {m.intent}
                  {m.confidence !== undefined ? ` · ${Math.round(m.confidence * 100)}%` : ''}
                </span>
              )}
              <time dateTime={m.created_at}>{formatTime(m.created_at)}</time>
            </header>
            <p className="msg-text">{m.text}</p>
          </article>
        ))}
        {pending.map((p, i) => (
          <article key={`pending-${i}`} className="msg msg-agent msg-pending">
            <header className="msg-meta">
              <span className="msg-sender">{t('transcript.you')}</span>
              <span className="msg-tag">{p.failed ? t('transcript.notSent') : t('transcript.sending')}</span>
            </header>
            <p className="msg-text">{p.text}</p>
            {p.failed && <p className="msg-error">{p.failed}</p>}
          </article>
        ))}
      </div>
      {/* Always present, so the typing line appearing and disappearing never shifts the layout. */}
      <p className="typing" aria-live="polite">
        {typing ?? '\u00a0'}
      </p>
    </div>
  );
}
