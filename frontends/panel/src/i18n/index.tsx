// The panel's language: the two catalogues, `t()` to read them and the date and number formats of
// the chosen language (`Intl`). The language is the signed-in person's preference
// (`/api/v1/me/preferences`); before sign-in, the one last used in this browser.
//
// The current language is also kept at module level, so plain helpers (`formatTime`, `describeHistory`)
// speak it without each caller passing it in; the shell re-renders the whole page when it changes.

import { createContext, useContext, useMemo, useState, type ReactNode } from 'react';
import { en, type MessageKey } from './en';
import { es } from './es';

export type Language = 'en' | 'es';
export const LANGUAGES: readonly Language[] = ['en', 'es'];
export const CATALOGUES: Record<Language, Record<MessageKey, string>> = { en, es };
export type { MessageKey };

/** Each language named in itself, as a language picker shows it. */
export const LANGUAGE_NAMES: Record<Language, string> = { en: 'English', es: 'Español' };

const STORED = 'joxai.panel.language';

export function isLanguage(value: unknown): value is Language {
  return value === 'en' || value === 'es';
}

let current: Language = readStored();

function readStored(): Language {
  try {
    const saved = typeof localStorage === 'undefined' ? null : localStorage.getItem(STORED);
    return isLanguage(saved) ? saved : 'en';
  } catch {
    return 'en';
  }
}

export function currentLanguage(): Language {
  return current;
}

/** The message `key` in `language`, with `{name}` placeholders filled from `values`. */
export function translate(language: Language, key: MessageKey, values: Record<string, string | number> = {}): string {
  const template = CATALOGUES[language][key] ?? en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}

/** `translate` in the current language. */
export function tr(key: MessageKey, values?: Record<string, string | number>): string {
  return translate(current, key, values);
}

/** A label for an enum-like value (`status.in_progress`), or the value in words when the catalogue
 * has none (a newer server's value still shows). */
export function label(group: 'status' | 'priority' | 'sender' | 'role' | 'reason', value: string): string {
  const key = `${group}.${value}` as MessageKey;
  if (key in en) return tr(key);
  const s = value.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The BCP 47 tag `Intl` formats with. */
export function intlLocale(language: Language = current): string {
  return language === 'es' ? 'es-ES' : 'en-GB';
}

interface LanguageContextValue {
  language: Language;
  setLanguage: (language: Language) => void;
  t: (key: MessageKey, values?: Record<string, string | number>) => string;
}

const LanguageContext = createContext<LanguageContextValue>({
  language: 'en',
  setLanguage: () => undefined,
  t: (key, values) => translate('en', key, values),
});

export function LanguageProvider({ children }: { children: ReactNode }) {
  const [language, setState] = useState<Language>(current);
  const value = useMemo<LanguageContextValue>(
    () => ({
      language,
      setLanguage: (next) => {
        current = next;
        try {
          localStorage.setItem(STORED, next);
        } catch {
          // Private mode: the preference on the server still holds after sign-in.
        }
        document.documentElement.lang = next;
        setState(next);
      },
      t: (key, values) => translate(language, key, values),
    }),
    [language],
  );
  current = language;
  if (typeof document !== 'undefined') document.documentElement.lang = language;
  return <LanguageContext.Provider value={value}>{children}</LanguageContext.Provider>;
}

/** The current language's `t()`, and the language itself. */
export function useT() {
  return useContext(LanguageContext);
}
