// A conversation's transcript as pure functions: live messages merged with fetched ones.

import type { EventEnvelope, Message, MessageCreatedPayload, Uuid } from '../api/types';

/** Merge `incoming` into `messages`: no duplicates (the same message can arrive over REST, live and
 * from a resume replay), oldest first, stable for equal timestamps. */
export function mergeMessages(messages: readonly Message[], incoming: readonly Message[]): Message[] {
  const byId = new Map<Uuid, Message>();
  for (const m of messages) byId.set(m.id, m);
  for (const m of incoming) byId.set(m.id, { ...byId.get(m.id), ...m });
  return [...byId.values()].sort(
    (a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id.localeCompare(b.id),
  );
}

/** The message a `message.created` event carries for `conversationId`, if any. */
export function messageForConversation(event: EventEnvelope, conversationId: Uuid | null | undefined): Message | null {
  if (event.type !== 'message.created' || !conversationId) return null;
  const payload = event.payload as MessageCreatedPayload;
  return payload?.message?.conversation_id === conversationId ? payload.message : null;
}

export const SENDER_LABEL: Record<Message['sender'], string> = {
  customer: 'Customer',
  bot: 'Bot',
  agent: 'Agent',
  system: 'System',
};

/** `messages` with the text a `message.redacted` event carries for `conversationId` (a card number the
 * customer split over several messages, masked in the earlier parts once the last arrived), or null when
 * the event is not one of those. */
export function applyRedaction(
  messages: readonly Message[],
  event: EventEnvelope,
  conversationId: Uuid | null | undefined,
): Message[] | null {
  if (event.type !== 'message.redacted' || !conversationId) return null;
  const payload = event.payload as { conversation_id?: Uuid; message_id?: Uuid; text?: string };
  if (payload?.conversation_id !== conversationId || typeof payload.text !== 'string') return null;
  const text = payload.text;
  return messages.map((m) => (m.id === payload.message_id ? { ...m, text } : m));
}
