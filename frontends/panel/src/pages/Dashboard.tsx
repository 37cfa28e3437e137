// Live counters and charts. Counters about the queue come from the shared queue state, which live
// events keep current; the analytics summary is refetched when events say something changed (at most
// once every few seconds), never on a fixed polling timer.

import { useCallback, useEffect, useRef, useState } from 'react';
import type { Analytics, EventEnvelope, StaffUser } from '../api/types';
import { BarList, ColumnChart } from '../components/charts';
import { ErrorNotice, PageHeader, useNow } from '../components/common';
import { useDesk, useLiveEvents } from '../desk';
import { Link } from '../router';
import { countQueue, formatDuration, humanize } from '../state/tickets';
import { agentLoad } from '../state/analytics';

/** Fewest milliseconds between two analytics refetches, however many events arrive: a burst of
 * escalations should cost the server one query, not one per event. */
const REFRESH_AT_MOST_EVERY_MS = 5_000;

export function DashboardPage() {
  const desk = useDesk();
  const now = useNow(5_000);
  const counters = countQueue(desk.queue.tickets, now);
  const supervisor = desk.user.role !== 'agent';
  const [analytics, setAnalytics] = useState<Analytics | null>(null);
  const [analyticsError, setAnalyticsError] = useState<unknown>(null);
  const [botNow, setBotNow] = useState<{ count: number; more: boolean } | null>(null);
  const [botError, setBotError] = useState<unknown>(null);
  const [agents, setAgents] = useState<StaffUser[] | null>(null);
  const lastFetch = useRef(0);
  const pending = useRef<number | null>(null);

  const fetchStats = useCallback(async () => {
    lastFetch.current = Date.now();
    if (!supervisor) return;
    await Promise.all([
      desk.api.analytics().then(
        (a) => {
          setAnalytics(a);
          setAnalyticsError(null);
        },
        (e) => setAnalyticsError(e),
      ),
      // Each agent's load against capacity; a failure only hides the card (the counters still stand).
      desk.api.listUsers({ role: 'agent', active: true }).then(
        (page) => setAgents(page.items),
        () => setAgents(null),
      ),
      desk.api.listConversations({ status: 'open', owner: 'bot' }).then(
        (page) => {
          setBotNow({ count: page.items.length, more: Boolean(page.next_cursor) });
          setBotError(null);
        },
        (e) => setBotError(e),
      ),
    ]);
  }, [desk.api, supervisor]);

  const scheduleFetch = useCallback(() => {
    if (pending.current !== null) return;
    const wait = Math.max(0, lastFetch.current + REFRESH_AT_MOST_EVERY_MS - Date.now());
    pending.current = window.setTimeout(() => {
      pending.current = null;
      void fetchStats();
    }, wait);
  }, [fetchStats]);

  useEffect(() => {
    void fetchStats();
    return () => {
      if (pending.current !== null) window.clearTimeout(pending.current);
    };
  }, [fetchStats]);

  useLiveEvents(
    (event: EventEnvelope) => {
      if (
        event.type.startsWith('ticket.') ||
        event.type.startsWith('conversation.') ||
        event.type.startsWith('staff.') ||
        event.type === 'message.classified'
      )
        scheduleFetch();
    },
    () => scheduleFetch(),
  );

  const fr = analytics?.first_response_seconds;
  const days = analytics?.volume_per_day ?? [];
  return (
    <section className="page" aria-labelledby="page-title">
      <PageHeader title="Dashboard">
        {supervisor && (
          <Link to="/analytics" className="button">
            Analytics
          </Link>
        )}
        <Link to="/queue" className="button">
          Open the queue
        </Link>
      </PageHeader>
      <ErrorNotice what="Tickets could not be loaded" error={desk.queue.error} onRetry={() => void desk.reloadQueue()} />
      <div className="stats" role="list" aria-label="Live counters">
        <Stat label="Waiting for a first reply" value={counters.waiting} tone={counters.waiting > 0 ? 'warn' : undefined} />
        <Stat label="Unassigned" value={counters.unassigned} />
        <Stat label="SLA breaches" value={counters.slaBreaches} tone={counters.slaBreaches > 0 ? 'bad' : undefined} />
        <Stat
          label="Bot conversations now"
          value={supervisor ? (botNow ? `${botNow.count}${botNow.more ? '+' : ''}` : botError ? 'n/a' : '…') : '—'}
          title={botError ? String((botError as Error).message) : supervisor ? undefined : 'Visible to supervisors'}
        />
        {(['urgent', 'high', 'normal', 'low'] as const).map((p) => (
          <Stat key={p} label={`Open · ${p}`} value={counters.openByPriority[p]} tone={p === 'urgent' && counters.openByPriority[p] > 0 ? 'bad' : undefined} />
        ))}
      </div>
      {!supervisor && <p className="muted">Counters cover the unassigned queue and your own tickets. Charts are shown to supervisors.</p>}
      {supervisor && (
        <>
          <ErrorNotice what="Charts could not be loaded" error={analyticsError} onRetry={() => void fetchStats()} />
          <ErrorNotice what="Bot conversations could not be counted" error={botError} />
          {analytics && (
            <div className="charts">
              <article className="card chart-wide">
                <h2>Volume per day</h2>
                <p className="legend">
                  <span className="key key-primary" /> conversations <span className="key key-secondary" /> messages
                </p>
                <ColumnChart
                  label="Conversations and messages per day"
                  data={days.map((d) => ({ key: d.day.slice(5), value: d.conversations, secondary: d.messages }))}
                />
              </article>
              <article className="card">
                <h2>Escalation</h2>
                <p className="big-number">{analytics.escalation_rate === undefined ? '—' : `${Math.round(analytics.escalation_rate * 1000) / 10}%`}</p>
                <p className="muted">
                  {analytics.escalated_conversations ?? 0} of {analytics.conversations ?? 0} conversations reached a person
                </p>
                <BarList
                  label="Escalation reasons"
                  data={Object.entries(analytics.escalation_reasons ?? {})
                    .sort((a, b) => b[1] - a[1])
                    .map(([key, value]) => ({ key: humanize(key), value }))}
                />
              </article>
              <article className="card">
                <h2>Top intents</h2>
                <BarList label="Top intents" data={(analytics.top_intents ?? []).slice(0, 8).map((i) => ({ key: humanize(i.intent), value: i.count }))} />
              </article>
              <article className="card">
                <h2>First response</h2>
                <p className="big-number">{fr?.median != null ? formatDuration(fr.median * 1000) : '—'}</p>
                <p className="muted">
                  median · p90 {fr?.p90 != null ? formatDuration(fr.p90 * 1000) : '—'} · {fr?.count ?? 0} tickets
                </p>
              </article>
              {agents && (
                <article className="card">
                  <h2>Agents' load</h2>
                  <p className="muted">Active tickets against capacity; automatic assignment never goes beyond it.</p>
                  <ul className="barlist" aria-label="Agents' load">
                    {agents.map((a) => {
                      const load = agentLoad(a);
                      return (
                        <li key={a.id} title={load?.title}>
                          <span className="barlist-label">
                            {a.display_name} · {a.availability ?? '—'}
                          </span>
                          <span className="barlist-track" aria-hidden="true">
                            <span className="barlist-bar" style={{ width: `${(load?.share ?? 0) * 100}%`, background: load?.full ? 'var(--bad)' : undefined }} />
                          </span>
                          <span className="barlist-value">{load?.text ?? a.open_tickets ?? '—'}</span>
                        </li>
                      );
                    })}
                  </ul>
                </article>
              )}
              <article className="card">
                <h2>Customer satisfaction</h2>
                <p className="big-number">{analytics.csat?.average != null ? `${analytics.csat.average.toFixed(1)} / 5` : '—'}</p>
                <p className="muted">{analytics.csat?.count ?? 0} ratings</p>
                <BarList
                  label="Ratings"
                  data={['5', '4', '3', '2', '1'].map((k) => ({ key: `${k} ★`, value: analytics.csat?.distribution?.[k] ?? 0 }))}
                />
              </article>
            </div>
          )}
        </>
      )}
    </section>
  );
}

function Stat({ label, value, tone, title }: { label: string; value: number | string; tone?: 'warn' | 'bad'; title?: string }) {
  return (
    <div className={`stat ${tone ? `stat-${tone}` : ''}`} role="listitem" title={title}>
      <span className="stat-value">{value}</span>
      <span className="stat-label">{label}</span>
    </div>
  );
}
