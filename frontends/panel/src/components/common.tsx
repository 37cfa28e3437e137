// Small pieces shared by every screen.

import { useEffect, useState, type ReactNode } from 'react';
import { describeError } from '../api/client';
import type { Priority, Ticket, TicketStatus } from '../api/types';
import { intlLocale, label, tr, useT } from '../i18n';
import { formatDuration, slaState } from '../state/tickets';

/** An API failure, in words, where the person is looking. */
export function ErrorNotice({ error, onRetry, what }: { error: unknown; onRetry?: () => void; what?: string }) {
  const { t } = useT();
  if (!error) return null;
  const words = typeof error === 'string' ? error : describeError(error);
  return (
    <div className="notice notice-error" role="alert">
      <span>{what ? `${what}: ${words}` : words}</span>
      {onRetry && (
        <button type="button" className="button-small" onClick={onRetry}>
          {t('common.tryAgain')}
        </button>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  const { t } = useT();
  return (
    <p className="muted" role="status">
      {t('common.loading', { what })}
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
    ? d.toLocaleTimeString(intlLocale(), { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleString(intlLocale(), { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function TimeAgo({ iso, now }: { iso: string; now: number }) {
  const ms = now - Date.parse(iso);
  const { t } = useT();
  const words = ms < 60_000 ? t('common.justNow') : t('common.ago', { duration: formatDuration(ms).split(' ')[0] });
  return (
    <time dateTime={iso} title={new Date(iso).toLocaleString(intlLocale())}>
      {words}
    </time>
  );
}

export function PriorityBadge({ priority }: { priority: Priority }) {
  return <span className={`badge priority-${priority}`}>{label('priority', priority)}</span>;
}

export function StatusBadge({ status }: { status: TicketStatus }) {
  return <span className={`badge status-${status}`}>{label('status', status)}</span>;
}

/** Time left before the ticket's current SLA deadline, or how long it is overdue. */
export function SlaTimer({ ticket, now }: { ticket: Ticket; now: number }) {
  const sla = slaState(ticket, now);
  if (sla.remainingMs === null) {
    return sla.breached ? <span className="sla sla-breached">{tr('common.slaBreached')}</span> : <span className="sla muted">—</span>;
  }
  const duration = formatDuration(sla.remainingMs);
  const text = sla.breached ? tr('common.overdue', { duration }) : tr('common.left', { duration });
  const soon = !sla.breached && sla.remainingMs < 10 * 60_000;
  return (
    <span
      className={`sla ${sla.breached ? 'sla-breached' : soon ? 'sla-soon' : 'sla-ok'}`}
      title={tr('common.due', { what: humanize(sla.label ?? ''), when: new Date(sla.dueAt!).toLocaleString(intlLocale()) })}
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

function humanize(word: string): string {
  const s = word.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}
