// Customers: search, profile, and their conversations and tickets.

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { Customer, CustomerProfile } from '../api/types';
import { ErrorNotice, formatTime, Loading, PageHeader, PriorityBadge, StatusBadge } from '../components/common';
import { useT } from '../i18n';
import { useDesk } from '../desk';
import { Link } from '../router';

export function CustomersPage() {
  const desk = useDesk();
  const { t } = useT();
  const [q, setQ] = useState('');
  const [items, setItems] = useState<Customer[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  const search = useCallback(
    async (query: string) => {
      try {
        setItems((await desk.api.searchCustomers(query)).items);
        setError(null);
      } catch (e) {
        setError(e);
      }
    },
    [desk.api],
  );

  useEffect(() => {
    void search('');
  }, [search]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void search(q);
  };

  return (
    <section className="page" aria-labelledby="page-title">
      <PageHeader title={t('cust.title')} />
      <form className="filters" role="search" onSubmit={submit}>
        <label>
          {t('cust.search')}
          <input type="search" value={q} onChange={(e) => setQ(e.target.value)} />
        </label>
        <button type="submit">{t('cust.searchButton')}</button>
      </form>
      <ErrorNotice error={error} onRetry={() => void search(q)} />
      {!items && !error && <Loading what={t('cust.loading')} />}
      {items && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t('cust.name')}</th>
                <th scope="col">{t('cust.reference')}</th>
                <th scope="col">{t('cust.verified')}</th>
                <th scope="col">{t('cust.conversations')}</th>
                <th scope="col">{t('cust.firstSeen')}</th>
              </tr>
            </thead>
            <tbody>
              {items.length === 0 && (
                <tr>
                  <td colSpan={5} className="empty">
                    {t('cust.none')}
                  </td>
                </tr>
              )}
              {items.map((c) => (
                <tr key={c.id}>
                  <td>
                    <Link to={`/customers/${c.id}`}>{c.display_name ?? t('conv.anonymous')}</Link>
                  </td>
                  <td>{c.external_ref ?? '—'}</td>
                  <td>{c.verified ? t('cust.yes') : t('cust.no')}</td>
                  <td>{c.conversation_count ?? '—'}</td>
                  <td>{formatTime(c.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function CustomerPage({ id }: { id: string }) {
  const desk = useDesk();
  const { t } = useT();
  const [profile, setProfile] = useState<CustomerProfile | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    try {
      setProfile(await desk.api.getCustomer(id));
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, [desk.api, id]);
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <section className="page" aria-labelledby="page-title">
      <p className="breadcrumb">
        <Link to="/customers">{t('cust.title')}</Link>
      </p>
      <PageHeader title={profile ? (profile.display_name ?? t('conv.anonymous')) : t('cust.one')} />
      <ErrorNotice error={error} onRetry={() => void load()} />
      {!profile && !error && <Loading what={t('cust.loadingOne')} />}
      {profile && (
        <div className="two-columns">
          <section className="card">
            <h2>{t('cust.profile')}</h2>
            <dl className="details">
              <dt>{t('cust.reference')}</dt>
              <dd>{profile.external_ref ?? '—'}</dd>
              <dt>{t('cust.verified')}</dt>
              <dd>{profile.verified ? t('cust.signed') : t('cust.no')}</dd>
              <dt>{t('cust.firstSeen')}</dt>
              <dd>{formatTime(profile.created_at)}</dd>
              <dt>{t('cust.conversations')}</dt>
              <dd>{profile.conversation_count ?? profile.conversations?.length ?? '—'}</dd>
            </dl>
          </section>
          <section className="card">
            <h2>{t('cust.tickets')}</h2>
            {(profile.tickets ?? []).length === 0 && <p className="muted">{t('cust.noTickets')}</p>}
            <ul className="plain-list">
              {profile.tickets?.map((ticket) => (
                <li key={ticket.id}>
                  <Link to={`/tickets/${ticket.id}`}>{ticket.number}</Link> {ticket.subject} <StatusBadge status={ticket.status} />{' '}
                  <PriorityBadge priority={ticket.priority} />
                </li>
              ))}
            </ul>
            <h2>{t('cust.conversations')}</h2>
            {(profile.conversations ?? []).length === 0 && <p className="muted">{t('cust.noConversations')}</p>}
            <ul className="plain-list">
              {profile.conversations?.map((c) => (
                <li key={c.id}>
                  <Link to={`/conversations/${c.id}`}>{formatTime(c.created_at)}</Link> · {c.status === 'closed' ? t('conv.status.closed') : t('conv.status.open')} ·{' '}
                  {c.owner === 'bot' ? t('cust.byBot') : t('cust.byPerson')}
                  {c.rating != null && ` · ${t('cust.rated', { rating: c.rating })}`}
                </li>
              ))}
            </ul>
          </section>
        </div>
      )}
    </section>
  );
}
