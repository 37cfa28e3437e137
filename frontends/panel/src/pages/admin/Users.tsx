// Staff accounts: create, change role and capacity, deactivate, reset a password.

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ROLES, type StaffRole, type StaffUser } from '../../api/types';
import { ErrorNotice, Loading, PageHeader, useAction } from '../../components/common';
import { useDesk } from '../../desk';
import { agentLoad } from '../../state/analytics';

/** The API's rule for passwords (docs/api.md), checked here too so the form can say so at once. */
const MIN_PASSWORD = 12;

export function UsersPage() {
  const desk = useDesk();
  const [users, setUsers] = useState<StaffUser[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const action = useAction();
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setUsers((await desk.api.listUsers()).items);
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, [desk.api]);
  useEffect(() => {
    void load();
  }, [load]);

  const update = async (user: StaffUser, change: Partial<Pick<StaffUser, 'role' | 'capacity' | 'active'>>, done: string) => {
    const result = await action.run(() => desk.api.updateUser(user.id, change));
    if (result) {
      setUsers((current) => current?.map((u) => (u.id === user.id ? { ...u, ...result } : u)) ?? current);
      setNotice(done);
    }
  };

  const resetPassword = async (user: StaffUser) => {
    const password = window.prompt(`New password for ${user.display_name} (at least ${MIN_PASSWORD} characters):`);
    if (password === null) return;
    if (password.length < MIN_PASSWORD) {
      action.setError(`The password must have at least ${MIN_PASSWORD} characters.`);
      return;
    }
    const ok = await action.run(async () => {
      await desk.api.resetPassword(user.id, password);
      return true;
    });
    if (ok) setNotice(`${user.display_name}'s password was reset; their sessions were signed out.`);
  };

  return (
    <section className="page" aria-labelledby="page-title">
      <PageHeader title="Users" />
      <ErrorNotice error={error} onRetry={() => void load()} />
      <ErrorNotice error={action.error} />
      {notice && (
        <p className="notice notice-ok" role="status">
          {notice}
        </p>
      )}
      <CreateUser
        onCreated={(u) => {
          setUsers((current) => [...(current ?? []), u]);
          setNotice(`${u.display_name} can now sign in.`);
        }}
      />
      {!users && !error && <Loading what="users" />}
      {users && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Capacity</th>
                <th scope="col">Availability</th>
                <th scope="col">Load / capacity</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <tr key={u.id} className={u.active === false ? 'row-inactive' : undefined}>
                  <td>{u.display_name}</td>
                  <td>{u.email}</td>
                  <td>
                    <select
                      aria-label={`Role of ${u.display_name}`}
                      value={u.role}
                      disabled={action.busy || u.id === desk.user.id}
                      onChange={(e) => void update(u, { role: e.target.value as StaffRole }, `${u.display_name} is now ${e.target.value}.`)}
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td>
                    <input
                      aria-label={`Capacity of ${u.display_name}`}
                      type="number"
                      min={0}
                      max={50}
                      className="input-narrow"
                      defaultValue={u.capacity ?? ''}
                      placeholder={u.effective_capacity != null ? `${u.effective_capacity} (default)` : undefined}
                      onBlur={(e) => {
                        const capacity = Number(e.target.value);
                        if (e.target.value !== '' && capacity !== u.capacity) void update(u, { capacity }, `${u.display_name} can hold ${capacity} tickets.`);
                      }}
                    />
                  </td>
                  <td>{u.availability ?? '—'}</td>
                  <td>
                    <LoadMeter user={u} />
                  </td>
                  <td>{u.active === false ? 'Deactivated' : 'Active'}</td>
                  <td className="nowrap">
                    {u.id !== desk.user.id && (
                      <button
                        type="button"
                        className="button-small"
                        disabled={action.busy}
                        onClick={() => void update(u, { active: u.active === false }, u.active === false ? `${u.display_name} was reactivated.` : `${u.display_name} was deactivated and signed out.`)}
                      >
                        {u.active === false ? 'Reactivate' : 'Deactivate'}
                      </button>
                    )}{' '}
                    <button type="button" className="button-small" disabled={action.busy} onClick={() => void resetPassword(u)}>
                      Reset password
                    </button>
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

function CreateUser({ onCreated }: { onCreated: (user: StaffUser) => void }) {
  const desk = useDesk();
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({ email: '', display_name: '', role: 'agent' as StaffRole, password: '', capacity: '' });
  const action = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (form.password.length < MIN_PASSWORD) {
      action.setError(`The password must have at least ${MIN_PASSWORD} characters.`);
      return;
    }
    const user = await action.run(() =>
      desk.api.createUser({ ...form, capacity: form.capacity === '' ? undefined : Number(form.capacity) }),
    );
    if (user) {
      onCreated(user);
      setForm({ email: '', display_name: '', role: 'agent', password: '', capacity: '' });
      setOpen(false);
    }
  };
  if (!open) {
    return (
      <p>
        <button type="button" onClick={() => setOpen(true)}>
          Add a user
        </button>
      </p>
    );
  }
  return (
    <form className="card form-grid" onSubmit={submit} aria-label="Add a user">
      <label>
        Name
        <input required value={form.display_name} onChange={(e) => setForm({ ...form, display_name: e.target.value })} />
      </label>
      <label>
        Email
        <input required type="email" value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
      </label>
      <label>
        Role
        <select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as StaffRole })}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <label>
        Capacity (open tickets)
        <input type="number" min={0} max={50} value={form.capacity} placeholder="the bank's default" onChange={(e) => setForm({ ...form, capacity: e.target.value })} />
      </label>
      <label>
        First password
        <input required type="password" autoComplete="new-password" minLength={MIN_PASSWORD} value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} />
      </label>
      <ErrorNotice error={action.error} />
      <div className="form-actions">
        <button type="submit" className="button-primary" disabled={action.busy}>
          Create user
        </button>
        <button type="button" className="button-quiet" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** Active tickets against what automatic assignment may give the person ("3 / 5"), full in red. */
export function LoadMeter({ user }: { user: StaffUser }) {
  const load = agentLoad(user);
  if (!load) return <>{user.open_tickets ?? '—'}</>;
  return (
    <span className={load.full ? 'sla sla-breached' : 'sla sla-ok'} title={load.title}>
      {load.text}
    </span>
  );
}
