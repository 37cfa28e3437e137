// Small pieces shared by every screen.

import { useEffect, useState, type ReactNode } from 'react';
import { describeError } from '../api/client';
import type { Priority, Ticket, TicketStatus } from '../api/types';
import { formatDuration, humanize, slaState } from '../state/tickets';

/** An API failure, in words, where the person is looking. */
export function ErrorNotice({ error, onRetry, what }: { error: unknown; onRetry?: () => void; what?: string }) {
  if (!error) return null;
  const words = typeof error === 'string' ? error : describeError(error);
  return (
    <div className="notice notice-error" role="alert">
      <span>{what ? `${what}: ${words}` : words}</span>
      {onRetry && (
        <button type="button" className="button-small" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** The current time, re-rendered every `everyMs`, for timers and "3 min ago" labels. */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const id = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(id);
  }, [everyMs]);
  return now;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  return sameDay
    ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function TimeAgo({ iso, now }: { iso: string; now: number }) {
  const ms = now - Date.parse(iso);
  const label = ms < 60_000 ? 'just now' : `${formatDuration(ms).split(' ')[0]} ago`;
  return (
    <time dateTime={iso} title={new Date(iso).toLocaleString()}>
      {label}
    </time>
  );
}

export function PriorityBadge({ priority }: { priority: Priority }) {
  return <span className={`badge priority-${priority}`}>{humanize(priority)}</span>;
}

export function StatusBadge({ status }: { status: TicketStatus }) {
  return <span className={`badge status-${status}`}>{humanize(status)}</span>;
}

/** Time left before the ticket's current SLA deadline, or how long it is overdue. */
export function SlaTimer({ ticket, now }: { ticket: Ticket; now: number }) {
  const sla = slaState(ticket, now);
  if (sla.remainingMs === null) {
    return sla.breached ? <span className="sla sla-breached">SLA breached</span> : <span className="sla muted">—</span>;
  }
  const text = sla.breached ? `${formatDuration(sla.remainingMs)} overdue` : `${formatDuration(sla.remainingMs)} left`;
  const soon = !sla.breached && sla.remainingMs < 10 * 60_000;
  return (
    <span
      className={`sla ${sla.breached ? 'sla-breached' : soon ? 'sla-soon' : 'sla-ok'}`}
      title={`${humanize(sla.label ?? '')} due ${new Date(sla.dueAt!).toLocaleString()}`}
    >
      {text}
    </span>
  );
}

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="page-header">
      <h1 tabIndex={-1} id="page-title">
        {title}
      </h1>
      {children && <div className="page-actions">{children}</div>}
    </div>
  );
}

/** Run an async action from a button, tracking "busy" and keeping its failure to show in words. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await action();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}
