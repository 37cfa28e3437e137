// Every string the customer sees, in English and Spanish. The locale comes from the loader's
// data-locale (or the bank page's <html lang>), and is also sent when the session starts so the
// bot and the agents' canned texts answer in the same language.

import type { Locale } from '../shared/protocol';

export interface Strings {
  close: string;
  endChat: string;
  assistant: string;
  you: string;
  agentFallback: string;
  /** Who the customer chats with when the agent's name is unknown ("Chatting with our team"). */
  agentTeam: string;
  system: string;
  statusBot: string;
  statusWaiting: string;
  statusAgent: (name: string) => string;
  welcome: (title: string) => string;
  conversationLabel: string;
  messageLabel: string;
  placeholder: string;
  send: string;
  talkToPerson: string;
  requestingPerson: string;
  waitingBanner: (ticket: string | null) => string;
  botTyping: string;
  agentTyping: (name: string | null) => string;
  offline: string;
  reconnecting: string;
  starting: string;
  startFailed: string;
  stateQueued: string;
  stateSending: string;
  stateSent: string;
  stateDelivered: string;
  stateFailed: string;
  retry: string;
  /** The group of Yes / No buttons under the bot's question before it blocks a card. */
  confirmLabel: string;
  tooLong: (max: number) => string;
  charsLeft: (n: number) => string;
  closedNotice: string;
  expiredNotice: string;
  newConversation: string;
  rateTitle: string;
  rateLegend: string;
  stars: (n: number) => string;
  commentLabel: string;
  submitRating: string;
  skip: string;
  ratingThanks: string;
  ratingFailed: string;
  ratingUnavailable: string;
  confirmEnd: string;
  confirmEndYes: string;
  cancel: string;
  verified: string;
  opensNewTab: string;
  /** The optional email field, offered once a person has the conversation, and after it ends. */
  emailLabel: string;
  emailHint: string;
  emailSave: string;
  emailSaving: string;
  emailInvalid: string;
  emailCardNumber: string;
  emailFailed: string;
  emailSaved: (masked: string) => string;
  emailTranscript: string;
  emailTranscriptSent: (masked: string) => string;
  emailTranscriptFailed: string;
}

const en: Strings = {
  close: 'Close chat',
  endChat: 'End chat',
  assistant: 'Virtual assistant',
  you: 'You',
  agentFallback: 'Agent',
  agentTeam: 'our team',
  system: 'Notice',
  statusBot: 'Virtual assistant',
  statusWaiting: 'Waiting for a person',
  statusAgent: (name) => `Chatting with ${name}`,
  welcome: (title) => `Hello! Welcome to ${title}. Ask me about your accounts, cards, transfers or anything else.`,
  conversationLabel: 'Conversation',
  messageLabel: 'Your message',
  placeholder: 'Type your message…',
  send: 'Send',
  talkToPerson: 'Talk to a person',
  requestingPerson: 'Asking for a person…',
  waitingBanner: (ticket) =>
    ticket ? `You're waiting for a person (ticket ${ticket}). Stay here; they'll join shortly.` : `You're waiting for a person. Stay here; they'll join shortly.`,
  botTyping: 'The assistant is typing…',
  agentTyping: (name) => (name ? `${name} is typing…` : 'The agent is typing…'),
  offline: "You're offline. Your messages will be sent when you're back online.",
  reconnecting: 'Reconnecting…',
  starting: 'Starting your chat…',
  startFailed: "We couldn't start the chat. Retrying…",
  stateQueued: 'Waiting for connection',
  stateSending: 'Sending…',
  stateSent: 'Sent',
  stateDelivered: 'Delivered',
  stateFailed: 'Not sent',
  retry: 'Retry',
  confirmLabel: 'Answer the question',
  tooLong: (max) => `Messages can be at most ${max} characters.`,
  charsLeft: (n) => `${n} characters left`,
  closedNotice: 'This conversation has ended.',
  expiredNotice: 'This conversation has expired.',
  newConversation: 'Start a new conversation',
  rateTitle: 'How did we do?',
  rateLegend: 'Rate this conversation from 1 to 5 stars',
  stars: (n) => (n === 1 ? '1 star' : `${n} stars`),
  commentLabel: 'Anything to add? (optional)',
  submitRating: 'Send rating',
  skip: 'Skip',
  ratingThanks: 'Thank you for your feedback!',
  ratingFailed: "We couldn't send your rating. Please try again.",
  ratingUnavailable: 'Rating is not available right now.',
  confirmEnd: 'End this conversation?',
  confirmEndYes: 'End chat',
  cancel: 'Cancel',
  verified: 'Signed in',
  opensNewTab: '(opens in a new tab)',
  emailLabel: 'Your email (optional)',
  emailHint: "Leave your email and we'll write to you if you leave the chat.",
  emailSave: 'Save email',
  emailSaving: 'Saving…',
  emailInvalid: 'Please type an email address like name@example.com.',
  emailCardNumber: 'That looks like a card number. Please type only your email address.',
  emailFailed: "We couldn't save your email. Please try again.",
  emailSaved: (masked) => `We'll write to ${masked} if you leave the chat.`,
  emailTranscript: 'Email me this conversation',
  emailTranscriptSent: (masked) => `We're sending this conversation to ${masked}.`,
  emailTranscriptFailed: "We couldn't send the conversation. Please try again.",
};

const es: Strings = {
  close: 'Cerrar chat',
  endChat: 'Terminar chat',
  assistant: 'Asistente virtual',
  you: 'Usted',
  agentFallback: 'Agente',
  agentTeam: 'nuestro equipo',
  system: 'Aviso',
  statusBot: 'Asistente virtual',
  statusWaiting: 'Esperando a una persona',
  statusAgent: (name) => `Hablando con ${name}`,
  welcome: (title) =>
    `¡Hola! Bienvenido a ${title}. Pregúnteme por sus cuentas, tarjetas, transferencias o cualquier otra cosa.`,
  conversationLabel: 'Conversación',
  messageLabel: 'Su mensaje',
  placeholder: 'Escriba su mensaje…',
  send: 'Enviar',
  talkToPerson: 'Hablar con una persona',
  requestingPerson: 'Pidiendo una persona…',
  waitingBanner: (ticket) =>
    ticket
      ? `Está esperando a una persona (caso ${ticket}). No cierre el chat; se unirá en breve.`
      : 'Está esperando a una persona. No cierre el chat; se unirá en breve.',
  botTyping: 'El asistente está escribiendo…',
  agentTyping: (name) => (name ? `${name} está escribiendo…` : 'El agente está escribiendo…'),
  offline: 'Sin conexión. Sus mensajes se enviarán cuando vuelva la conexión.',
  reconnecting: 'Reconectando…',
  starting: 'Iniciando el chat…',
  startFailed: 'No pudimos iniciar el chat. Reintentando…',
  stateQueued: 'Esperando conexión',
  stateSending: 'Enviando…',
  stateSent: 'Enviado',
  stateDelivered: 'Entregado',
  stateFailed: 'No enviado',
  retry: 'Reintentar',
  confirmLabel: 'Responda a la pregunta',
  tooLong: (max) => `Los mensajes pueden tener como máximo ${max} caracteres.`,
  charsLeft: (n) => `Quedan ${n} caracteres`,
  closedNotice: 'Esta conversación ha terminado.',
  expiredNotice: 'Esta conversación ha caducado.',
  newConversation: 'Empezar una conversación nueva',
  rateTitle: '¿Qué tal le hemos atendido?',
  rateLegend: 'Valore esta conversación de 1 a 5 estrellas',
  stars: (n) => (n === 1 ? '1 estrella' : `${n} estrellas`),
  commentLabel: '¿Algo más que añadir? (opcional)',
  submitRating: 'Enviar valoración',
  skip: 'Omitir',
  ratingThanks: '¡Gracias por su opinión!',
  ratingFailed: 'No pudimos enviar su valoración. Inténtelo de nuevo.',
  ratingUnavailable: 'La valoración no está disponible ahora.',
  confirmEnd: '¿Terminar esta conversación?',
  confirmEndYes: 'Terminar chat',
  cancel: 'Cancelar',
  verified: 'Identificado',
  opensNewTab: '(se abre en una pestaña nueva)',
  emailLabel: 'Su correo electrónico (opcional)',
  emailHint: 'Déjenos su correo y le escribiremos si sale del chat.',
  emailSave: 'Guardar correo',
  emailSaving: 'Guardando…',
  emailInvalid: 'Escriba una dirección de correo como nombre@ejemplo.com.',
  emailCardNumber: 'Parece un número de tarjeta. Escriba solo su dirección de correo.',
  emailFailed: 'No pudimos guardar su correo. Inténtelo de nuevo.',
  emailSaved: (masked) => `Le escribiremos a ${masked} si sale del chat.`,
  emailTranscript: 'Enviarme esta conversación por correo',
  emailTranscriptSent: (masked) => `Le enviamos esta conversación a ${masked}.`,
  emailTranscriptFailed: 'No pudimos enviar la conversación. Inténtelo de nuevo.',
};

export const STRINGS: Record<Locale, Strings> = { en, es };
