// Emails: what JoxAI sent or tried to send (recipients masked). A failed email can be sent again once
// its cause is fixed (the mail server is back, the address corrected); the email worker sends exactly
// the stored email, once.

import { useCallback, useEffect, useState } from 'react';
import type { Page, Uuid } from '../../api/types';
import { ErrorNotice, formatTime, Loading, PageHeader, useAction } from '../../components/common';
import { useDesk } from '../../desk';

/** An email as `GET /api/v1/emails` lists it. */
export interface EmailItem {
  id: Uuid;
  kind: string;
  /** Masked: `j***@example.com`. */
  recipient: string;
  locale: string;
  subject: string;
  status: 'pending' | 'sent' | 'failed' | 'skipped';
  attempts: number;
  last_error: string | null;
  created_at: string;
  resends: number;
  skip_reason: string | null;
}

/** What each kind of email is, in words. */
const KINDS: Record<string, string> = {
  ticket_assigned: 'Ticket assigned',
  urgent_in_queue: 'Urgent ticket waiting',
  sla_warning: 'SLA about to be missed',
  agent_reply: 'Agent reply to customer',
  customer_resolution: 'Case resolved (customer)',
  customer_transcript: 'Conversation transcript (customer)',
};

export function EmailsPage() {
  const desk = useDesk();
  const [status, setStatus] = useState('failed');
  const [items, setItems] = useState<EmailItem[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const action = useAction();

  const load = useCallback(async () => {
    try {
      const page = await desk.api.request<Page<EmailItem>>('GET', '/api/v1/emails', { query: { status, limit: 100 } });
      setItems(page.items);
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, [desk.api, status]);
  useEffect(() => {
    void load();
  }, [load]);

  const resend = (email: EmailItem) =>
    action.run(async () => {
      const updated = await desk.api.request<EmailItem>('POST', `/api/v1/emails/${encodeURIComponent(email.id)}/resend`, { body: {} });
      setItems((current) => current?.map((x) => (x.id === updated.id ? updated : x)) ?? current);
      setNotice(`The email to ${updated.recipient} is on its way again.`);
    });

  return (
    <section className="page" aria-labelledby="page-title">
      <PageHeader title="Emails">
        <label>
          Show{' '}
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="failed">Failed</option>
            <option value="pending">Waiting to be sent</option>
            <option value="sent">Sent</option>
            <option value="skipped">Not sent (unsubscribed)</option>
            <option value="">All</option>
          </select>
        </label>{' '}
        <button type="button" className="button-small" onClick={() => void load()}>
          Refresh
        </button>
      </PageHeader>
      <ErrorNotice error={error} onRetry={() => void load()} />
      <ErrorNotice error={action.error} />
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {!items && !error && <Loading what="emails" />}
      {items && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What</th>
                <th scope="col">To</th>
                <th scope="col">Subject</th>
                <th scope="col">Status</th>
                <th scope="col">Tries</th>
                <th scope="col">Last error</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.length === 0 && (
                <tr>
                  <td colSpan={8} className="empty">
                    {status === 'failed' ? 'No failed emails. Every email was sent.' : 'No emails here.'}
                  </td>
                </tr>
              )}
              {items.map((email) => (
                <tr key={email.id} data-email-id={email.id}>
                  <td className="nowrap">{formatTime(email.created_at)}</td>
                  <td>{KINDS[email.kind] ?? email.kind}</td>
                  <td className="mono">{email.recipient}</td>
                  <td lang={email.locale}>{email.subject}</td>
                  <td>
                    {email.status}
                    {email.skip_reason ? ` (${email.skip_reason})` : ''}
                    {email.resends ? ` · resent ${email.resends}×` : ''}
                  </td>
                  <td>{email.attempts}</td>
                  <td className="error-text">{email.last_error ?? '—'}</td>
                  <td className="nowrap">
                    {email.status === 'failed' && (
                      <button
                        type="button"
                        className="button-small"
                        disabled={action.busy}
                        aria-label={`Send again: ${email.subject} to ${email.recipient}`}
                        onClick={() => void resend(email)}
                      >
                        Send again
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
