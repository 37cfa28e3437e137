// Entry point of the chat inside the iframe: reads the options the loader put in the URL, talks
// to the page with checked postMessage, and renders the app.

import { createRoot } from 'react-dom/client';
import { useSyncExternalStore } from 'react';
import { CHANNEL, isOurMessage, type FrameToPage, type Locale, type PageToFrame, type Untagged } from '../shared/protocol';
import { App } from './App';
import { Chat } from './chat';
import { STRINGS } from './i18n';
import { stored } from './storage';
import { bankTheme, loadBankTheme } from './theme';
import './styles.css';

const params = new URLSearchParams(location.search);
const locale: Locale = params.get('locale') === 'es' ? 'es' : 'en';
const title = (params.get('title') || 'Chat').slice(0, 80);
const color = params.get('color');
if (color && CSS.supports('color', color)) document.documentElement.style.setProperty('--primary', color);
document.documentElement.lang = locale;
document.title = title;

/** The page that embeds us, as the loader told us. Only an exact origin is accepted. */
function parentOrigin(): string | null {
  const claimed = params.get('parent');
  if (!claimed) return null;
  try {
    const origin = new URL(claimed).origin;
    if (origin !== claimed || origin === 'null') return null;
    // Where the browser tells us our real ancestor (Chromium, Safari), it must agree.
    const ancestors = (location as Location & { ancestorOrigins?: DOMStringList }).ancestorOrigins;
    if (ancestors && ancestors.length > 0 && ancestors[0] !== origin) return null;
    return origin;
  } catch {
    return null;
  }
}

const embedded = window.parent !== window;
const pageOrigin = embedded ? parentOrigin() : null;

function toPage(message: Untagged<FrameToPage>): void {
  if (embedded && pageOrigin) window.parent.postMessage({ channel: CHANNEL, ...message }, pageOrigin);
}

/** Whether the panel is showing, as a tiny store the app subscribes to. */
const panel = {
  open: !embedded, // opened directly (not framed), the chat is simply the page
  unread: 0,
  listeners: new Set<() => void>(),
  set(open: boolean) {
    panel.open = open;
    if (open) panel.unread = 0;
    if (embedded) stored.setOpen(open);
    panel.listeners.forEach((l) => l());
  },
  subscribe(listener: () => void) {
    panel.listeners.add(listener);
    return () => panel.listeners.delete(listener);
  },
};

const chat = new Chat({
  locale,
  onIncoming: () => {
    if (panel.open) return;
    panel.unread += 1;
    toPage({ type: 'unread', count: panel.unread });
  },
});

window.addEventListener('message', (event: MessageEvent) => {
  if (!embedded || !pageOrigin || event.source !== window.parent || event.origin !== pageOrigin) return;
  if (!isOurMessage(event.data)) return;
  const message = event.data as PageToFrame;
  switch (message.type) {
    case 'init':
      chat.init(message.identity ?? null);
      break;
    case 'open':
      panel.set(true);
      chat.ensureStarted();
      break;
    case 'close':
      panel.set(false);
      break;
  }
});

function Root() {
  const open = useSyncExternalStore(panel.subscribe, () => panel.open);
  const theme = useSyncExternalStore(bankTheme.subscribe, bankTheme.get);
  const strings = theme?.greeting ? { ...STRINGS[locale], welcome: () => theme.greeting ?? '' } : STRINGS[locale];
  return (
    <App
      chat={chat}
      strings={strings}
      title={theme?.name ?? title}
      open={open}
      embedded={embedded}
      onClose={() => {
        panel.set(false);
        toPage({ type: 'close-request' });
      }}
    />
  );
}

createRoot(document.getElementById('root')!).render(<Root />);
void loadBankTheme(locale);

if (embedded) {
  toPage({ type: 'ready', open: stored.wasOpen() });
} else {
  chat.init(null);
  chat.ensureStarted();
}
