// Yes / No buttons under the bot's question before it acts on the customer's account ("Block the debit card ending
// 4242? Yes / No"). The bot only acts after an explicit "Yes", so the buttons send exactly the words the bot reads
// (see workers/src/responder/confirmation.rs); typing the answer works the same way.
import type { ChatLine } from './chat';

/** The bot's question, when `line` is one: the card ending it names and the two answers, in its language. */
export function confirmationOf(line: ChatLine | undefined): { card: string; yes: string; no: string } | null {
  if (!line || line.kind !== 'message' || line.sender !== 'bot') return null;
  const english = /card ending (\d{4})\? Yes \/ No$/.exec(line.text);
  if (english) return { card: english[1], yes: 'Yes', no: 'No' };
  const spanish = /acabada en (\d{4})\? Sí \/ No$/.exec(line.text);
  if (spanish) return { card: spanish[1], yes: 'Sí', no: 'No' };
  return null;
}

/** The card endings offered when the bot asks which card to block ("…4921 (debit) or …7710 (credit)? Reply with its last four digits."). */
export function cardChoiceOf(line: ChatLine | undefined): string[] {
  if (!line || line.kind !== 'message' || line.sender !== 'bot') return [];
  if (!/(Reply with its last four digits|Responda con sus cuatro últimas cifras)\.$/.test(line.text)) return [];
  return [...line.text.matchAll(/…(\d{4})/g)].map((m) => m[1]);
}

/**
 * The buttons, shown only while the question is the last line of the conversation: once the customer answers (or
 * writes anything else) they go away, so an old question can never be answered twice.
 */
export function ConfirmButtons({ lines, onAnswer, label }: { lines: ChatLine[]; onAnswer: (text: string) => void; label: string }) {
  const last = lines[lines.length - 1];
  const choices = cardChoiceOf(last);
  if (choices.length > 1) {
    // One button per card: it sends the card's last four digits, which the bot reads as the answer.
    return (
      <div className="confirm" role="group" aria-label={label} data-testid="card-choice">
        {choices.map((card) => (
          <button key={card} type="button" className="confirm-no" onClick={() => onAnswer(card)}>
            …{card}
          </button>
        ))}
      </div>
    );
  }
  const question = confirmationOf(last);
  if (!question) return null;
  return (
    <div className="confirm" role="group" aria-label={label} data-testid="confirm-buttons" data-card={question.card}>
      <button type="button" className="confirm-yes" onClick={() => onAnswer(question.yes)}>
        {question.yes}
      </button>
      <button type="button" className="confirm-no" onClick={() => onAnswer(question.no)}>
        {question.no}
      </button>
    </div>
  );
}
