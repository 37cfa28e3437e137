// The Analytics page's data shaping, kept apart from React so it can be tested on its own: the date
// range a preset or two dates mean, and the summary from GET /api/v1/analytics/summary turned into
// what the page shows (percentages, durations, sorted and labelled lists, a volume series whose
// buckets fit the range).

import type { Analytics, StaffUser, TargetMet } from '../api/types';
import { formatDuration, humanize } from './tickets';

/** The presets the page offers, in days. */
export const PRESET_DAYS = [7, 30, 90] as const;
export type PresetDays = (typeof PRESET_DAYS)[number];

/** The longest range the API accepts (ingress/src/routes/analytics.rs, MAX_RANGE_DAYS). */
export const MAX_RANGE_DAYS = 92;

const DAY_MS = 86_400_000;

export interface Range {
  /** RFC 3339, as the API wants them. */
  from: string;
  to: string;
}

/** The last `days` days up to `now`. */
export function presetRange(days: PresetDays, now: Date): Range {
  return { from: new Date(now.getTime() - days * DAY_MS).toISOString(), to: now.toISOString() };
}

/** `YYYY-MM-DD` of a date, in UTC (the API's day buckets are UTC days). */
export function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/**
 * Two dates from the picker (`YYYY-MM-DD`, both included, UTC days) as a range, or why not. The end
 * is the next midnight so the last day counts in full; a range ending today ends now.
 */
export function customRange(fromDay: string, toDay: string, now: Date): Range | { error: string } {
  const day = /^\d{4}-\d{2}-\d{2}$/;
  if (!day.test(fromDay) || !day.test(toDay)) return { error: 'Choose both dates.' };
  const from = new Date(`${fromDay}T00:00:00Z`);
  const end = new Date(`${toDay}T00:00:00Z`);
  if (Number.isNaN(from.getTime()) || Number.isNaN(end.getTime())) return { error: 'Choose both dates.' };
  if (end < from) return { error: 'The first date must not be after the last.' };
  if (from > now) return { error: 'The range starts in the future.' };
  const to = new Date(Math.min(end.getTime() + DAY_MS, now.getTime()));
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_MS) return { error: `Choose at most ${MAX_RANGE_DAYS} days.` };
  return { from: from.toISOString(), to: to.toISOString() };
}

/** "87.5%" from 0..1, or "—" when there is nothing to measure. */
export function percent(rate: number | null | undefined): string {
  if (rate == null || !Number.isFinite(rate)) return '—';
  return `${Math.round(rate * 1000) / 10}%`;
}

export interface SlaFigure {
  value: string;
  detail: string;
  /** Under 80% met is shown as a warning, under 50% as bad. */
  tone?: 'warn' | 'bad';
}

function slaFigure(target: TargetMet | undefined): SlaFigure {
  if (!target || target.counted === 0 || target.rate == null) return { value: '—', detail: 'no tickets due yet' };
  const tone = target.rate < 0.5 ? 'bad' : target.rate < 0.8 ? 'warn' : undefined;
  return { value: percent(target.rate), detail: `${target.met} of ${target.counted} tickets on time`, tone };
}

export interface DurationFigure {
  value: string;
  detail: string;
}

function durationFigure(stats: Analytics['first_response_seconds']): DurationFigure {
  if (!stats || stats.count === 0 || stats.median == null) return { value: '—', detail: 'no tickets measured' };
  const p90 = stats.p90 != null ? formatDuration(stats.p90 * 1000) : '—';
  return { value: formatDuration(stats.median * 1000), detail: `median · p90 ${p90} · ${stats.count} tickets` };
}

export interface Bar {
  key: string;
  value: number;
}

export interface Column {
  key: string;
  value: number;
  secondary: number;
}

export interface AnalyticsView {
  conversations: number;
  tickets: number;
  escalationRate: string;
  escalationDetail: string;
  firstResponse: DurationFigure;
  resolution: DurationFigure;
  slaFirstResponse: SlaFigure;
  slaResolution: SlaFigure;
  csatAverage: string;
  csatDetail: string;
  csatDistribution: Bar[];
  reasons: Bar[];
  intents: Bar[];
  priorities: Bar[];
  /** "per hour", "per day" or "per week", whichever keeps the chart readable for the range. */
  volumeUnit: 'hour' | 'day' | 'week';
  volume: Column[];
}

/** Ranges up to two days are shown per hour, up to five weeks per day, longer ones per week. */
export function volumeSeries(summary: Analytics): { unit: AnalyticsView['volumeUnit']; columns: Column[] } {
  const span = new Date(summary.to).getTime() - new Date(summary.from).getTime();
  if (span <= 2 * DAY_MS) {
    const columns = (summary.volume_per_hour ?? []).map((h) => ({
      key: `${h.hour.slice(11, 13)}h`,
      value: h.conversations,
      secondary: h.messages,
    }));
    return { unit: 'hour', columns };
  }
  const days = summary.volume_per_day ?? [];
  if (span <= 35 * DAY_MS) {
    return { unit: 'day', columns: days.map((d) => ({ key: d.day.slice(5), value: d.conversations, secondary: d.messages })) };
  }
  // Weeks of seven days counted from the first day of the range; the last may be shorter.
  const columns: Column[] = [];
  days.forEach((d, i) => {
    if (i % 7 === 0) columns.push({ key: d.day.slice(5), value: 0, secondary: 0 });
    const week = columns[columns.length - 1];
    week.value += d.conversations;
    week.secondary += d.messages;
  });
  return { unit: 'week', columns };
}

function sortedBars(counts: Record<string, number> | undefined): Bar[] {
  return Object.entries(counts ?? {})
    .filter(([, value]) => value > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([key, value]) => ({ key: humanize(key), value }));
}

/** Everything the Analytics page shows, from one summary. */
export function shapeAnalytics(summary: Analytics): AnalyticsView {
  const conversations = summary.conversations ?? 0;
  const escalated = summary.escalated_conversations ?? 0;
  const tickets = summary.tickets ?? Object.values(summary.tickets_by_status ?? {}).reduce((a, b) => a + (b ?? 0), 0);
  const csat = summary.csat;
  const { unit, columns } = volumeSeries(summary);
  return {
    conversations,
    tickets,
    escalationRate: conversations === 0 ? '—' : percent(summary.escalation_rate ?? escalated / conversations),
    escalationDetail: `${escalated} of ${conversations} conversations reached a person`,
    firstResponse: durationFigure(summary.first_response_seconds),
    resolution: durationFigure(summary.resolution_seconds),
    slaFirstResponse: slaFigure(summary.sla?.first_response),
    slaResolution: slaFigure(summary.sla?.resolution),
    csatAverage: csat?.average != null ? `${csat.average.toFixed(1)} / 5` : '—',
    csatDetail: `${csat?.count ?? 0} ratings`,
    csatDistribution: ['5', '4', '3', '2', '1'].map((k) => ({ key: `${k} ★`, value: csat?.distribution?.[k] ?? 0 })),
    reasons: sortedBars(summary.escalation_reasons),
    intents: (summary.top_intents ?? []).map((i) => ({ key: humanize(i.intent), value: i.count })),
    priorities: (['urgent', 'high', 'normal', 'low'] as const).map((p) => ({ key: humanize(p), value: summary.tickets_by_priority?.[p] ?? 0 })),
    volumeUnit: unit,
    volume: columns,
  };
}

export interface AgentLoad {
  /** "3 / 5" */
  text: string;
  /** 0..1 of capacity in use (1 when a capacity of 0 is held). */
  share: number;
  /** No room for another automatic assignment. */
  full: boolean;
  title: string;
}

/**
 * A person's active tickets against their capacity (their own, else the bank's default), or null
 * when the server did not say. Tickets taken by hand may exceed it; automatic assignment never does.
 */
export function agentLoad(user: Pick<StaffUser, 'open_tickets' | 'effective_capacity' | 'capacity'>): AgentLoad | null {
  const capacity = user.effective_capacity ?? user.capacity ?? null;
  if (capacity == null || user.open_tickets == null) return null;
  const load = user.open_tickets;
  const own = user.capacity != null;
  return {
    text: `${load} / ${capacity}`,
    share: capacity === 0 ? 1 : Math.min(1, load / capacity),
    full: load >= capacity,
    title: `${load} active tickets; capacity ${capacity}${own ? '' : " (the bank's default)"}`,
  };
}
