// The page: the sign-in form when nobody is signed in, otherwise the desk shell (header, navigation,
// the current screen). Navigation and routes are role-aware: a screen lists the roles it is for, and
// a person without one of them gets an explanation instead of the screen.

import { useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ApiClient, ApiError, describeError, type Session } from './api/client';
import type { Availability, StaffRole, StaffUser } from './api/types';
import { canSee, DeskProvider, useDesk } from './desk';
import { Link, matchPath, navigate, usePath } from './router';
import { ConnectionBadge } from './components/ConnectionBadge';
import { DashboardPage } from './pages/Dashboard';
import { AnalyticsPage } from './pages/Analytics';
import { QueuePage } from './pages/Queue';
import { TicketPage } from './pages/Ticket';
import { ConversationsPage, ConversationPage } from './pages/Conversations';
import { CustomersPage, CustomerPage } from './pages/Customers';
import { UsersPage } from './pages/admin/Users';
import { CannedPage } from './pages/admin/Canned';
import { KnowledgePage } from './pages/admin/Knowledge';
import { DeadLettersPage } from './pages/admin/DeadLetters';
import { EmailsPage } from './pages/admin/Emails';
import { SettingsPage } from './pages/admin/Settings';
import { PreferencesPage } from './pages/Preferences';
import { LanguageProvider, label, useT, type MessageKey } from './i18n';

const EVERYONE: readonly StaffRole[] = ['agent', 'supervisor', 'admin'];
const SUPERVISORS: readonly StaffRole[] = ['supervisor', 'admin'];
const ADMINS: readonly StaffRole[] = ['admin'];

interface Route {
  pattern: string;
  roles: readonly StaffRole[];
  render: (params: Record<string, string>) => ReactNode;
}

const ROUTES: Route[] = [
  { pattern: '/', roles: EVERYONE, render: () => <DashboardPage /> },
  { pattern: '/analytics', roles: SUPERVISORS, render: () => <AnalyticsPage /> },
  { pattern: '/queue', roles: EVERYONE, render: () => <QueuePage /> },
  { pattern: '/tickets/:id', roles: EVERYONE, render: (p) => <TicketPage key={p.id} id={p.id} /> },
  { pattern: '/conversations', roles: SUPERVISORS, render: () => <ConversationsPage /> },
  { pattern: '/conversations/:id', roles: SUPERVISORS, render: (p) => <ConversationPage key={p.id} id={p.id} /> },
  { pattern: '/customers', roles: SUPERVISORS, render: () => <CustomersPage /> },
  { pattern: '/customers/:id', roles: SUPERVISORS, render: (p) => <CustomerPage key={p.id} id={p.id} /> },
  { pattern: '/admin/users', roles: ADMINS, render: () => <UsersPage /> },
  { pattern: '/admin/canned', roles: SUPERVISORS, render: () => <CannedPage /> },
  { pattern: '/admin/knowledge', roles: SUPERVISORS, render: () => <KnowledgePage /> },
  { pattern: '/admin/dead-letters', roles: ADMINS, render: () => <DeadLettersPage /> },
  { pattern: '/admin/emails', roles: ADMINS, render: () => <EmailsPage /> },
  { pattern: '/admin/settings', roles: ADMINS, render: () => <SettingsPage /> },
  { pattern: '/preferences', roles: EVERYONE, render: () => <PreferencesPage /> },
];

interface NavItem {
  to: string;
  label: MessageKey;
  roles: readonly StaffRole[];
}

const NAV: { section: MessageKey; items: NavItem[] }[] = [
  {
    section: 'nav.desk',
    items: [
      { to: '/', label: 'nav.dashboard', roles: EVERYONE },
      { to: '/queue', label: 'nav.queue', roles: EVERYONE },
      { to: '/analytics', label: 'nav.analytics', roles: SUPERVISORS },
      { to: '/conversations', label: 'nav.conversations', roles: SUPERVISORS },
      { to: '/customers', label: 'nav.customers', roles: SUPERVISORS },
    ],
  },
  {
    section: 'nav.admin',
    items: [
      { to: '/admin/users', label: 'nav.users', roles: ADMINS },
      { to: '/admin/canned', label: 'nav.canned', roles: SUPERVISORS },
      { to: '/admin/knowledge', label: 'nav.knowledge', roles: SUPERVISORS },
      { to: '/admin/dead-letters', label: 'nav.deadLetters', roles: ADMINS },
      { to: '/admin/emails', label: 'nav.emails', roles: ADMINS },
      { to: '/admin/settings', label: 'nav.settings', roles: ADMINS },
    ],
  },
];

export function App({ api }: { api: ApiClient }) {
  return (
    <LanguageProvider>
      <Desk api={api} />
    </LanguageProvider>
  );
}

function Desk({ api }: { api: ApiClient }) {
  const [session, setSession] = useState<Session | null>(api.session);
  useEffect(() => api.onSessionChange(setSession), [api]);
  // A token refresh replaces the session object; the desk (and its socket) must only restart when
  // the person changes, so it gets a session that is stable per user.
  const userId = session?.user.id;
  const stableSession = useMemo(() => session, [userId]); // eslint-disable-line react-hooks/exhaustive-deps
  if (!stableSession || !session) return <LoginPage api={api} />;
  return (
    <DeskProvider key={stableSession.user.id} api={api} session={stableSession}>
      <Shell />
    </DeskProvider>
  );
}

function LoginPage({ api }: { api: ApiClient }) {
  const { t } = useT();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.login(email, password);
    } catch (e) {
      // The API's 401 speaks to programs ("send a valid bearer token"); a person needs to hear that
      // the email or password is wrong.
      setError(
        e instanceof ApiError && e.status === 401
          ? t('login.wrong')
          : describeError(e),
      );
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <form className="login-card" onSubmit={submit} aria-labelledby="login-title">
        <div className="brand brand-large" aria-hidden="true">
          Jox<span>AI</span>
        </div>
        <h1 id="login-title">{t('login.title')}</h1>
        <label>
          {t('login.email')}
          <input type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
        </label>
        <label>
          {t('login.password')}
          <input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        {error && (
          <p className="notice notice-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="button-primary" disabled={busy}>
          {busy ? t('login.busy') : t('login.submit')}
        </button>
      </form>
    </main>
  );
}

function Shell() {
  const desk = useDesk();
  const { t } = useT();
  const path = usePath();
  const mainRef = useRef<HTMLElement>(null);

  let content: ReactNode = <NotFound />;
  let title = 'Not found';
  for (const route of ROUTES) {
    const params = matchPath(route.pattern, path);
    if (!params) continue;
    content = canSee(desk.user.role, route.roles) ? route.render(params) : <Forbidden roles={route.roles} />;
    title = route.pattern;
    break;
  }

  useEffect(() => {
    // After navigating, move focus to the new page's heading so keyboard and screen-reader users
    // start at the content, not back at the top of the navigation.
    const heading = mainRef.current?.querySelector<HTMLElement>('h1');
    heading?.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }, [path]);

  const waiting = desk.queue.tickets.filter((t) => t.status === 'open' && !t.assignee_id).length;

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        {t('shell.skip')}
      </a>
      <header className="topbar">
        <Link to="/" className="brand" aria-label={t('shell.brand')}>
          Jox<span>AI</span> <small>{t('shell.brandSmall')}</small>
        </Link>
        <div className="topbar-right">
          <ConnectionBadge />
          <AvailabilityPicker />
          <span className="whoami" title={desk.user.email}>
            <span className="whoami-name">{desk.user.display_name}</span>
            <span className={`role role-${desk.user.role}`}>{label('role', desk.user.role)}</span>
          </span>
          <Link to="/preferences" className="button button-quiet" aria-current={path === '/preferences' ? 'page' : undefined}>
            {t('shell.myPreferences')}
          </Link>
          <button
            type="button"
            className="button-quiet"
            onClick={() => {
              void desk.signOut();
              navigate('/', { replace: true });
            }}
          >
            {t('shell.signOut')}
          </button>
        </div>
      </header>
      <nav className="sidebar" aria-label={t('nav.main')}>
        {NAV.map(({ section, items }) => {
          const visible = items.filter((item) => canSee(desk.user.role, item.roles));
          if (visible.length === 0) return null;
          return (
            <div key={section} className="nav-section">
              <h2 className="nav-heading">{t(section)}</h2>
              <ul>
                {visible.map((item) => {
                  const active = item.to === '/' ? path === '/' : path.startsWith(item.to) || (item.to === '/queue' && path.startsWith('/tickets/'));
                  return (
                    <li key={item.to}>
                      <Link to={item.to} aria-current={active ? 'page' : undefined} className="nav-link">
                        {t(item.label)}
                        {item.to === '/queue' && waiting > 0 && (
                          <span className="count" aria-label={t('nav.waiting', { count: waiting })}>
                            {waiting}
                          </span>
                        )}
                      </Link>
                    </li>
                  );
                })}
              </ul>
            </div>
          );
        })}
      </nav>
      {/* The shell reads the language, so a change re-renders every screen below it, the plain helpers
          that format dates included (they read the module's current language). */}
      <main id="main" ref={mainRef} className="content" data-route={title}>
        {content}
      </main>
    </div>
  );
}

function AvailabilityPicker() {
  const desk = useDesk();
  const { t } = useT();
  const [value, setValue] = useState<Availability>(desk.user.availability ?? 'offline');
  const [error, setError] = useState<string | null>(null);
  const change = async (next: Availability) => {
    const previous = value;
    setValue(next);
    setError(null);
    try {
      const user: StaffUser = await desk.api.setAvailability(next);
      if (user?.availability) setValue(user.availability);
    } catch (e) {
      setValue(previous);
      setError(describeError(e));
    }
  };
  return (
    <span className="availability">
      <label>
        <span className="visually-hidden">{t('availability.label')}</span>
        <span className={`dot dot-${value}`} aria-hidden="true" />
        <select value={value} onChange={(e) => void change(e.target.value as Availability)} aria-describedby={error ? 'availability-error' : undefined}>
          <option value="online">{t('availability.online')}</option>
          <option value="away">{t('availability.away')}</option>
          <option value="offline">{t('availability.offline')}</option>
        </select>
      </label>
      {error && (
        <span id="availability-error" className="availability-error" role="alert" title={error}>
          {t('availability.failed', { error })}
        </span>
      )}
    </span>
  );
}

function Forbidden({ roles }: { roles: readonly StaffRole[] }) {
  const { t } = useT();
  return (
    <section className="page" aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>
        {t('forbidden.title')}
      </h1>
      <p>{t('forbidden.body', { roles: roles.map((r) => t(`roles.${r}`)).join(t('forbidden.and')) })}</p>
      <p>
        <Link to="/queue">{t('forbidden.toQueue')}</Link>
      </p>
    </section>
  );
}

function NotFound() {
  const { t } = useT();
  return (
    <section className="page">
      <h1 id="page-title" tabIndex={-1}>
        {t('notFound.title')}
      </h1>
      <p>
        <Link to="/">{t('notFound.back')}</Link>
      </p>
    </section>
  );
}
