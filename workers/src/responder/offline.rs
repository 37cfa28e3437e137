//! The offline responder: answers from the intent, in the customer's language, with no data leaving
//! the bank's network. It explains and guides; it never moves money.

use joxai_schemas::events::MessageClassified;
use joxai_schemas::types::{EscalationReason, Priority};

use super::Answer;

struct Text {
    en: &'static str,
    es: &'static str,
}

/// Answers by intent. Intents the model knows but this table does not list get [`FALLBACK`].
const ANSWERS: &[(&[&str], Text)] = &[
    (&["greeting"], Text {
        en: "Hello! I'm the bank's virtual assistant. I can help with balances, cards, transfers and savings plans. What can I do for you?",
        es: "¡Hola! Soy el asistente virtual del banco. Puedo ayudarle con saldos, tarjetas, transferencias y planes de ahorro. ¿En qué puedo ayudarle?",
    }),
    (&["thanks"], Text {
        en: "You're welcome! Is there anything else I can help you with?",
        es: "¡De nada! ¿Puedo ayudarle en algo más?",
    }),
    (&["goodbye"], Text {
        en: "Thank you for contacting us. Have a good day!",
        es: "Gracias por contactarnos. ¡Que tenga un buen día!",
    }),
    (&["account_balance", "balance_not_updated_after_bank_transfer", "balance_not_updated_after_cheque_or_cash_deposit"], Text {
        en: "To see your balance, sign in to online banking or the app: your available balance is on the home screen. Transfers and cheque deposits can take up to one business day to show. If you sign in here, I can tell you your balance directly.",
        es: "Para ver su saldo, acceda a la banca online o a la app: el saldo disponible aparece en la pantalla de inicio. Las transferencias y los cheques pueden tardar hasta un día hábil en reflejarse. Si inicia sesión aquí, puedo decirle su saldo directamente.",
    }),
    (&["recent_transactions"], Text {
        en: "Your recent transactions are listed in the app under Accounts → Activity. If you sign in here, I can list your latest ones.",
        es: "Sus movimientos recientes están en la app, en Cuentas → Actividad. Si inicia sesión aquí, puedo mostrarle los últimos.",
    }),
    (&["card_arrival", "card_delivery_estimate"], Text {
        en: "New cards usually arrive within 5–7 business days. If it has been longer than 10 business days, tell me and I'll pass you to a colleague who can send a replacement.",
        es: "Las tarjetas nuevas suelen llegar en 5–7 días hábiles. Si han pasado más de 10 días hábiles, dígamelo y le paso con un compañero que puede enviarle una nueva.",
    }),
    (&["activate_my_card"], Text {
        en: "You can activate your card in the app under Cards → Activate, or by making a chip-and-PIN payment at any shop or cash machine.",
        es: "Puede activar su tarjeta en la app, en Tarjetas → Activar, o haciendo un pago con chip y PIN en cualquier comercio o cajero.",
    }),
    (&["change_pin", "get_physical_card", "order_physical_card", "card_linking", "getting_spare_card", "virtual_card_not_working", "getting_virtual_card", "card_not_working", "declined_card_payment", "card_acceptance", "pin_blocked", "card_about_to_expire", "card_credit_limit", "card_due_date", "card_statement"], Text {
        en: "You can manage your cards in the app under Cards: see your limit, statement and due date, change your PIN, freeze or unfreeze the card, and order a replacement. If a payment was declined, check that the card isn't frozen and that you have enough available credit or balance.",
        es: "Puede gestionar sus tarjetas en la app, en Tarjetas: ver su límite, extracto y fecha de pago, cambiar el PIN, congelar o descongelar la tarjeta y pedir una nueva. Si un pago fue rechazado, compruebe que la tarjeta no esté congelada y que tenga saldo o crédito disponible.",
    }),
    (&["transfer_timing", "pending_transfer", "transfer_not_received_by_recipient", "transfer_into_account", "beneficiary_not_allowed", "cancel_transfer", "failed_transfer", "receiving_money", "declined_transfer", "transfer_fee_charged"], Text {
        en: "Transfers within the country usually arrive within minutes and always within one business day; international transfers take 1–3 business days. You can follow a transfer's status in the app under Payments. I can't move money myself, but I can pass you to a colleague if a transfer is stuck.",
        es: "Las transferencias nacionales suelen llegar en minutos y siempre en un día hábil; las internacionales tardan de 1 a 3 días hábiles. Puede seguir el estado en la app, en Pagos. Yo no puedo mover dinero, pero puedo pasarle con un compañero si una transferencia está bloqueada.",
    }),
    (&["savings_plans"], Text {
        en: "We offer an instant-access savings account and fixed-term deposits of 6, 12 and 24 months; longer terms pay a higher rate. You can open one in the app under Savings, or I can pass you to an adviser.",
        es: "Ofrecemos una cuenta de ahorro con acceso inmediato y depósitos a plazo fijo de 6, 12 y 24 meses; a mayor plazo, mayor interés. Puede abrirlos en la app, en Ahorro, o puedo pasarle con un asesor.",
    }),
    (&["loan_plans"], Text {
        en: "We offer personal loans and mortgages. The rate depends on the amount, the term and your profile; the app's loan simulator shows your monthly payment before you apply. An adviser can help you choose.",
        es: "Ofrecemos préstamos personales e hipotecas. El tipo depende del importe, el plazo y su perfil; el simulador de la app muestra la cuota mensual antes de solicitarlo. Un asesor puede ayudarle a elegir.",
    }),
    (&["exchange_rate", "exchange_charge", "exchange_via_app", "fiat_currency_support", "supported_cards_and_currencies", "card_payment_wrong_exchange_rate", "wrong_exchange_rate_for_cash_withdrawal"], Text {
        en: "We use the market exchange rate at the moment of the payment, plus the fee shown in the app before you confirm. You can exchange between the currencies we support in the app under Accounts → Exchange.",
        es: "Usamos el tipo de cambio de mercado en el momento del pago, más la comisión que la app muestra antes de confirmar. Puede cambiar entre las divisas que admitimos en la app, en Cuentas → Cambio.",
    }),
    (&["top_up_by_bank_transfer_charge", "top_up_by_card_charge", "top_up_by_cash_or_cheque", "top_up_failed", "top_up_limits", "top_up_reverted", "topping_up_by_card", "pending_top_up", "verify_top_up", "automatic_top_up", "apple_pay_or_google_pay"], Text {
        en: "You can add money by bank transfer, debit card, Apple Pay or Google Pay in the app under Add money. Card top-ups are usually instant; bank transfers take up to one business day.",
        es: "Puede añadir dinero por transferencia, tarjeta de débito, Apple Pay o Google Pay en la app, en Añadir dinero. Las recargas con tarjeta suelen ser inmediatas; las transferencias tardan hasta un día hábil.",
    }),
];

const FALLBACK: Text = Text {
    en: "I'm not sure I understood. I can help with balances, cards, transfers, and savings or loan plans — could you tell me a bit more? You can also ask to talk to a person at any time.",
    es: "No estoy seguro de haberle entendido. Puedo ayudarle con saldos, tarjetas, transferencias y planes de ahorro o préstamos. ¿Podría darme más detalles? También puede pedir hablar con una persona en cualquier momento.",
};

const OUT_OF_SCOPE: Text = Text {
    en: "I can only help with banking questions, such as balances, cards, transfers and savings plans.",
    es: "Solo puedo ayudarle con preguntas bancarias, como saldos, tarjetas, transferencias y planes de ahorro.",
};

fn pick(text: &Text, language: &str) -> String {
    if language == "es" { text.es.to_owned() } else { text.en.to_owned() }
}

/// The offline answer to a classified customer message.
pub fn answer(q: &MessageClassified) -> Answer {
    if q.intent == "out_of_scope" {
        return Answer::Reply(pick(&OUT_OF_SCOPE, &q.language));
    }
    if q.confidence < crate::escalation::policy::LOW_CONFIDENCE {
        return Answer::Reply(pick(&FALLBACK, &q.language));
    }
    match ANSWERS.iter().find(|(intents, _)| intents.contains(&q.intent.as_str())) {
        Some((_, text)) => Answer::Reply(pick(text, &q.language)),
        None => Answer::Handoff {
            reason: EscalationReason::NeedsHumanAction,
            priority: Priority::Normal,
            reply: None,
        },
    }
}
