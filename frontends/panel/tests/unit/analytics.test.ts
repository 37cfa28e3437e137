import { describe, expect, it } from 'vitest';
import type { Analytics } from '../../src/api/types';
import { agentLoad, customRange, percent, presetRange, shapeAnalytics, volumeSeries } from '../../src/state/analytics';

const NOW = new Date('2026-12-04T15:30:00Z');

function days(from: string, n: number): { day: string; conversations: number; messages: number }[] {
  const start = new Date(`${from}T00:00:00Z`).getTime();
  return Array.from({ length: n }, (_, i) => ({
    day: new Date(start + i * 86_400_000).toISOString().slice(0, 10),
    conversations: i + 1,
    messages: 10 * (i + 1),
  }));
}

function summary(over: Partial<Analytics> = {}): Analytics {
  return {
    from: '2026-11-27T15:30:00Z',
    to: '2026-12-04T15:30:00Z',
    tickets: 12,
    tickets_by_status: { open: 2, in_progress: 1, resolved: 8, closed: 1 },
    tickets_by_priority: { low: 1, normal: 7, high: 3, urgent: 1 },
    first_response_seconds: { median: 125, p90: 3720, count: 10 },
    resolution_seconds: { median: 7200, p90: 90_000, count: 9 },
    sla: { first_response: { met: 7, counted: 10, rate: 0.7 }, resolution: { met: 9, counted: 9, rate: 1 } },
    conversations: 40,
    escalated_conversations: 12,
    escalation_rate: 0.3,
    escalation_reasons: { customer_asked: 5, urgent_intent: 4, frustration: 0, low_confidence: 3 },
    top_intents: [
      { intent: 'card_arrival', count: 9 },
      { intent: 'lost_or_stolen_card', count: 4 },
    ],
    csat: { average: 4.25, count: 8, distribution: { '5': 4, '4': 3, '3': 0, '2': 1 } },
    volume_per_hour: [],
    volume_per_day: days('2026-11-27', 8),
    ...over,
  };
}

describe('date ranges', () => {
  it('a preset is the last N days up to now', () => {
    expect(presetRange(30, NOW)).toEqual({ from: '2026-11-04T15:30:00.000Z', to: '2026-12-04T15:30:00.000Z' });
  });

  it('custom dates include both days in full, and a range ending today ends now', () => {
    expect(customRange('2026-11-01', '2026-11-30', NOW)).toEqual({ from: '2026-11-01T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z' });
    expect(customRange('2026-12-01', '2026-12-04', NOW)).toEqual({ from: '2026-12-01T00:00:00.000Z', to: NOW.toISOString() });
    expect(customRange('2026-12-04', '2026-12-04', NOW)).toEqual({ from: '2026-12-04T00:00:00.000Z', to: NOW.toISOString() });
  });

  it('refuses reversed, empty, future and too long ranges with a reason', () => {
    expect(customRange('2026-11-30', '2026-11-01', NOW)).toEqual({ error: 'The first date must not be after the last.' });
    expect(customRange('', '2026-11-01', NOW)).toHaveProperty('error');
    expect(customRange('2026-12-10', '2026-12-12', NOW)).toEqual({ error: 'The range starts in the future.' });
    expect(customRange('2026-01-01', '2026-11-30', NOW)).toEqual({ error: 'Choose at most 92 days.' });
    expect(customRange('2026-09-01', '2026-11-30', NOW)).not.toHaveProperty('error');
  });
});

describe('shapeAnalytics', () => {
  it('turns the summary into the figures the page shows', () => {
    const view = shapeAnalytics(summary());
    expect(view.conversations).toBe(40);
    expect(view.tickets).toBe(12);
    expect(view.escalationRate).toBe('30%');
    expect(view.escalationDetail).toBe('12 of 40 conversations reached a person');
    expect(view.firstResponse).toEqual({ value: '2m 05s', detail: 'median · p90 1h 02m · 10 tickets' });
    expect(view.resolution.value).toBe('2h 00m');
    expect(view.slaFirstResponse).toEqual({ value: '70%', detail: '7 of 10 tickets on time', tone: 'warn' });
    expect(view.slaResolution).toEqual({ value: '100%', detail: '9 of 9 tickets on time', tone: undefined });
    expect(view.csatAverage).toBe('4.3 / 5');
    expect(view.csatDistribution.map((b) => b.value)).toEqual([4, 3, 0, 1, 0]);
  });

  it('lists escalation reasons most frequent first, labelled, without empty ones', () => {
    expect(shapeAnalytics(summary()).reasons).toEqual([
      { key: 'Customer asked', value: 5 },
      { key: 'Urgent intent', value: 4 },
      { key: 'Low confidence', value: 3 },
    ]);
    expect(shapeAnalytics(summary()).intents[0]).toEqual({ key: 'Card arrival', value: 9 });
    expect(shapeAnalytics(summary()).priorities.map((p) => p.key)).toEqual(['Urgent', 'High', 'Normal', 'Low']);
  });

  it('shows dashes, not zeros or NaN, for a range with nothing in it', () => {
    const view = shapeAnalytics(
      summary({
        tickets: 0,
        conversations: 0,
        escalated_conversations: 0,
        escalation_rate: 0,
        first_response_seconds: { median: null, p90: null, count: 0 },
        resolution_seconds: { median: null, p90: null, count: 0 },
        sla: { first_response: { met: 0, counted: 0, rate: null }, resolution: { met: 0, counted: 0, rate: null } },
        csat: { average: null, count: 0, distribution: {} },
        escalation_reasons: {},
        top_intents: [],
      }),
    );
    expect([view.escalationRate, view.firstResponse.value, view.slaFirstResponse.value, view.csatAverage]).toEqual(['—', '—', '—', '—']);
    expect(view.reasons).toEqual([]);
    expect(percent(Number.NaN)).toBe('—');
  });

  it('a bad SLA is flagged', () => {
    const view = shapeAnalytics(summary({ sla: { first_response: { met: 1, counted: 4, rate: 0.25 }, resolution: { met: 3, counted: 4, rate: 0.75 } } }));
    expect(view.slaFirstResponse.tone).toBe('bad');
    expect(view.slaResolution.tone).toBe('warn');
  });
});

describe('volumeSeries', () => {
  it('shows a day or two per hour', () => {
    const hours = [
      { hour: '2026-12-04T09:00:00Z', conversations: 2, messages: 9 },
      { hour: '2026-12-04T10:00:00Z', conversations: 1, messages: 3 },
    ];
    const series = volumeSeries(summary({ from: '2026-12-03T15:30:00Z', volume_per_hour: hours }));
    expect(series).toEqual({
      unit: 'hour',
      columns: [
        { key: '09h', value: 2, secondary: 9 },
        { key: '10h', value: 1, secondary: 3 },
      ],
    });
  });

  it('shows up to five weeks per day', () => {
    const series = volumeSeries(summary());
    expect(series.unit).toBe('day');
    expect(series.columns).toHaveLength(8);
    expect(series.columns[0]).toEqual({ key: '11-27', value: 1, secondary: 10 });
  });

  it('adds longer ranges up per week, keeping every conversation', () => {
    const daily = days('2026-09-05', 91);
    const series = volumeSeries(summary({ from: '2026-09-05T15:30:00Z', volume_per_day: daily }));
    expect(series.unit).toBe('week');
    expect(series.columns).toHaveLength(13);
    expect(series.columns[0]).toEqual({ key: '09-05', value: 1 + 2 + 3 + 4 + 5 + 6 + 7, secondary: 280 });
    const total = (xs: { value: number }[]) => xs.reduce((a, x) => a + x.value, 0);
    expect(total(series.columns)).toBe(daily.reduce((a, d) => a + d.conversations, 0));
  });
});

describe('agentLoad', () => {
  it('shows load against the effective capacity and says whose capacity it is', () => {
    expect(agentLoad({ open_tickets: 2, capacity: null, effective_capacity: 5 })).toEqual({
      text: '2 / 5',
      share: 0.4,
      full: false,
      title: "2 active tickets; capacity 5 (the bank's default)",
    });
    const full = agentLoad({ open_tickets: 3, capacity: 3, effective_capacity: 3 });
    expect([full?.full, full?.share, full?.title]).toEqual([true, 1, '3 active tickets; capacity 3']);
    expect(agentLoad({ open_tickets: 1, capacity: 0, effective_capacity: 0 })?.share).toBe(1);
    expect(agentLoad({ open_tickets: undefined, effective_capacity: 5 })).toBeNull();
  });
});
