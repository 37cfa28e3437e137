// Analytics for supervisors and admins: how fast the desk answers and resolves, how often it meets
// the bank's SLA targets, why conversations reach a person, what customers ask, how they rate us and
// how busy it is, over a date range (the last 7, 30 or 90 days, or two dates). One request per range:
// GET /api/v1/analytics/summary computes everything in Postgres; the shaping is in state/analytics.ts.

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { Analytics } from '../api/types';
import { BarList, ColumnChart } from '../components/charts';
import { ErrorNotice, Loading, PageHeader } from '../components/common';
import { useDesk } from '../desk';
import { customRange, isoDay, MAX_RANGE_DAYS, PRESET_DAYS, presetRange, shapeAnalytics, type PresetDays, type Range } from '../state/analytics';

type Choice = { kind: 'preset'; days: PresetDays } | { kind: 'custom'; from: string; to: string };

export function AnalyticsPage() {
  const desk = useDesk();
  const [choice, setChoice] = useState<Choice>({ kind: 'preset', days: 7 });
  const [fromDay, setFromDay] = useState(() => isoDay(new Date(Date.now() - 13 * 86_400_000)));
  const [toDay, setToDay] = useState(() => isoDay(new Date()));
  const [rangeError, setRangeError] = useState<string | null>(null);
  const [summary, setSummary] = useState<Analytics | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(
    async (range: Range) => {
      setBusy(true);
      setError(null);
      try {
        setSummary(await desk.api.analytics({ from: range.from, to: range.to }));
      } catch (e) {
        setError(e);
      } finally {
        setBusy(false);
      }
    },
    [desk.api],
  );

  const rangeOf = useCallback((c: Choice): Range | { error: string } => {
    return c.kind === 'preset' ? presetRange(c.days, new Date()) : customRange(c.from, c.to, new Date());
  }, []);

  useEffect(() => {
    const range = rangeOf(choice);
    if ('error' in range) return;
    void load(range);
  }, [choice, load, rangeOf]);

  const applyCustom = (event: FormEvent) => {
    event.preventDefault();
    const next: Choice = { kind: 'custom', from: fromDay, to: toDay };
    const range = rangeOf(next);
    if ('error' in range) {
      setRangeError(range.error);
      return;
    }
    setRangeError(null);
    setChoice(next);
  };

  const view = summary ? shapeAnalytics(summary) : null;
  const retry = () => {
    const range = rangeOf(choice);
    if (!('error' in range)) void load(range);
  };
  return (
    <section className="page" aria-labelledby="page-title">
      <PageHeader title="Analytics" />
      <div className="filters" role="group" aria-label="Date range">
        {PRESET_DAYS.map((days) => (
          <button
            key={days}
            type="button"
            className={choice.kind === 'preset' && choice.days === days ? 'button-primary' : undefined}
            aria-pressed={choice.kind === 'preset' && choice.days === days}
            onClick={() => {
              setRangeError(null);
              setChoice({ kind: 'preset', days });
            }}
          >
            Last {days} days
          </button>
        ))}
        <form className="filters" onSubmit={applyCustom} aria-label="Custom range" style={{ margin: 0 }}>
          <label>
            From <input type="date" value={fromDay} max={toDay} onChange={(e) => setFromDay(e.target.value)} />
          </label>
          <label>
            To <input type="date" value={toDay} min={fromDay} max={isoDay(new Date())} onChange={(e) => setToDay(e.target.value)} />
          </label>
          <button type="submit" className={choice.kind === 'custom' ? 'button-primary' : undefined} aria-pressed={choice.kind === 'custom'}>
            Show these dates
          </button>
        </form>
      </div>
      {rangeError && (
        <p className="error-text" role="alert">
          {rangeError}
        </p>
      )}
      <p className="muted small">
        Days are UTC days; a range covers at most {MAX_RANGE_DAYS} days. Figures count what was created in the range (ratings: given in
        it).
      </p>
      <ErrorNotice what="Analytics could not be loaded" error={error} onRetry={retry} />
      {!view && busy && <Loading what="analytics" />}
      {view && (
        <div aria-busy={busy}>
          <div className="stats" role="list" aria-label="Key figures">
            <Figure label="Conversations" value={String(view.conversations)} />
            <Figure label="Tickets" value={String(view.tickets)} />
            <Figure label="Escalation rate" value={view.escalationRate} title={view.escalationDetail} />
            <Figure label="Customer satisfaction" value={view.csatAverage} title={view.csatDetail} />
            <Figure label="First response (median)" value={view.firstResponse.value} title={view.firstResponse.detail} />
            <Figure label="Resolution (median)" value={view.resolution.value} title={view.resolution.detail} />
            <Figure label="First response SLA met" value={view.slaFirstResponse.value} title={view.slaFirstResponse.detail} tone={view.slaFirstResponse.tone} />
            <Figure label="Resolution SLA met" value={view.slaResolution.value} title={view.slaResolution.detail} tone={view.slaResolution.tone} />
          </div>
          <div className="charts">
            <article className="card chart-wide">
              <h2>Volume per {view.volumeUnit}</h2>
              <p className="legend">
                <span className="key key-primary" /> conversations <span className="key key-secondary" /> messages
              </p>
              <ColumnChart label={`Conversations and messages per ${view.volumeUnit}`} data={view.volume} />
            </article>
            <article className="card">
              <h2>Response times</h2>
              <p className="muted">First response: {view.firstResponse.detail}</p>
              <p className="muted">Resolution: {view.resolution.detail}</p>
              <p className="muted">First response SLA: {view.slaFirstResponse.detail}</p>
              <p className="muted">Resolution SLA: {view.slaResolution.detail}</p>
            </article>
            <article className="card">
              <h2>Escalation reasons</h2>
              <p className="muted">{view.escalationDetail}</p>
              <BarList label="Escalation reasons" data={view.reasons} />
            </article>
            <article className="card">
              <h2>Intents</h2>
              <BarList label="Top intents" data={view.intents} />
            </article>
            <article className="card">
              <h2>Customer satisfaction</h2>
              <p className="big-number">{view.csatAverage}</p>
              <p className="muted">{view.csatDetail}</p>
              <BarList label="Ratings" data={view.csatDistribution} />
            </article>
            <article className="card">
              <h2>Tickets by priority</h2>
              <BarList label="Tickets by priority" data={view.priorities} />
            </article>
          </div>
        </div>
      )}
    </section>
  );
}

function Figure({ label, value, title, tone }: { label: string; value: string; title?: string; tone?: 'warn' | 'bad' }) {
  return (
    <div className={`stat ${tone ? `stat-${tone}` : ''}`} role="listitem" title={title}>
      <span className="stat-value">{value}</span>
      <span className="stat-label">{label}</span>
      {title && <span className="stat-label small">{title}</span>}
    </div>
  );
}
