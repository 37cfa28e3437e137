// Splits message text into plain text and web links. Messages come from the bot, agents and the
// customer, so nothing in them is ever treated as HTML: React renders the pieces as text, and only
// http(s) addresses become links (never javascript:, data: or anything else).

export type Piece = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

// Deliberately simple: an http(s) address runs until whitespace or an angle bracket.
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+/gi;
// Punctuation that usually ends the sentence rather than the address ("see https://x.example.").
const TRAILING = /[.,;:!?)\]}'"]+$/;

export function safeHref(candidate: string): string | null {
  try {
    const url = new URL(candidate);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

export function linkify(text: string): Piece[] {
  const pieces: Piece[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const start = match.index ?? 0;
    let raw = match[0];
    const trailing = raw.match(TRAILING);
    // Keep a closing parenthesis that belongs to the address, as in Wikipedia links.
    if (trailing && !(trailing[0] === ')' && raw.includes('('))) raw = raw.slice(0, raw.length - trailing[0].length);
    const href = safeHref(raw);
    if (!href) continue;
    if (start > last) pieces.push({ kind: 'text', text: text.slice(last, start) });
    pieces.push({ kind: 'link', text: raw, href });
    last = start + raw.length;
  }
  if (last < text.length) pieces.push({ kind: 'text', text: text.slice(last) });
  return pieces;
}
