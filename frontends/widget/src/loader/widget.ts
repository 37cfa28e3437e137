// The loader a bank puts on its pages with one script tag:
//
//   <script src="https://chat.bank.example/widget/widget.js" data-title="Help" async></script>
//
// It adds a launcher button and an iframe holding the chat, served from the script's own origin.
// The chat lives in the iframe, not in the page, so the page's CSS and scripts cannot touch it
// and the customer's chat token stays in the iframe's storage, out of the page's reach.
//
// Kept small on purpose (plain TypeScript, no framework): it loads on every page of the bank's
// site, most of which never open the chat. Options are the script tag's data- attributes; see
// README.md.

import { CHANNEL, isOurMessage, type FrameToPage, type Locale, type PageToFrame, type SignedIdentity, type Untagged } from '../shared/protocol';

interface Options {
  title: string;
  primaryColor: string;
  position: 'left' | 'right';
  locale: Locale;
  identity: SignedIdentity | null;
  /** A URL on the bank's own site that answers the signed identity of whoever is signed in. */
  identityUrl: string | null;
}

const STRINGS: Record<Locale, { open: string; close: string; frame: (title: string) => string; unread: (n: number) => string }> = {
  en: {
    open: 'Open chat',
    close: 'Close chat',
    frame: (title) => `Chat: ${title}`,
    unread: (n) => `${n} new ${n === 1 ? 'message' : 'messages'}`,
  },
  es: {
    open: 'Abrir chat',
    close: 'Cerrar chat',
    frame: (title) => `Chat: ${title}`,
    unread: (n) => `${n} ${n === 1 ? 'mensaje nuevo' : 'mensajes nuevos'}`,
  },
};

const DEFAULT_COLOR = '#0b5cad';

function findScript(): HTMLScriptElement | null {
  // currentScript is null when the loader runs as a module or after an async re-insert; then look
  // for our tag by its file name.
  const current = document.currentScript;
  if (current instanceof HTMLScriptElement) return current;
  return document.querySelector<HTMLScriptElement>('script[src*="/widget.js"]');
}

function readOptions(script: HTMLScriptElement): Options {
  const data = script.dataset;
  const pageLang = (document.documentElement.lang || '').slice(0, 2).toLowerCase();
  const localeWanted = (data.locale || pageLang).toLowerCase();
  const color = data.primaryColor || '';
  let identity: SignedIdentity | null = null;
  if (data.customerRef && data.signature && data.issuedAt) {
    identity = {
      customer_ref: data.customerRef,
      issued_at: Number(data.issuedAt),
      signature: data.signature,
    };
    // The display name is part of what was signed: pass it only when the page gave one.
    if (data.displayName) identity.display_name = data.displayName;
  }
  return {
    title: data.title || 'Chat',
    // Only a real CSS colour; anything else would be a way to inject styles.
    primaryColor: color && CSS.supports('color', color) ? color : DEFAULT_COLOR,
    position: data.position === 'left' ? 'left' : 'right',
    locale: localeWanted === 'es' ? 'es' : 'en',
    identity,
    identityUrl: data.identityUrl || null,
  };
}

/** The identity fields from an identity URL's answer, or null when it is not a signed identity. */
function parseIdentity(json: unknown): SignedIdentity | null {
  const j = json as Partial<SignedIdentity> | null;
  if (!j || typeof j.customer_ref !== 'string' || typeof j.signature !== 'string' || typeof j.issued_at !== 'number') return null;
  const identity: SignedIdentity = { customer_ref: j.customer_ref, issued_at: j.issued_at, signature: j.signature };
  if (typeof j.display_name === 'string') identity.display_name = j.display_name;
  return identity;
}

/** The server accepts a signature for 10 minutes after signing; ask for a new one well before. */
const IDENTITY_FRESH_MS = 5 * 60_000;

const CHAT_ICON =
  '<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" focusable="false"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zm5 0a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zm5 0a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3z" transform="translate(0 1.5)"/></svg>';
const CLOSE_ICON =
  '<svg viewBox="0 0 24 24" width="26" height="26" aria-hidden="true" focusable="false"><path fill="currentColor" d="M18.3 5.7a1 1 0 0 0-1.4 0L12 10.6 7.1 5.7a1 1 0 0 0-1.4 1.4l4.9 4.9-4.9 4.9a1 1 0 1 0 1.4 1.4l4.9-4.9 4.9 4.9a1 1 0 0 0 1.4-1.4L13.4 12l4.9-4.9a1 1 0 0 0 0-1.4z"/></svg>';

function styles(o: Options): string {
  const side = o.position;
  return `
:host { all: initial; }
.launcher {
  position: fixed; bottom: 20px; ${side}: 20px; z-index: 2147483000;
  width: 60px; height: 60px; border-radius: 50%; border: 0; cursor: pointer;
  background: ${o.primaryColor}; color: #fff; display: flex; align-items: center; justify-content: center;
  box-shadow: 0 4px 14px rgba(0,0,0,.28); transition: transform .15s ease;
}
.launcher:hover { transform: scale(1.05); }
.launcher:focus-visible { outline: 3px solid #fff; box-shadow: 0 0 0 6px ${o.primaryColor}, 0 4px 14px rgba(0,0,0,.28); }
.badge {
  position: absolute; top: -4px; ${side === 'right' ? 'left' : 'right'}: -4px; min-width: 20px; height: 20px;
  padding: 0 5px; box-sizing: border-box; border-radius: 10px; background: #c62828; color: #fff;
  font: 700 12px/20px system-ui, sans-serif; text-align: center;
}
.badge[hidden] { display: none; }
iframe {
  position: fixed; bottom: 92px; ${side}: 20px; z-index: 2147483001;
  width: 380px; height: min(640px, calc(100vh - 112px)); border: 0; border-radius: 14px;
  box-shadow: 0 10px 40px rgba(0,0,0,.3); background: #fff; display: none; color-scheme: normal;
}
iframe.open { display: block; }
/* Phone width: the chat takes the whole screen and carries its own close button. */
@media (max-width: 480px) {
  iframe { inset: 0; width: 100vw; height: 100vh; height: 100dvh; border-radius: 0; }
  :host(.open) .launcher { display: none; }
}`;
}

// Read now: document.currentScript is only set while this script first runs.
const ourScript = findScript();

function start(): void {
  const script = ourScript;
  if (!script || !script.src) return;
  // A second copy of the script on the same page must not add a second launcher.
  if (document.querySelector('joxai-widget')) return;

  const widgetOrigin = new URL(script.src, location.href).origin;
  const options = readOptions(script);
  const t = STRINGS[options.locale];

  // A custom element name: page rules like `div { … }` never match it, and the shadow root keeps
  // every other page rule out. Open rather than closed: a closed root hides nothing from a page
  // script that could wrap attachShadow anyway, and an open one lets test tools reach the launcher.
  const host = document.createElement('joxai-widget');
  const shadow = host.attachShadow({ mode: 'open' });
  const style = document.createElement('style');
  style.textContent = styles(options);

  const launcher = document.createElement('button');
  launcher.type = 'button';
  launcher.className = 'launcher';
  launcher.setAttribute('aria-expanded', 'false');
  launcher.setAttribute('aria-label', t.open);
  launcher.setAttribute('aria-controls', 'joxai-frame');
  launcher.innerHTML = CHAT_ICON; // a constant, never page or server data
  const badge = document.createElement('span');
  badge.className = 'badge';
  badge.hidden = true;
  launcher.appendChild(badge);

  const frameUrl = new URL('/widget/frame.html', widgetOrigin);
  frameUrl.searchParams.set('title', options.title);
  frameUrl.searchParams.set('color', options.primaryColor);
  frameUrl.searchParams.set('locale', options.locale);
  // Who the frame may talk to. A page that lies here only cuts itself off: the frame posts to
  // this origin only, and the browser drops messages whose target origin is not the parent's.
  frameUrl.searchParams.set('parent', location.origin);

  const iframe = document.createElement('iframe');
  iframe.id = 'joxai-frame';
  iframe.title = t.frame(options.title);
  iframe.setAttribute('allow', 'clipboard-write');

  shadow.append(style, launcher, iframe);
  document.body.appendChild(host);

  let frameReady = false;
  let isOpen = false;

  // The identity fetched from data-identity-url, and when. Fetched on the page (same origin as the
  // bank's site, with its cookies), so the bank's server decides who is signed in.
  let fetchedIdentity: { at: number; value: SignedIdentity | null } | null = null;

  async function currentIdentity(): Promise<SignedIdentity | null> {
    if (options.identity || !options.identityUrl) return options.identity;
    if (fetchedIdentity && Date.now() - fetchedIdentity.at < IDENTITY_FRESH_MS) return fetchedIdentity.value;
    let value: SignedIdentity | null = null;
    try {
      const response = await fetch(options.identityUrl, { headers: { Accept: 'application/json' }, cache: 'no-store' });
      // Not signed in (or no such endpoint): the customer chats anonymously.
      if (response.ok) value = parseIdentity(await response.json());
    } catch {
      // Same: anonymous.
    }
    fetchedIdentity = { at: Date.now(), value };
    return value;
  }

  /** Tell the frame who the customer is; again only when a fetched identity has gone stale. */
  let lastInit: Promise<void> | null = null;
  function sendInit(): Promise<void> {
    const stale = options.identityUrl && !options.identity && (!fetchedIdentity || Date.now() - fetchedIdentity.at >= IDENTITY_FRESH_MS);
    if (!lastInit || stale) lastInit = currentIdentity().then((identity) => post({ type: 'init', identity }));
    return lastInit;
  }

  function post(message: Untagged<PageToFrame>): void {
    if (!frameReady || !iframe.contentWindow) return;
    iframe.contentWindow.postMessage({ channel: CHANNEL, ...message }, widgetOrigin);
  }

  function setUnread(count: number): void {
    badge.hidden = count === 0 || isOpen;
    badge.textContent = count > 9 ? '9+' : String(count);
    launcher.setAttribute('aria-label', count > 0 && !isOpen ? `${t.open} (${t.unread(count)})` : isOpen ? t.close : t.open);
  }

  function open(): void {
    if (!iframe.src) iframe.src = frameUrl.href;
    isOpen = true;
    iframe.classList.add('open');
    host.classList.add('open');
    launcher.setAttribute('aria-expanded', 'true');
    launcher.innerHTML = CLOSE_ICON;
    launcher.appendChild(badge);
    setUnread(0);
    // The frame starts a session on open, so it must know the (fresh) identity first.
    if (frameReady) void sendInit().then(() => isOpen && post({ type: 'open' }));
    iframe.focus();
  }

  function close(): void {
    const focusWasInside = shadow.activeElement === iframe;
    isOpen = false;
    iframe.classList.remove('open');
    host.classList.remove('open');
    launcher.setAttribute('aria-expanded', 'false');
    launcher.innerHTML = CHAT_ICON;
    launcher.appendChild(badge);
    setUnread(0);
    post({ type: 'close' });
    // Give keyboard users their place back instead of dropping focus on <body>.
    if (focusWasInside) launcher.focus();
  }

  launcher.addEventListener('click', () => (isOpen ? close() : open()));

  window.addEventListener('message', (event: MessageEvent) => {
    if (event.origin !== widgetOrigin || event.source !== iframe.contentWindow) return;
    if (!isOurMessage(event.data)) return;
    const message = event.data as FrameToPage;
    switch (message.type) {
      case 'ready':
        frameReady = true;
        lastInit = null; // a reloaded frame knows nothing yet
        void sendInit().then(() => {
          if (isOpen) post({ type: 'open' });
          else if (message.open) open();
        });
        break;
      case 'close-request':
        close();
        break;
      case 'unread':
        setUnread(Math.max(0, Math.floor(Number(message.count)) || 0));
        break;
    }
  });

  // Load the frame once the page itself has finished, so the bank's page is never slowed down,
  // but before the first click, so a returning customer sees replies (the launcher's badge) and
  // the panel opens instantly.
  const preload = () => {
    if (!iframe.src) iframe.src = frameUrl.href;
  };
  if (document.readyState === 'complete') setTimeout(preload, 0);
  else window.addEventListener('load', () => setTimeout(preload, 0), { once: true });

  (window as unknown as { JoxAI: unknown }).JoxAI = { open, close, toggle: () => (isOpen ? close() : open()) };
}

if (document.body) start();
else document.addEventListener('DOMContentLoaded', start, { once: true });
