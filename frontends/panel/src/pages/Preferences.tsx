// My preferences (every staff member): the panel's language, which staff emails they get and desktop
// notifications. Each change is saved through the API as it is made and applied at once; the server
// keeps them, so they follow the person to any browser. The email kinds are listed from what the
// server sends, so a kind it adds appears here by itself.

import { useState } from 'react';
import type { StaffPreferences } from '../api/types';
import { ErrorNotice, Loading, PageHeader, useAction } from '../components/common';
import { useDesk } from '../desk';
import { LANGUAGE_NAMES, LANGUAGES, isLanguage, useT, type MessageKey } from '../i18n';
import { en } from '../i18n/en';

type Permission = NotificationPermission | 'unsupported';

function notificationPermission(): Permission {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}

export function PreferencesPage() {
  const desk = useDesk();
  const { t } = useT();
  const save = useAction();
  const [saved, setSaved] = useState(false);
  const [permission, setPermission] = useState<Permission>(notificationPermission);
  const preferences = desk.preferences;

  if (!preferences) {
    return (
      <section className="page" aria-labelledby="page-title">
        <PageHeader title={t('prefs.title')} />
        {desk.preferencesError ? <ErrorNotice what={t('prefs.loadFailed')} error={desk.preferencesError} /> : <Loading what={t('prefs.title')} />}
      </section>
    );
  }

  const change = async (next: StaffPreferences) => {
    setSaved(false);
    const result = await save.run(() => desk.savePreferences(next));
    if (result !== undefined) setSaved(true);
  };

  const toggleDesktop = async (on: boolean) => {
    if (on && permission !== 'granted') {
      // The browser asks the person once; without their yes there is nothing to turn on.
      if (permission === 'unsupported') return;
      const answer = await Notification.requestPermission();
      setPermission(answer);
      if (answer !== 'granted') return;
    }
    await change({ ...preferences, desktop_notifications: on });
  };

  const emailLabel = (kind: string): string => {
    const key = `prefs.email.${kind}` as MessageKey;
    return key in en ? t(key) : kind.replace(/_/g, ' ');
  };

  return (
    <section className="page preferences" aria-labelledby="page-title">
      <PageHeader title={t('prefs.title')} />
      <p className="muted">{t('prefs.intro')}</p>
      <ErrorNotice what={t('prefs.saveFailed')} error={save.error} />
      <p className="muted small" role="status" data-testid="preferences-status">
        {save.busy ? t('common.saving') : saved ? t('prefs.saved') : '\u00a0'}
      </p>
      <section className="card" aria-labelledby="prefs-language">
        <h2 id="prefs-language">{t('prefs.language')}</h2>
        <label>
          <span className="visually-hidden">{t('prefs.language')}</span>
          <select
            name="language"
            value={preferences.language}
            disabled={save.busy}
            onChange={(e) => {
              const language = e.target.value;
              if (isLanguage(language)) void change({ ...preferences, language });
            }}
          >
            {LANGUAGES.map((l) => (
              <option key={l} value={l} lang={l}>
                {LANGUAGE_NAMES[l]}
              </option>
            ))}
          </select>
        </label>
        <p className="muted small">{t('prefs.languageHint')}</p>
      </section>
      <section className="card" aria-labelledby="prefs-emails">
        <h2 id="prefs-emails">{t('prefs.emails')}</h2>
        <p className="muted small">{t('prefs.emailsHint', { email: desk.user.email })}</p>
        {Object.entries(preferences.email).map(([kind, on]) => (
          <label key={kind} className="inline-check">
            <input
              type="checkbox"
              name={`email-${kind}`}
              checked={on}
              disabled={save.busy}
              onChange={(e) => void change({ ...preferences, email: { ...preferences.email, [kind]: e.target.checked } })}
            />{' '}
            {emailLabel(kind)}
          </label>
        ))}
      </section>
      <section className="card" aria-labelledby="prefs-desktop">
        <h2 id="prefs-desktop">{t('prefs.desktop')}</h2>
        <label className="inline-check">
          <input
            type="checkbox"
            name="desktop-notifications"
            checked={preferences.desktop_notifications && permission === 'granted'}
            disabled={save.busy || permission === 'unsupported'}
            onChange={(e) => void toggleDesktop(e.target.checked)}
          />{' '}
          {t('prefs.desktopLabel')}
        </label>
        {permission === 'unsupported' && <p className="muted small">{t('prefs.desktopUnsupported')}</p>}
        {permission === 'denied' && (
          <p className="notice notice-error" role="alert">
            {t('prefs.desktopDenied')}
          </p>
        )}
      </section>
    </section>
  );
}
