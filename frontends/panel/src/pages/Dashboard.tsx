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
import { label, useT } from '../i18n';

/** Fewest milliseconds between two analytics refetches, however many events arrive: a burst of
 * escalations should cost the server one query, not one per event. */
const REFRESH_AT_MOST_EVERY_MS = 5_000;

export function DashboardPage() {
  const desk = useDesk();
  const { t } = useT();
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
      <PageHeader title={t('dashboard.title')}>
        {supervisor && (
          <Link to="/analytics" className="button">
            {t('nav.analytics')}
          </Link>
        )}
        <Link to="/queue" className="button">
          {t('dashboard.openQueue')}
        </Link>
      </PageHeader>
      <ErrorNotice what={t('queue.loadFailed')} error={desk.queue.error} onRetry={() => void desk.reloadQueue()} />
      <div className="stats" role="list" aria-label={t('dashboard.counters')}>
        <Stat label={t('dashboard.waiting')} value={counters.waiting} tone={counters.waiting > 0 ? 'warn' : undefined} />
        <Stat label={t('dashboard.unassigned')} value={counters.unassigned} />
        <Stat label={t('dashboard.breaches')} value={counters.slaBreaches} tone={counters.slaBreaches > 0 ? 'bad' : undefined} />
        <Stat
          label={t('dashboard.botNow')}
          value={supervisor ? (botNow ? `${botNow.count}${botNow.more ? '+' : ''}` : botError ? 'n/a' : '…') : '—'}
          title={botError ? String((botError as Error).message) : supervisor ? undefined : t('dashboard.supervisorsOnly')}
        />
        {(['urgent', 'high', 'normal', 'low'] as const).map((p) => (
          <Stat key={p} label={t('dashboard.openBy', { priority: label('priority', p).toLowerCase() })} value={counters.openByPriority[p]} tone={p === 'urgent' && counters.openByPriority[p] > 0 ? 'bad' : undefined} />
        ))}
      </div>
      {!supervisor && <p className="muted">{t('dashboard.agentNote')}</p>}
      {supervisor && (
        <>
          <ErrorNotice what={t('dashboard.chartsFailed')} error={analyticsError} onRetry={() => void fetchStats()} />
          <ErrorNotice what={t('dashboard.botFailed')} error={botError} />
          {analytics && (
            <div className="charts">
              <article className="card chart-wide">
                <h2>{t('dashboard.volume')}</h2>
                <p className="legend">
                  <span className="key key-primary" /> {t('dashboard.legendConversations')} <span className="key key-secondary" /> {t('dashboard.legendMessages')}
                </p>
                <ColumnChart
                  label={t('dashboard.volumeLabel')}
                  data={days.map((d) => ({ key: d.day.slice(5), value: d.conversations, secondary: d.messages }))}
                />
              </article>
              <article className="card">
                <h2>{t('dashboard.escalation')}</h2>
                <p className="big-number">{analytics.escalation_rate === undefined ? '—' : `${Math.round(analytics.escalation_rate * 1000) / 10}%`}</p>
                <p className="muted">
                  {t('dashboard.escalated', { escalated: analytics.escalated_conversations ?? 0, total: analytics.conversations ?? 0 })}
                </p>
                <BarList
                  label={t('dashboard.reasons')}
                  data={Object.entries(analytics.escalation_reasons ?? {})
                    .sort((a, b) => b[1] - a[1])
                    .map(([key, value]) => ({ key: label('reason', key), value }))}
                />
              </article>
              <article className="card">
                <h2>{t('dashboard.intents')}</h2>
                <BarList label={t('dashboard.intents')} data={(analytics.top_intents ?? []).slice(0, 8).map((i) => ({ key: humanize(i.intent), value: i.count }))} />
              </article>
              <article className="card">
                <h2>{t('dashboard.firstResponse')}</h2>
                <p className="big-number">{fr?.median != null ? formatDuration(fr.median * 1000) : '—'}</p>
                <p className="muted">
                  {t('dashboard.median', { p90: fr?.p90 != null ? formatDuration(fr.p90 * 1000) : '—', count: fr?.count ?? 0 })}
                </p>
              </article>
              {agents && (
                <article className="card">
                  <h2>{t('dashboard.load')}</h2>
                  <p className="muted">{t('dashboard.loadNote')}</p>
                  <ul className="barlist" aria-label={t('dashboard.load')}>
                    {agents.map((a) => {
                      const load = agentLoad(a);
                      return (
                        <li key={a.id} title={load?.title}>
                          <span className="barlist-label">
                            {a.display_name} · {a.availability ? t(`availability.${a.availability}`) : '—'}
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
                <h2>{t('dashboard.csat')}</h2>
                <p className="big-number">{analytics.csat?.average != null ? `${analytics.csat.average.toFixed(1)} / 5` : '—'}</p>
                <p className="muted">{t('dashboard.ratings', { count: analytics.csat?.count ?? 0 })}</p>
                <BarList
                  label={t('dashboard.ratingsLabel')}
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
