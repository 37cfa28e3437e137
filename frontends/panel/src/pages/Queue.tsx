// The ticket queue: the shared live list, filtered, searched and sorted in the browser so a new
// escalation shows up at once, whatever filter is set.

import { useMemo, useState } from 'react';
import { PRIORITIES, TICKET_STATUSES, type Ticket } from '../api/types';
import { ErrorNotice, Loading, PageHeader, PriorityBadge, SlaTimer, StatusBadge, TimeAgo, useAction, useNow } from '../components/common';
import { useDesk } from '../desk';
import { Link, navigate } from '../router';
import { DEFAULT_FILTER, filterTickets, type QueueFilter } from '../state/tickets';
import { label, useT } from '../i18n';

/** A live arrival stays highlighted this long if nobody opens it, so the list settles down again. */
const HIGHLIGHT_MS = 2 * 60_000;

export function QueuePage() {
  const desk = useDesk();
  const { t } = useT();
  const now = useNow(1000);
  const [filter, setFilter] = useState<QueueFilter>(() => loadFilter());
  const take = useAction();
  const shown = useMemo(() => filterTickets(desk.queue.tickets, filter, desk.user.id), [desk.queue.tickets, filter, desk.user.id]);

  const update = (change: Partial<QueueFilter>) => {
    const next = { ...filter, ...change };
    setFilter(next);
    sessionStorage.setItem('joxai.panel.queueFilter', JSON.stringify(next));
  };

  const assigneeName = (ticket: Ticket) =>
    !ticket.assignee_id
      ? t('queue.unassigned')
      : ticket.assignee_id === desk.user.id
        ? t('queue.you')
        : (ticket.assignee_name ?? desk.staffNames[ticket.assignee_id] ?? t('queue.anotherAgent'));

  return (
    <section className="page" aria-labelledby="page-title">
      <PageHeader title={t('queue.title')}>
        <label className="inline-check">
          <input type="checkbox" checked={desk.soundOn} onChange={(e) => desk.setSoundOn(e.target.checked)} /> {t('queue.sound')}
        </label>
      </PageHeader>
      <form className="filters" role="search" aria-label={t('queue.filters')} onSubmit={(e) => e.preventDefault()}>
        <label>
          {t('queue.search')}
          <input type="search" value={filter.search} placeholder={t('queue.searchPlaceholder')} onChange={(e) => update({ search: e.target.value })} />
        </label>
        <label>
          {t('queue.status')}
          <select value={filter.status} onChange={(e) => update({ status: e.target.value as QueueFilter['status'] })}>
            <option value="active">{t('queue.statusActive')}</option>
            <option value="all">{t('queue.all')}</option>
            {TICKET_STATUSES.map((s) => (
              <option key={s} value={s}>
                {label('status', s)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('queue.priority')}
          <select value={filter.priority} onChange={(e) => update({ priority: e.target.value as QueueFilter['priority'] })}>
            <option value="all">{t('queue.all')}</option>
            {PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {label('priority', p)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('queue.assignee')}
          <select value={filter.assignee} onChange={(e) => update({ assignee: e.target.value as QueueFilter['assignee'] })}>
            <option value="all">{t('queue.anyone')}</option>
            <option value="me">{t('queue.me')}</option>
            <option value="unassigned">{t('queue.unassigned')}</option>
          </select>
        </label>
        <label>
          {t('queue.sort')}
          <select value={filter.sort} onChange={(e) => update({ sort: e.target.value as QueueFilter['sort'] })}>
            <option value="priority">{t('queue.sortPriority')}</option>
            <option value="newest">{t('queue.sortNewest')}</option>
            <option value="oldest">{t('queue.sortOldest')}</option>
            <option value="updated">{t('queue.sortUpdated')}</option>
          </select>
        </label>
      </form>
      <ErrorNotice what={t('queue.loadFailed')} error={desk.queue.error} onRetry={() => void desk.reloadQueue()} />
      <ErrorNotice what={t('queue.takeFailed')} error={take.error} />
      {!desk.queue.loaded && !desk.queue.error ? (
        <Loading what={t('queue.tickets')} />
      ) : (
        <div className="table-wrap">
          <table className="tickets">
            <caption className="visually-hidden">
              {t('queue.caption', { count: shown.length })}
            </caption>
            <thead>
              <tr>
                <th scope="col" className="col-new">
                  <span className="visually-hidden">{t('queue.new')}</span>
                </th>
                <th scope="col">{t('queue.ticket')}</th>
                <th scope="col">{t('queue.subject')}</th>
                <th scope="col">{t('queue.priority')}</th>
                <th scope="col">{t('queue.status')}</th>
                <th scope="col">{t('queue.assignee')}</th>
                <th scope="col">{t('queue.sla')}</th>
                <th scope="col">{t('queue.created')}</th>
                <th scope="col">
                  <span className="visually-hidden">{t('queue.actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.length === 0 && (
                <tr>
                  <td colSpan={9} className="empty">
                    {t('queue.empty')}
                  </td>
                </tr>
              )}
              {shown.map((ticket) => {
                const arrived = desk.queue.highlighted[ticket.id];
                const isNew = arrived !== undefined && now - arrived < HIGHLIGHT_MS;
                return (
                  <tr
                    key={ticket.id}
                    className={isNew ? 'row-new' : undefined}
                    data-ticket-id={ticket.id}
                    onClick={(e) => {
                      if ((e.target as HTMLElement).closest('a,button')) return;
                      navigate(`/tickets/${ticket.id}`);
                    }}
                  >
                    <td className="col-new">{isNew && <span className="badge badge-new">{t('queue.new')}</span>}</td>
                    <td className="nowrap">
                      <Link to={`/tickets/${ticket.id}`} onClick={() => desk.markSeen(ticket.id)}>
                        {ticket.number}
                      </Link>
                    </td>
                    <td className="subject">{ticket.subject}</td>
                    <td>
                      <PriorityBadge priority={ticket.priority} />
                    </td>
                    <td>
                      <StatusBadge status={ticket.status} />
                    </td>
                    <td className="nowrap">{assigneeName(ticket)}</td>
                    <td className="nowrap">
                      <SlaTimer ticket={ticket} now={now} />
                    </td>
                    <td className="nowrap">
                      <TimeAgo iso={ticket.created_at} now={now} />
                    </td>
                    <td className="nowrap">
                      {!ticket.assignee_id && (
                        <button
                          type="button"
                          className="button-small"
                          disabled={take.busy}
                          onClick={() => void take.run(async () => desk.applyTicket(await desk.api.assignTicket(ticket.id, desk.user.id)))}
                          aria-label={t('queue.takeLabel', { number: ticket.number })}
                        >
                          {t('queue.take')}
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function loadFilter(): QueueFilter {
  try {
    const saved = sessionStorage.getItem('joxai.panel.queueFilter');
    return saved ? { ...DEFAULT_FILTER, ...(JSON.parse(saved) as Partial<QueueFilter>) } : DEFAULT_FILTER;
  } catch {
    return DEFAULT_FILTER;
  }
}
