// Customers: search, profile, and their conversations and tickets.

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { Customer, CustomerProfile } from '../api/types';
import { ErrorNotice, formatTime, Loading, PageHeader, PriorityBadge, StatusBadge } from '../components/common';
import { useDesk } from '../desk';
import { Link } from '../router';

export function CustomersPage() {
  const desk = useDesk();
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
      <PageHeader title="Customers" />
      <form className="filters" role="search" onSubmit={submit}>
        <label>
          Search by name or bank reference
          <input type="search" value={q} onChange={(e) => setQ(e.target.value)} />
        </label>
        <button type="submit">Search</button>
      </form>
      <ErrorNotice error={error} onRetry={() => void search(q)} />
      {!items && !error && <Loading what="customers" />}
      {items && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Bank reference</th>
                <th scope="col">Verified</th>
                <th scope="col">Conversations</th>
                <th scope="col">First seen</th>
              </tr>
            </thead>
            <tbody>
              {items.length === 0 && (
                <tr>
                  <td colSpan={5} className="empty">
                    No customers found.
                  </td>
                </tr>
              )}
              {items.map((c) => (
                <tr key={c.id}>
                  <td>
                    <Link to={`/customers/${c.id}`}>{c.display_name ?? 'Anonymous visitor'}</Link>
                  </td>
                  <td>{c.external_ref ?? '—'}</td>
                  <td>{c.verified ? 'Yes' : 'No'}</td>
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
        <Link to="/customers">Customers</Link>
      </p>
      <PageHeader title={profile ? (profile.display_name ?? 'Anonymous visitor') : 'Customer'} />
      <ErrorNotice error={error} onRetry={() => void load()} />
      {!profile && !error && <Loading what="the customer" />}
      {profile && (
        <div className="two-columns">
          <section className="card">
            <h2>Profile</h2>
            <dl className="details">
              <dt>Bank reference</dt>
              <dd>{profile.external_ref ?? '—'}</dd>
              <dt>Verified</dt>
              <dd>{profile.verified ? 'Yes (signed by the bank)' : 'No'}</dd>
              <dt>First seen</dt>
              <dd>{formatTime(profile.created_at)}</dd>
              <dt>Conversations</dt>
              <dd>{profile.conversation_count ?? profile.conversations?.length ?? '—'}</dd>
            </dl>
          </section>
          <section className="card">
            <h2>Tickets</h2>
            {(profile.tickets ?? []).length === 0 && <p className="muted">No tickets.</p>}
            <ul className="plain-list">
              {profile.tickets?.map((t) => (
                <li key={t.id}>
                  <Link to={`/tickets/${t.id}`}>{t.number}</Link> {t.subject} <StatusBadge status={t.status} /> <PriorityBadge priority={t.priority} />
                </li>
              ))}
            </ul>
            <h2>Conversations</h2>
            {(profile.conversations ?? []).length === 0 && <p className="muted">No conversations.</p>}
            <ul className="plain-list">
              {profile.conversations?.map((c) => (
                <li key={c.id}>
                  <Link to={`/conversations/${c.id}`}>{formatTime(c.created_at)}</Link> · {c.status} · {c.owner === 'bot' ? 'bot' : 'person'}
                  {c.rating != null && ` · rated ${c.rating}/5`}
                </li>
              ))}
            </ul>
          </section>
        </div>
      )}
    </section>
  );
}
