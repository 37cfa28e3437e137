// The messages the bank's page (the loader) and the chat iframe exchange with postMessage.
//
// Both sides check who they talk to: the loader only accepts messages whose origin is the
// widget's own origin and whose source is its iframe; the frame only accepts messages from its
// parent window whose origin is the page origin it was given, and posts only to that origin.
// Every message carries `channel` so unrelated postMessage traffic on the page is ignored.

export const CHANNEL = 'joxai-widget';

export type Locale = 'en' | 'es';

/** A verified customer identity signed by the bank's server (see README.md, "Verified customers"). */
export interface SignedIdentity {
  customer_ref: string;
  display_name?: string;
  issued_at: number;
  signature: string;
}

/** Page → frame. */
export type PageToFrame =
  | { channel: typeof CHANNEL; type: 'init'; identity: SignedIdentity | null }
  | { channel: typeof CHANNEL; type: 'open' }
  | { channel: typeof CHANNEL; type: 'close' };

/** Frame → page. */
export type FrameToPage =
  /** The frame has loaded and listens; `open` is whether this tab had the chat open before a reload. */
  | { channel: typeof CHANNEL; type: 'ready'; open: boolean }
  /** The customer closed the panel from inside it (close button or Escape). */
  | { channel: typeof CHANNEL; type: 'close-request' }
  /** Messages from the bank that arrived while the panel was closed, for the launcher's badge. */
  | { channel: typeof CHANNEL; type: 'unread'; count: number };

export function isOurMessage(data: unknown): data is { channel: string; type: string } {
  return typeof data === 'object' && data !== null && (data as { channel?: unknown }).channel === CHANNEL;
}

/** A message without its channel tag (each side adds it when posting). */
export type Untagged<T> = T extends unknown ? Omit<T, 'channel'> : never;
