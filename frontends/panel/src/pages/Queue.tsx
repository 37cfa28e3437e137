// The ticket queue: the shared live list, filtered, searched and sorted in the browser so a new
// escalation shows up at once, whatever filter is set.

import { useMemo, useState } from 'react';
import { PRIORITIES, TICKET_STATUSES, type Ticket } from '../api/types';
import { ErrorNotice, Loading, PageHeader, PriorityBadge, SlaTimer, StatusBadge, TimeAgo, useAction, useNow } from '../components/common';
import { useDesk } from '../desk';
import { Link, navigate } from '../router';
import { DEFAULT_FILTER, filterTickets, humanize, type QueueFilter } from '../state/tickets';

/** A live arrival stays highlighted this long if nobody opens it, so the list settles down again. */
const HIGHLIGHT_MS = 2 * 60_000;

export function QueuePage() {
  const desk = useDesk();
  const now = useNow(1000);
  const [filter, setFilter] = useState<QueueFilter>(() => loadFilter());
  const take = useAction();
  const shown = useMemo(() => filterTickets(desk.queue.tickets, filter, desk.user.id), [desk.queue.tickets, filter, desk.user.id]);

  const update = (change: Partial<QueueFilter>) => {
    const next = { ...filter, ...change };
    setFilter(next);
    sessionStorage.setItem('joxai.panel.queueFilter', JSON.stringify(next));
  };

  const assigneeName = (t: Ticket) =>
    !t.assignee_id ? 'Unassigned' : t.assignee_id === desk.user.id ? 'You' : (t.assignee_name ?? desk.staffNames[t.assignee_id] ?? 'Another agent');

  return (
    <section className="page" aria-labelledby="page-title">
      <PageHeader title="Queue">
        <label className="inline-check">
          <input type="checkbox" checked={desk.soundOn} onChange={(e) => desk.setSoundOn(e.target.checked)} /> Sound on new tickets
        </label>
      </PageHeader>
      <form className="filters" role="search" aria-label="Filter tickets" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search
          <input type="search" value={filter.search} placeholder="Number, subject, assignee…" onChange={(e) => update({ search: e.target.value })} />
        </label>
        <label>
          Status
          <select value={filter.status} onChange={(e) => update({ status: e.target.value as QueueFilter['status'] })}>
            <option value="active">Open and in progress</option>
            <option value="all">All</option>
            {TICKET_STATUSES.map((s) => (
              <option key={s} value={s}>
                {humanize(s)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Priority
          <select value={filter.priority} onChange={(e) => update({ priority: e.target.value as QueueFilter['priority'] })}>
            <option value="all">All</option>
            {PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {humanize(p)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Assignee
          <select value={filter.assignee} onChange={(e) => update({ assignee: e.target.value as QueueFilter['assignee'] })}>
            <option value="all">Anyone</option>
            <option value="me">Me</option>
            <option value="unassigned">Unassigned</option>
          </select>
        </label>
        <label>
          Sort
          <select value={filter.sort} onChange={(e) => update({ sort: e.target.value as QueueFilter['sort'] })}>
            <option value="priority">Most urgent first</option>
            <option value="newest">Newest first</option>
            <option value="oldest">Oldest first</option>
            <option value="updated">Recently updated</option>
          </select>
        </label>
      </form>
      <ErrorNotice what="Tickets could not be loaded" error={desk.queue.error} onRetry={() => void desk.reloadQueue()} />
      <ErrorNotice what="Could not take the ticket" error={take.error} />
      {!desk.queue.loaded && !desk.queue.error ? (
        <Loading what="tickets" />
      ) : (
        <div className="table-wrap">
          <table className="tickets">
            <caption className="visually-hidden">
              {shown.length} tickets, {filter.sort === 'priority' ? 'most urgent first' : filter.sort}
            </caption>
            <thead>
              <tr>
                <th scope="col" className="col-new">
                  <span className="visually-hidden">New</span>
                </th>
                <th scope="col">Ticket</th>
                <th scope="col">Subject</th>
                <th scope="col">Priority</th>
                <th scope="col">Status</th>
                <th scope="col">Assignee</th>
                <th scope="col">SLA</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.length === 0 && (
                <tr>
                  <td colSpan={9} className="empty">
                    No tickets match. New escalations appear here by themselves.
                  </td>
                </tr>
              )}
              {shown.map((t) => {
                const arrived = desk.queue.highlighted[t.id];
                const isNew = arrived !== undefined && now - arrived < HIGHLIGHT_MS;
                return (
                  <tr
                    key={t.id}
                    className={isNew ? 'row-new' : undefined}
                    data-ticket-id={t.id}
                    onClick={(e) => {
                      if ((e.target as HTMLElement).closest('a,button')) return;
                      navigate(`/tickets/${t.id}`);
                    }}
                  >
                    <td className="col-new">{isNew && <span className="badge badge-new">New</span>}</td>
                    <td className="nowrap">
                      <Link to={`/tickets/${t.id}`} onClick={() => desk.markSeen(t.id)}>
                        {t.number}
                      </Link>
                    </td>
                    <td className="subject">{t.subject}</td>
                    <td>
                      <PriorityBadge priority={t.priority} />
                    </td>
                    <td>
                      <StatusBadge status={t.status} />
                    </td>
                    <td className="nowrap">{assigneeName(t)}</td>
                    <td className="nowrap">
                      <SlaTimer ticket={t} now={now} />
                    </td>
                    <td className="nowrap">
                      <TimeAgo iso={t.created_at} now={now} />
                    </td>
                    <td className="nowrap">
                      {!t.assignee_id && (
                        <button
                          type="button"
                          className="button-small"
                          disabled={take.busy}
                          onClick={() => void take.run(async () => desk.applyTicket(await desk.api.assignTicket(t.id, desk.user.id)))}
                          aria-label={`Take ${t.number}`}
                        >
                          Take
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
