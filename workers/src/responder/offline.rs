//! The offline responder: answers from the intent, the customer's own accounts (verified customers
//! only) and the knowledge base, in the customer's language, with no data leaving the bank's network.
//! It explains and guides; the one thing it does is block a lost or stolen card, only when the classifier is sure
//! and after the customer confirms which card. It never moves money.

use joxai_platform::db::Db;
use joxai_schemas::events::MessageClassified;
use joxai_schemas::types::{EscalationReason, Priority};

use super::Answer;
use super::confirmation::{self, YesNo};
use crate::banking::{BankingError, Card, CoreBanking, format_money};
use crate::knowledge;
use crate::runtime::Failure;

/// Text in both languages; [`Lang::pick`] chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Es,
}

impl Lang {
    pub fn of(code: &str) -> Lang {
        if code.starts_with("es") {
            Lang::Es
        } else {
            Lang::En
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }
    fn pick<'a>(self, en: &'a str, es: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Es => es,
        }
    }
}

const SIGN_IN: (&str, &str) = (
    "For your own account details, please sign in to online banking and open the chat there, so I know it's you.",
    "Para ver los datos de su cuenta, inicie sesión en la banca online y abra el chat desde allí, así sabré que es usted.",
);

/// Intents that ask about the customer's own data: answered with account data when verified.
const PERSONAL: &[&str] = &[
    "account_balance",
    "recent_transactions",
    "card_credit_limit",
    "card_due_date",
    "card_statement",
    "balance_not_updated_after_bank_transfer",
    "balance_not_updated_after_cheque_or_cash_deposit",
];

/// Intents after which the bot offers to block the card (when the classifier is sure, and after the customer confirms).
pub const BLOCK_CARD: &[&str] = &["lost_or_stolen_card", "compromised_card", "freeze_card"];

pub struct OfflineResponder<B> {
    pub bank: B,
    pub db: Db,
    /// Which articles answer which intent, read at most every few seconds.
    pub articles: knowledge::IntentArticles,
    /// The bank's settings: below its low-confidence threshold the bot says it is not sure, the same
    /// threshold the classifier decided with.
    pub settings: joxai_platform::settings::Live,
}

fn banking_failure(e: BankingError) -> Failure {
    Failure::Transient(e.into())
}

impl<B: CoreBanking> OfflineResponder<B> {
    /// The answer to a classified customer message.
    pub async fn answer(&self, q: &MessageClassified) -> Result<Answer, Failure> {
        let lang = Lang::of(&q.language);
        let verified_ref = q
            .customer
            .external_ref
            .as_deref()
            .filter(|_| q.customer.verified);
        let intent = q.intent.as_str();

        if let Some(customer_ref) = verified_ref
            && confirmation::is_bare_answer(&q.text)
            && let Some(question) = self.pending_question(q).await?
        {
            // "7710" or "ok" says nothing of the language: answer in the question's.
            let lang = match joxai_nlu::detect_language(&question) {
                joxai_nlu::Language::Spanish => Lang::Es,
                joxai_nlu::Language::English => Lang::En,
            };
            return self.answer_question(q, &question, lang, customer_ref).await;
        }
        // The classifier sends a card emergency here only when it is sure (see `escalation::decide`); checked again so
        // that nothing is ever blocked on a guess.
        if BLOCK_CARD.contains(&intent) && q.reason == Some(EscalationReason::UrgentIntent) {
            if q.confidence < crate::escalation::policy::ACT_ON_CARD {
                return Ok(not_blocked(lang));
            }
            return self.block_card(q, lang, verified_ref).await;
        }
        match intent {
            "greeting" => return Ok(Answer::reply(lang.pick(
                "Hello! I'm the bank's virtual assistant. I can help with balances, cards, transfers and savings plans. What can I do for you?",
                "¡Hola! Soy el asistente virtual del banco. Puedo ayudarle con saldos, tarjetas, transferencias y planes de ahorro. ¿En qué puedo ayudarle?",
            ))),
            "thanks" => return Ok(Answer::reply(lang.pick("You're welcome! Is there anything else I can help you with?", "¡De nada! ¿Puedo ayudarle en algo más?"))),
            "goodbye" => return Ok(Answer::reply(lang.pick("Thank you for contacting us. Have a good day!", "Gracias por contactarnos. ¡Que tenga un buen día!"))),
            "out_of_scope" => return Ok(Answer::reply(lang.pick(
                "I can only help with banking questions, such as balances, cards, transfers and savings plans.",
                "Solo puedo ayudarle con preguntas bancarias, como saldos, tarjetas, transferencias y planes de ahorro.",
            ))),
            _ => {}
        }
        let low_confidence =
            crate::escalation::policy::tuned(&self.settings.current().settings.escalation)
                .low_confidence;
        if q.confidence < low_confidence {
            return Ok(Answer::reply(lang.pick(
                "I'm not sure I understood. I can help with balances, cards, transfers, and savings or loan plans — could you tell me a bit more? You can also ask to talk to a person at any time.",
                "No estoy seguro de haberle entendido. Puedo ayudarle con saldos, tarjetas, transferencias y planes de ahorro o préstamos. ¿Podría darme más detalles? También puede pedir hablar con una persona en cualquier momento.",
            )));
        }
        if PERSONAL.contains(&intent)
            && let Some(customer_ref) = verified_ref
            && let Some(text) = self.personal(intent, lang, customer_ref).await?
        {
            return Ok(Answer::reply(&text));
        }
        if matches!(intent, "savings_plans" | "loan_plans") {
            let kind = if intent == "savings_plans" {
                "savings"
            } else {
                "loan"
            };
            let products = self.bank.products(kind).await.map_err(banking_failure)?;
            if !products.is_empty() {
                return Ok(Answer::reply(&products_text(&products, kind, lang)));
            }
        }
        let Some(article) = self
            .articles
            .best(&self.db, intent, &q.text, lang.code())
            .await?
        else {
            // Nothing we can say with confidence: a person answers.
            return Ok(Answer::handoff(
                EscalationReason::NeedsHumanAction,
                Priority::Normal,
            ));
        };
        let mut text = article.body;
        if PERSONAL.contains(&intent) && verified_ref.is_none() {
            text = format!("{text} {}", lang.pick(SIGN_IN.0, SIGN_IN.1));
        }
        Ok(Answer::reply(&text))
    }

    async fn personal(
        &self,
        intent: &str,
        lang: Lang,
        customer_ref: &str,
    ) -> Result<Option<String>, Failure> {
        let es = lang == Lang::Es;
        match intent {
            "account_balance"
            | "balance_not_updated_after_bank_transfer"
            | "balance_not_updated_after_cheque_or_cash_deposit" => {
                let accounts = self
                    .bank
                    .accounts(customer_ref)
                    .await
                    .map_err(banking_failure)?;
                if accounts.is_empty() {
                    return Ok(None);
                }
                let lines: Vec<String> = accounts
                    .iter()
                    .filter(|a| a.kind != "credit_card")
                    .map(|a| {
                        format!(
                            "{} (…{}): {} {}",
                            a.name,
                            a.number_last4,
                            format_money(a.available_minor, &a.currency, es),
                            lang.pick("available", "disponible")
                        )
                    })
                    .collect();
                let intro = lang.pick("Here are your balances:", "Estos son sus saldos:");
                let note = if intent == "account_balance" {
                    ""
                } else {
                    lang.pick(
                        " Transfers and deposits can take up to one business day to show.",
                        " Las transferencias e ingresos pueden tardar hasta un día hábil en reflejarse.",
                    )
                };
                Ok(Some(format!("{intro} {}.{note}", lines.join("; "))))
            }
            "recent_transactions" => {
                let transactions = self
                    .bank
                    .recent_transactions(customer_ref, 5)
                    .await
                    .map_err(banking_failure)?;
                if transactions.is_empty() {
                    return Ok(Some(
                        lang.pick(
                            "You have no recent transactions.",
                            "No tiene movimientos recientes.",
                        )
                        .to_owned(),
                    ));
                }
                let lines: Vec<String> = transactions
                    .iter()
                    .map(|t| {
                        let date = t.posted_at.date();
                        let pending = if t.pending {
                            lang.pick(" (pending)", " (pendiente)")
                        } else {
                            ""
                        };
                        format!(
                            "{date}: {} {}{pending}",
                            t.description,
                            format_money(t.amount_minor, &t.currency, es)
                        )
                    })
                    .collect();
                Ok(Some(format!(
                    "{} {}.",
                    lang.pick("Your latest transactions:", "Sus últimos movimientos:"),
                    lines.join("; ")
                )))
            }
            "card_credit_limit" | "card_due_date" | "card_statement" => {
                let cards = self
                    .bank
                    .cards(customer_ref)
                    .await
                    .map_err(banking_failure)?;
                let Some(card) = cards.iter().find(|c| c.kind == "credit") else {
                    return Ok(Some(
                        lang.pick(
                            "You don't have a credit card with us.",
                            "No tiene una tarjeta de crédito con nosotros.",
                        )
                        .to_owned(),
                    ));
                };
                let money = |m: Option<i64>| format_money(m.unwrap_or(0), &card.currency, es);
                let due = card
                    .payment_due_date
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "—".into());
                let text = match intent {
                    "card_credit_limit" => format!(
                        "{} …{}: {}.",
                        lang.pick(
                            "The credit limit of your card",
                            "El límite de crédito de su tarjeta"
                        ),
                        card.last4,
                        money(card.credit_limit_minor)
                    ),
                    "card_due_date" => format!(
                        "{} …{} {} {due} ({} {}).",
                        lang.pick(
                            "The next payment of your card",
                            "El próximo pago de su tarjeta"
                        ),
                        card.last4,
                        lang.pick("is due on", "vence el"),
                        lang.pick("statement balance", "saldo del extracto"),
                        money(card.statement_balance_minor)
                    ),
                    _ => format!(
                        "{} …{}: {} {} {due}. {}",
                        lang.pick(
                            "Your latest statement for the card",
                            "Su último extracto de la tarjeta"
                        ),
                        card.last4,
                        money(card.statement_balance_minor),
                        lang.pick("to pay by", "a pagar antes del"),
                        lang.pick(
                            "The full statement is in the app under Cards → Statements.",
                            "El extracto completo está en la app, en Tarjetas → Extractos."
                        )
                    ),
                };
                Ok(Some(text))
            }
            _ => Ok(None),
        }
    }

    /// Lost, stolen or compromised card, or a card freeze, that the classifier is sure of: ask which card and ask
    /// the customer to confirm before blocking anything. Unverified customers, or a customer without an active card,
    /// go to a person as urgent at once.
    async fn block_card(
        &self,
        q: &MessageClassified,
        lang: Lang,
        verified_ref: Option<&str>,
    ) -> Result<Answer, Failure> {
        let Some(customer_ref) = verified_ref else {
            return Ok(Answer::urgent(lang.pick(
                "I'm sorry to hear that. I'm passing you to a colleague right now as a priority so they can block your card. To block it yourself immediately, sign in to the app and go to Cards → Freeze or block.",
                "Lamento lo ocurrido. Le paso ahora mismo con un compañero de forma prioritaria para bloquear su tarjeta. Para bloquearla usted mismo al instante, acceda a la app y vaya a Tarjetas → Congelar o bloquear.",
            )));
        };
        let cards = self
            .bank
            .cards(customer_ref)
            .await
            .map_err(banking_failure)?;
        let active: Vec<&Card> = cards.iter().filter(|c| c.status == "active").collect();
        let named: Vec<&Card> = {
            let endings = confirmation::card_endings(&q.text);
            active
                .iter()
                .filter(|c| endings.contains(&c.last4))
                .copied()
                .collect()
        };
        let candidates = if named.is_empty() { active } else { named };
        Ok(match candidates.as_slice() {
            [] => Answer::urgent(lang.pick(
                "I'm sorry to hear that. I can't see an active card to block, so I'm passing you to a colleague right now as a priority.",
                "Lamento lo ocurrido. No veo ninguna tarjeta activa que bloquear, así que le paso ahora mismo con un compañero de forma prioritaria.",
            )),
            [card] => ask_to_block(card, lang),
            several => {
                let list = several.iter().map(|c| format!("…{} ({})", c.last4, card_kind(c, lang))).collect::<Vec<_>>().join(lang.pick(" or ", " o "));
                Answer::asking(format!(
                    "{} {list}? {}",
                    lang.pick("I'm sorry to hear that. Which card should I block:", "Lamento lo ocurrido. ¿Qué tarjeta bloqueo:"),
                    lang.pick("Reply with its last four digits.", "Responda con sus cuatro últimas cifras."),
                ))
            }
        })
    }

    /// The bot's last message in the conversation, when it was a question about blocking a card.
    async fn pending_question(&self, q: &MessageClassified) -> Result<Option<String>, Failure> {
        let client = self.db.client().await?;
        let row = Db::timed("pending_question", async {
            let last = client
                .prepare_cached(
                    "SELECT intent, text FROM messages WHERE conversation_id = $1 AND sender = 'bot'
                     ORDER BY created_at DESC, id DESC LIMIT 1",
                )
                .await?;
            Ok(client.query_opt(&last, &[&q.conversation_id]).await?)
        })
        .await?;
        Ok(row
            .filter(|r| r.get::<_, Option<&str>>(0) == Some(confirmation::CONFIRM_BLOCK_CARD))
            .map(|r| r.get(1)))
    }

    /// The customer's answer to "Block the card ending 4242?" or "Which card should I block?". Only "yes" about
    /// one named card blocks it; anything else hands over as urgent without touching the account.
    async fn answer_question(
        &self,
        q: &MessageClassified,
        question: &str,
        lang: Lang,
        customer_ref: &str,
    ) -> Result<Answer, Failure> {
        let asked = confirmation::card_endings(question);
        let cards = self
            .bank
            .cards(customer_ref)
            .await
            .map_err(banking_failure)?;
        let card_of = |last4: &str| {
            cards
                .iter()
                .find(|c| c.last4 == last4 && c.status == "active")
        };
        if asked.len() > 1 {
            // "Which card?": the customer names one of the cards offered, then confirms it.
            let chosen: Vec<String> = confirmation::card_endings(&q.text)
                .into_iter()
                .filter(|e| asked.contains(e))
                .collect();
            if let [last4] = chosen.as_slice()
                && let Some(card) = card_of(last4)
            {
                return Ok(ask_to_block(card, lang));
            }
            return Ok(not_blocked(lang));
        }
        match (
            confirmation::yes_or_no(&q.text),
            asked.first().and_then(|l| card_of(l)),
        ) {
            (Some(YesNo::Yes), Some(card)) => {
                let card = self
                    .bank
                    .block_card(customer_ref, card.id, "lost_or_stolen_card")
                    .await
                    .map_err(banking_failure)?;
                Ok(Answer::urgent(&format!(
                    "{} …{}. {}",
                    lang.pick("I've blocked your card", "He bloqueado su tarjeta"),
                    card.last4,
                    lang.pick(
                        "Nobody can use it now. A colleague will join in a moment to help with a replacement and check any recent payments.",
                        "Ya nadie puede usarla. Un compañero se unirá en un momento para ayudarle con una nueva tarjeta y revisar los pagos recientes.",
                    )
                )))
            }
            _ => Ok(not_blocked(lang)),
        }
    }
}

/// "Block the card ending 4242? Yes / No" — the widget shows the two buttons for this question.
fn ask_to_block(card: &Card, lang: Lang) -> Answer {
    Answer::asking(match lang {
        Lang::En => format!(
            "I'm sorry to hear that. Block the {} card ending {}? Yes / No",
            card_kind(card, lang),
            card.last4
        ),
        Lang::Es => format!(
            "Lamento lo ocurrido. ¿Bloqueo la tarjeta {} acabada en {}? Sí / No",
            card_kind(card, lang),
            card.last4
        ),
    })
}

fn card_kind(card: &Card, lang: Lang) -> &'static str {
    match (card.kind.as_str(), lang) {
        ("credit", Lang::En) => "credit",
        ("credit", Lang::Es) => "de crédito",
        (_, Lang::En) => "debit",
        (_, Lang::Es) => "de débito",
    }
}

/// Nothing was blocked (the customer said no, or the answer was unclear): a person takes over at once.
fn not_blocked(lang: Lang) -> Answer {
    Answer::urgent(lang.pick(
        "All right, I haven't blocked anything. I'm passing you to a colleague right now as a priority; you can also freeze or block a card yourself in the app under Cards → Freeze or block.",
        "De acuerdo, no he bloqueado nada. Le paso ahora mismo con un compañero de forma prioritaria; también puede congelar o bloquear una tarjeta usted mismo en la app, en Tarjetas → Congelar o bloquear.",
    ))
}

fn products_text(products: &[crate::banking::Product], kind: &str, lang: Lang) -> String {
    let es = lang == Lang::Es;
    let lines: Vec<String> = products
        .iter()
        .map(|p| {
            let name = if es { &p.name_es } else { &p.name_en };
            let rate = format!("{}.{:02} %", p.rate_bps / 100, p.rate_bps % 100);
            let term = p
                .term_months
                .map(|m| format!(", {m} {}", lang.pick("months", "meses")))
                .unwrap_or_default();
            let label = if kind == "savings" {
                lang.pick("interest", "interés")
            } else {
                lang.pick("from", "desde")
            };
            let min = if p.min_amount_minor > 0 {
                format!(
                    ", {} {}",
                    lang.pick("minimum", "mínimo"),
                    format_money(p.min_amount_minor, &p.currency, es)
                )
            } else {
                String::new()
            };
            format!("{name} ({label} {rate}{term}{min})")
        })
        .collect();
    let (intro, outro) = if kind == "savings" {
        (
            lang.pick("Our savings plans:", "Nuestros planes de ahorro:"),
            lang.pick(
                "You can open one in the app under Savings, or ask for an adviser.",
                "Puede abrirlos en la app, en Ahorro, o pedir un asesor.",
            ),
        )
    } else {
        (
            lang.pick("Our loans:", "Nuestros préstamos:"),
            lang.pick(
                "The app's simulator shows your monthly payment before you apply; an adviser can help you choose.",
                "El simulador de la app muestra la cuota mensual antes de solicitarlo; un asesor puede ayudarle a elegir.",
            ),
        )
    };
    format!("{intro} {}. {outro}", lines.join("; "))
}
