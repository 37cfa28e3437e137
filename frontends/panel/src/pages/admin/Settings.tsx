// Settings (admins): the bank's profile the widget shows, business hours, SLA targets, assignment and
// the escalation threshold. Saved as one document with its version: the server validates it (every
// invalid field is named), audits it and every JoxAI process applies it without a restart. Escalation
// routes per intent are kept as loaded (edited through the API); the page never drops them.

import { useCallback, useEffect, useState } from 'react';
import { ErrorNotice, Loading, PageHeader, useAction } from '../../components/common';
import { useDesk } from '../../desk';

interface LocalTexts {
  greeting: string;
  out_of_scope: string;
  after_hours: string;
}
interface OpeningHours {
  opens: string;
  closes: string;
}
interface SlaTarget {
  first_response_minutes: number;
  resolution_minutes: number;
}
export interface BankSettings {
  profile: { name: string; primary_colour: string; accent_colour: string; logo_url: string | null; texts: Record<string, LocalTexts> };
  hours: { utc_offset: string; time_zone?: string; weekly: Record<string, OpeningHours>; holidays: string[] };
  sla: Record<string, SlaTarget>;
  assignment: { auto_assign: boolean; default_capacity: number };
  escalation: { low_confidence_threshold: number; intent_routes: Record<string, string> };
}
interface StoredSettings {
  version: number;
  updated_at: string | null;
  settings: BankSettings;
}

const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const PRIORITIES = ['low', 'normal', 'high', 'urgent'];
const LANGUAGES: [string, string][] = [
  ['en', 'English'],
  ['es', 'Spanish'],
];

export function SettingsPage() {
  const desk = useDesk();
  const [stored, setStored] = useState<StoredSettings | null>(null);
  const [draft, setDraft] = useState<BankSettings | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const action = useAction();

  const load = useCallback(async () => {
    try {
      const s = await desk.api.request<StoredSettings>('GET', '/api/v1/settings');
      setStored(s);
      setDraft(structuredClone(s.settings));
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, [desk.api]);
  useEffect(() => {
    void load();
  }, [load]);

  const edit = (change: (d: BankSettings) => void) => {
    setSaved(false);
    setDraft((current) => {
      if (!current) return current;
      const next = structuredClone(current);
      change(next);
      return next;
    });
  };

  const save = async () => {
    if (!draft || !stored) return;
    const result = await action.run(() =>
      desk.api.request<StoredSettings>('PUT', '/api/v1/settings', { body: { version: stored.version, settings: draft } }),
    );
    if (result) {
      setStored(result);
      setDraft(structuredClone(result.settings));
      setSaved(true);
    }
  };

  return (
    <section className="page" aria-labelledby="page-title">
      <PageHeader title="Settings">
        {stored && <span className="muted">Version {stored.version}</span>}
      </PageHeader>
      <ErrorNotice error={error} onRetry={() => void load()} />
      {!draft && !error && <Loading what="settings" />}
      {draft && (
        <form
          className="settings-form"
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <fieldset>
            <legend>The bank, as customers see it</legend>
            <label>
              Name <input value={draft.profile.name} onChange={(e) => edit((d) => void (d.profile.name = e.target.value))} />
            </label>
            <label>
              Main colour{' '}
              <input type="color" value={draft.profile.primary_colour} onChange={(e) => edit((d) => void (d.profile.primary_colour = e.target.value))} />
            </label>
            <label>
              Accent colour{' '}
              <input type="color" value={draft.profile.accent_colour} onChange={(e) => edit((d) => void (d.profile.accent_colour = e.target.value))} />
            </label>
            <label>
              Logo address{' '}
              <input
                value={draft.profile.logo_url ?? ''}
                placeholder="https://…"
                onChange={(e) => edit((d) => void (d.profile.logo_url = e.target.value.trim() === '' ? null : e.target.value))}
              />
            </label>
            {LANGUAGES.map(([code, language]) => (
              <div key={code} className="settings-language">
                <h3>{language}</h3>
                {(['greeting', 'out_of_scope', 'after_hours'] as const).map((field) => (
                  <label key={field}>
                    {field === 'greeting' ? 'Greeting' : field === 'out_of_scope' ? 'Outside our business' : 'When we are closed'}
                    <textarea
                      name={`${code}-${field}`}
                      value={draft.profile.texts[code]?.[field] ?? ''}
                      onChange={(e) => edit((d) => void ((d.profile.texts[code] ??= { greeting: '', out_of_scope: '', after_hours: '' })[field] = e.target.value))}
                    />
                  </label>
                ))}
              </div>
            ))}
          </fieldset>

          <fieldset>
            <legend>Business hours</legend>
            <label>
              Offset from UTC <input value={draft.hours.utc_offset} placeholder="+01:00" onChange={(e) => edit((d) => void (d.hours.utc_offset = e.target.value))} />
            </label>
            <label>
              Time zone (replaces the offset, follows summer time)
              <input
                value={draft.hours.time_zone ?? ''}
                placeholder="Europe/Madrid"
                onChange={(e) => edit((d) => void (d.hours.time_zone = e.target.value.trim() === '' ? undefined : e.target.value.trim()))}
              />
            </label>
            <table>
              <tbody>
                {DAYS.map((day) => {
                  const hours = draft.hours.weekly[day];
                  return (
                    <tr key={day}>
                      <th scope="row">{day[0].toUpperCase() + day.slice(1)}</th>
                      <td>
                        <label>
                          <input
                            type="checkbox"
                            checked={!!hours}
                            onChange={(e) =>
                              edit((d) => {
                                if (e.target.checked) d.hours.weekly[day] = { opens: '09:00', closes: '18:00' };
                                else delete d.hours.weekly[day];
                              })
                            }
                          />{' '}
                          Open
                        </label>
                      </td>
                      <td>
                        {hours && (
                          <>
                            <input type="time" aria-label={`${day} opens`} value={hours.opens} onChange={(e) => edit((d) => void (d.hours.weekly[day].opens = e.target.value))} />
                            {' – '}
                            <input type="time" aria-label={`${day} closes`} value={hours.closes} onChange={(e) => edit((d) => void (d.hours.weekly[day].closes = e.target.value))} />
                          </>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            <label>
              Holidays (YYYY-MM-DD, separated by commas){' '}
              <input
                value={draft.hours.holidays.join(', ')}
                onChange={(e) => edit((d) => void (d.hours.holidays = e.target.value.split(',').map((s) => s.trim()).filter(Boolean)))}
              />
            </label>
          </fieldset>

          <fieldset>
            <legend>Service targets (minutes)</legend>
            <table>
              <thead>
                <tr>
                  <th scope="col">Priority</th>
                  <th scope="col">First response</th>
                  <th scope="col">Resolution</th>
                </tr>
              </thead>
              <tbody>
                {PRIORITIES.map((p) => (
                  <tr key={p}>
                    <th scope="row">{p}</th>
                    {(['first_response_minutes', 'resolution_minutes'] as const).map((field) => (
                      <td key={field}>
                        <input
                          type="number"
                          min={1}
                          aria-label={`${p} ${field}`}
                          value={draft.sla[p]?.[field] ?? ''}
                          onChange={(e) => edit((d) => void ((d.sla[p] ??= { first_response_minutes: 1, resolution_minutes: 1 })[field] = Number(e.target.value)))}
                        />
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </fieldset>

          <fieldset>
            <legend>Assignment and escalation</legend>
            <label>
              <input type="checkbox" checked={draft.assignment.auto_assign} onChange={(e) => edit((d) => void (d.assignment.auto_assign = e.target.checked))} />{' '}
              Assign new tickets automatically
            </label>
            <label>
              Default conversations per agent{' '}
              <input
                type="number"
                min={1}
                max={50}
                value={draft.assignment.default_capacity}
                onChange={(e) => edit((d) => void (d.assignment.default_capacity = Number(e.target.value)))}
              />
            </label>
            <label>
              Hand to a person below this confidence (0.2 – 0.8){' '}
              <input
                type="number"
                step={0.05}
                min={0.2}
                max={0.8}
                value={draft.escalation.low_confidence_threshold}
                onChange={(e) => edit((d) => void (d.escalation.low_confidence_threshold = Number(e.target.value)))}
              />
            </label>
          </fieldset>

          <ErrorNotice error={action.error} what="Not saved" />
          {saved && (
            <p className="notice" role="status">
              Saved. Every JoxAI process applies it now; the widget shows it on its next load.
            </p>
          )}
          <button type="submit" disabled={action.busy}>
            Save settings
          </button>
        </form>
      )}
    </section>
  );
}
