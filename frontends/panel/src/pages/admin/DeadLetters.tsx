// Dead letters: messages a worker gave up on. Inspect the payload and the error, then replay it to
// its subject (after fixing the cause) or discard it.

import { useCallback, useEffect, useState } from 'react';
import type { DeadLetter, DeadLetterDetail } from '../../api/types';
import { ErrorNotice, formatTime, Loading, PageHeader, useAction } from '../../components/common';
import { useDesk } from '../../desk';

export function DeadLettersPage() {
  const desk = useDesk();
  const [status, setStatus] = useState('pending');
  const [items, setItems] = useState<DeadLetter[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState<DeadLetterDetail | null>(null);
  const action = useAction();

  const load = useCallback(async () => {
    try {
      setItems((await desk.api.listDeadLetters(status)).items);
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, [desk.api, status]);
  useEffect(() => {
    void load();
  }, [load]);

  const replace = (d: DeadLetter) => {
    setItems((current) => current?.map((x) => (x.id === d.id ? { ...x, ...d } : x)) ?? current);
    setOpen((o) => (o && o.id === d.id ? { ...o, ...d } : o));
  };

  return (
    <section className="page" aria-labelledby="page-title">
      <PageHeader title="Dead letters">
        <label>
          Show{' '}
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="pending">Pending</option>
            <option value="replayed">Replayed</option>
            <option value="discarded">Discarded</option>
            <option value="">All</option>
          </select>
        </label>
      </PageHeader>
      <ErrorNotice error={error} onRetry={() => void load()} />
      <ErrorNotice error={action.error} />
      {!items && !error && <Loading what="dead letters" />}
      {items && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Worker</th>
                <th scope="col">Subject</th>
                <th scope="col">Error</th>
                <th scope="col">Deliveries</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.length === 0 && (
                <tr>
                  <td colSpan={7} className="empty">
                    Nothing here. Every message was handled.
                  </td>
                </tr>
              )}
              {items.map((d) => (
                <tr key={d.id}>
                  <td className="nowrap">{formatTime(d.created_at)}</td>
                  <td>{d.worker}</td>
                  <td className="mono">{d.subject}</td>
                  <td className="error-text">{d.error}</td>
                  <td>{d.deliveries ?? '—'}</td>
                  <td>
                    {d.status}
                    {d.replays ? ` (${d.replays}×)` : ''}
                  </td>
                  <td className="nowrap">
                    <button type="button" className="button-small" onClick={() => void action.run(async () => setOpen(await desk.api.getDeadLetter(d.id)))}>
                      Inspect
                    </button>{' '}
                    <button type="button" className="button-small" disabled={action.busy || d.status === 'discarded'} onClick={() => void action.run(async () => replace(await desk.api.replayDeadLetter(d.id)))}>
                      Replay
                    </button>{' '}
                    <button type="button" className="button-small button-danger" disabled={action.busy || d.status !== 'pending'} onClick={() => void action.run(async () => replace(await desk.api.discardDeadLetter(d.id)))}>
                      Discard
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {open && (
        <section className="card" aria-labelledby="dl-title">
          <h2 id="dl-title">Dead letter {open.id}</h2>
          <dl className="details">
            <dt>Subject</dt>
            <dd className="mono">{open.subject}</dd>
            <dt>Message id</dt>
            <dd className="mono">{open.message_id ?? '—'}</dd>
            <dt>Stream sequence</dt>
            <dd>{open.stream_sequence ?? '—'}</dd>
            <dt>Error</dt>
            <dd className="error-text">{open.error}</dd>
          </dl>
          <h3>Payload</h3>
          <pre className="payload">{prettyJson(open.payload)}</pre>
          {open.headers && (
            <>
              <h3>Headers</h3>
              <pre className="payload">{JSON.stringify(open.headers, null, 2)}</pre>
            </>
          )}
          <button type="button" className="button-quiet" onClick={() => setOpen(null)}>
            Close
          </button>
        </section>
      )}
    </section>
  );
}

function prettyJson(text: string | undefined): string {
  if (!text) return '(empty)';
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
