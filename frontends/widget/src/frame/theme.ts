// The bank's look and words, as its administrators set them in the panel
// (`GET /api/v1/settings/public`): read once when the chat loads, so a change shows on the next page
// load without anyone touching the page that embeds us. The colour applies over the loader's
// `color` option; until the answer arrives (or if it fails) the loader's options stand.

import type { Locale } from '../shared/protocol';

export interface BankTheme {
  name: string;
  greeting: string | null;
}

interface PublicSettings {
  name: string;
  primary_colour: string;
  accent_colour: string;
  logo_url: string | null;
  texts: Record<string, { greeting: string; out_of_scope: string; after_hours: string }>;
  open_now: boolean;
}

let current: BankTheme | null = null;
const listeners = new Set<() => void>();

export const bankTheme = {
  get: (): BankTheme | null => current,
  subscribe(listener: () => void) {
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  },
};

export async function loadBankTheme(locale: Locale): Promise<void> {
  try {
    const response = await fetch('/api/v1/settings/public', { headers: { accept: 'application/json' } });
    if (!response.ok) return;
    const settings = (await response.json()) as PublicSettings;
    if (CSS.supports('color', settings.primary_colour)) {
      document.documentElement.style.setProperty('--primary', settings.primary_colour);
    }
    current = { name: settings.name, greeting: settings.texts[locale]?.greeting ?? null };
    listeners.forEach((l) => l());
  } catch {
    // An older server or a network blip: the loader's options stand.
  }
}
