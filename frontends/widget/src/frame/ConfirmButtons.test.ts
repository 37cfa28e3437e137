import { describe, expect, it } from 'vitest';
import { cardChoiceOf, confirmationOf } from './ConfirmButtons';
import type { ChatLine } from './chat';

const bot = (text: string): ChatLine => ({ key: 'k', kind: 'message', sender: 'bot', text, createdAt: '' });

describe('confirmationOf', () => {
  it('reads the card ending and the answers of the English and Spanish questions', () => {
    expect(confirmationOf(bot("I'm sorry to hear that. Block the debit card ending 4242? Yes / No"))).toEqual({ card: '4242', yes: 'Yes', no: 'No' });
    expect(confirmationOf(bot('Lamento lo ocurrido. ¿Bloqueo la tarjeta de débito acabada en 5512? Sí / No'))).toEqual({ card: '5512', yes: 'Sí', no: 'No' });
  });

  it('shows nothing for other lines, or for the same words from the customer or an agent', () => {
    expect(confirmationOf(bot('Your balance is €830.10.'))).toBeNull();
    expect(confirmationOf({ ...bot('Block the card ending 4242? Yes / No'), sender: 'customer' })).toBeNull();
    expect(confirmationOf({ ...bot('Block the card ending 4242? Yes / No'), sender: 'agent' })).toBeNull();
    expect(confirmationOf(undefined)).toBeNull();
  });
});

describe('cardChoiceOf', () => {
  it('reads the cards offered when the bot asks which one to block', () => {
    expect(cardChoiceOf(bot("I'm sorry to hear that. Which card should I block: …4921 (debit) or …7710 (credit)? Reply with its last four digits."))).toEqual(['4921', '7710']);
    expect(cardChoiceOf(bot('Lamento lo ocurrido. ¿Qué tarjeta bloqueo: …4921 (de débito) o …7710 (de crédito)? Responda con sus cuatro últimas cifras.'))).toEqual(['4921', '7710']);
    expect(cardChoiceOf(bot('Your card …4921 is active.'))).toEqual([]);
  });
});
