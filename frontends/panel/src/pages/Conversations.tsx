// Watching the bot: open conversations, live, with take-over and hand-back.

import { useCallback, useEffect, useState } from 'react';
import type { Conversation, ConversationStartedPayload, EventEnvelope, Message, MessageCreatedPayload } from '../api/types';
import { ErrorNotice, Loading, PageHeader, TimeAgo, useAction, useNow } from '../components/common';
import { Transcript } from '../components/Transcript';
import { useDesk, useLiveEvents } from '../desk';
import { Link, navigate } from '../router';
import { useT } from '../i18n';
import { applyRedaction, mergeMessages, messageForConversation } from '../state/transcript';

export function ConversationsPage() {
  const desk = useDesk();
  const { t } = useT();
  const now = useNow(5000);
  const [owner, setOwner] = useState<'bot' | 'agent' | ''>('bot');
  const [items, setItems] = useState<Conversation[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    try {
      const page = await desk.api.listConversations({ status: 'open', owner });
      setItems(page.items);
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, [desk.api, owner]);

  useEffect(() => {
    void load();
  }, [load]);

  useLiveEvents((event: EventEnvelope) => {
    if (event.type === 'conversation.started') {
      // A new conversation: we have no row for it yet, so ask the API for the list again.
      const payload = event.payload as ConversationStartedPayload;
      if (!items?.some((c) => c.id === payload.conversation_id)) void load();
    } else if (event.type === 'message.created') {
      const { message, owner: currentOwner } = event.payload as MessageCreatedPayload;
      setItems((current) =>
        current?.map((c) =>
          c.id === message.conversation_id
            ? {
                ...c,
                owner: currentOwner,
                last_message_at: message.created_at,
                last_customer_message: message.sender === 'customer' ? message.text.slice(0, 140) : c.last_customer_message,
              }
            : c,
        ) ?? current,
      );
    } else if (event.type.startsWith('conversation.')) {
      void load();
    }
  }, load);

  return (
    <section className="page" aria-labelledby="page-title">
      <PageHeader title={t('conv.title')}>
        <label>
          {t('conv.handledBy')}{' '}
          <select value={owner} onChange={(e) => setOwner(e.target.value as typeof owner)}>
            <option value="bot">{t('conv.theBot')}</option>
            <option value="agent">{t('conv.aPerson')}</option>
            <option value="">{t('conv.anyone')}</option>
          </select>
        </label>
      </PageHeader>
      <ErrorNotice error={error} onRetry={() => void load()} />
      {!items && !error && <Loading what={t('conv.loading')} />}
      {items && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t('conv.customer')}</th>
                <th scope="col">{t('conv.latest')}</th>
                <th scope="col">{t('conv.handledBy')}</th>
                <th scope="col">{t('conv.locale')}</th>
                <th scope="col">{t('conv.started')}</th>
                <th scope="col">{t('conv.lastMessage')}</th>
              </tr>
            </thead>
            <tbody>
              {items.length === 0 && (
                <tr>
                  <td colSpan={6} className="empty">
                    {t('conv.none')}
                  </td>
                </tr>
              )}
              {items.map((c) => (
                <tr key={c.id} onClick={(e) => !(e.target as HTMLElement).closest('a') && navigate(`/conversations/${c.id}`)}>
                  <td>
                    <Link to={`/conversations/${c.id}`}>{c.customer_name ?? t('conv.anonymous')}</Link>
                    {c.verified && <span className="badge badge-verified">{t('conv.verified')}</span>}
                  </td>
                  <td className="preview">{c.last_customer_message ?? '—'}</td>
                  <td>{c.owner === 'bot' ? t('conv.bot') : t('conv.person')}</td>
                  <td>{c.locale ?? '—'}</td>
                  <td>
                    <TimeAgo iso={c.created_at} now={now} />
                  </td>
                  <td>{c.last_message_at ? <TimeAgo iso={c.last_message_at} now={now} /> : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function ConversationPage({ id }: { id: string }) {
  const desk = useDesk();
  const { t } = useT();
  const [conversation, setConversation] = useState<Conversation | null>(null);
  const [messages, setMessages] = useState<Message[]>([]);
  const [error, setError] = useState<unknown>(null);
  const action = useAction();

  const load = useCallback(async () => {
    try {
      const { messages: fetched, ...rest } = await desk.api.getConversation(id);
      setConversation(rest);
      setMessages((current) => mergeMessages(current, fetched ?? []));
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, [desk.api, id]);

  useEffect(() => {
    void load();
  }, [load]);

  useLiveEvents((event: EventEnvelope) => {
    const message = messageForConversation(event, id);
    if (message) {
      setMessages((current) => mergeMessages(current, [message]));
      const { owner } = event.payload as MessageCreatedPayload;
      setConversation((c) => (c ? { ...c, owner } : c));
      return;
    }
    if (event.type === 'message.redacted') {
      setMessages((current) => applyRedaction(current, event, id) ?? current);
      return;
    }
    const payload = event.payload as { conversation_id?: string };
    if (event.type.startsWith('conversation.') && payload?.conversation_id === id) void load();
  }, load);

  if (!conversation) {
    return (
      <section className="page" aria-labelledby="page-title">
        <h1 id="page-title" tabIndex={-1}>
          {t('conv.one')}
        </h1>
        {error ? <ErrorNotice error={error} onRetry={() => void load()} /> : <Loading what={t('conv.loadingOne')} />}
      </section>
    );
  }

  const apply = (result: unknown) => {
    if (result && typeof result === 'object' && 'owner' in result) setConversation((c) => ({ ...c, ...(result as Conversation) }));
    else void load();
  };

  return (
    <section className="page" aria-labelledby="page-title">
      <div className="page-header">
        <div>
          <p className="breadcrumb">
            <Link to="/conversations">{t('conv.title')}</Link> / {conversation.customer_name ?? t('conv.anonymous')}
          </p>
          <h1 id="page-title" tabIndex={-1}>
            {conversation.customer_name ?? t('conv.anonymous')}
          </h1>
          <p className="ticket-badges">
            <span className={`badge owner-${conversation.owner}`}>{conversation.owner === 'bot' ? t('conv.botAnswering') : t('conv.personAnswering')}</span>
            <span className="badge">{conversation.status === 'closed' ? t('conv.status.closed') : t('conv.status.open')}</span>
            {conversation.locale && <span className="badge">{conversation.locale}</span>}
            {conversation.rating != null && <span className="badge">{t('conv.rated', { rating: conversation.rating })}</span>}
          </p>
        </div>
        <div className="page-actions">
          {conversation.owner === 'bot' ? (
            <button
              type="button"
              className="button-primary"
              disabled={action.busy || conversation.status === 'closed'}
              onClick={() =>
                void action.run(async () => {
                  const result = await desk.api.takeOver(id);
                  apply(result);
                  const ticketId = (result as Conversation)?.ticket_id;
                  if (ticketId) navigate(`/tickets/${ticketId}`);
                })
              }
            >
              {t('conv.takeOver')}
            </button>
          ) : (
            <button type="button" disabled={action.busy || conversation.status === 'closed'} onClick={() => void action.run(async () => apply(await desk.api.handBack(id)))}>
              {t('conv.handBack')}
            </button>
          )}
          {conversation.ticket_id && (
            <Link className="button" to={`/tickets/${conversation.ticket_id}`}>
              {t('conv.openTicket')}
            </Link>
          )}
          {conversation.customer_id && (
            <Link className="button" to={`/customers/${conversation.customer_id}`}>
              {t('conv.customer')}
            </Link>
          )}
        </div>
      </div>
      <ErrorNotice error={action.error} />
      <ErrorNotice error={error} onRetry={() => void load()} />
      <Transcript messages={messages} customerName={conversation.customer_name} />
    </section>
  );
}
