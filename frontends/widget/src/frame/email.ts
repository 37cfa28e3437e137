// The widget's check of the optional email address, before anything is sent (the server checks again
// and has the last word: `ingress/src/routes/chat.rs`, `email_error`).

/** A plausible address (the server checks again): something@domain.tld, no spaces. */
export function looksLikeEmail(value: string): boolean {
  return value.length <= 254 && /^[^\s@<>()",;:\[\]\\]+@[^\s@<>()",;:\[\]\\]+\.[^\s@<>()",;:\[\]\\.]+$/.test(value);
}

/** Whether the text holds 13 to 19 digits in a row, ignoring spaces and dashes: a card number, never
 * to be sent as an address (the server refuses it too). */
export function holdsCardNumber(value: string): boolean {
  return /\d{13,19}/.test(value.replace(/[\s-]/g, ''));
}
