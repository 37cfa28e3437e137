//! The offline responder: answers from the intent, the customer's own accounts (verified customers
//! only) and the knowledge base, in the customer's language, with no data leaving the bank's network.
//! It explains and guides; the one thing it does is block a lost or stolen card. It never moves money.

use joxai_nlu::entities::Entity;
use joxai_platform::db::Db;
use joxai_schemas::events::MessageClassified;
use joxai_schemas::types::{EscalationReason, Priority};

use super::Answer;
use crate::banking::{BankingError, CoreBanking, format_money};
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
        if code.starts_with("es") { Lang::Es } else { Lang::En }
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

/// Intents after which the card must be blocked at once.
pub const BLOCK_CARD: &[&str] = &["lost_or_stolen_card", "compromised_card"];

pub struct OfflineResponder<B> {
    pub bank: B,
    pub db: Db,
    /// Which articles answer which intent, read at most every few seconds.
    pub articles: knowledge::IntentArticles,
}

fn banking_failure(e: BankingError) -> Failure {
    Failure::Transient(e.into())
}

impl<B: CoreBanking> OfflineResponder<B> {
    /// The answer to a classified customer message.
    pub async fn answer(&self, q: &MessageClassified) -> Result<Answer, Failure> {
        let lang = Lang::of(&q.language);
        let verified_ref = q.customer.external_ref.as_deref().filter(|_| q.customer.verified);
        let intent = q.intent.as_str();

        if BLOCK_CARD.contains(&intent) {
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
        if q.confidence < crate::escalation::policy::LOW_CONFIDENCE {
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
            let kind = if intent == "savings_plans" { "savings" } else { "loan" };
            let products = self.bank.products(kind).await.map_err(banking_failure)?;
            if !products.is_empty() {
                return Ok(Answer::reply(&products_text(&products, kind, lang)));
            }
        }
        let Some(article) = self.articles.best(&self.db, intent, &q.text, lang.code()).await? else {
            // Nothing we can say with confidence: a person answers.
            return Ok(Answer::handoff(EscalationReason::NeedsHumanAction, Priority::Normal));
        };
        let mut text = article.body;
        if PERSONAL.contains(&intent) && verified_ref.is_none() {
            text = format!("{text} {}", lang.pick(SIGN_IN.0, SIGN_IN.1));
        }
        Ok(Answer::reply(&text))
    }

    async fn personal(&self, intent: &str, lang: Lang, customer_ref: &str) -> Result<Option<String>, Failure> {
        let es = lang == Lang::Es;
        match intent {
            "account_balance" | "balance_not_updated_after_bank_transfer" | "balance_not_updated_after_cheque_or_cash_deposit" => {
                let accounts = self.bank.accounts(customer_ref).await.map_err(banking_failure)?;
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
                let transactions = self.bank.recent_transactions(customer_ref, 5).await.map_err(banking_failure)?;
                if transactions.is_empty() {
                    return Ok(Some(lang.pick("You have no recent transactions.", "No tiene movimientos recientes.").to_owned()));
                }
                let lines: Vec<String> = transactions
                    .iter()
                    .map(|t| {
                        let date = t.posted_at.date();
                        let pending = if t.pending { lang.pick(" (pending)", " (pendiente)") } else { "" };
                        format!("{date}: {} {}{pending}", t.description, format_money(t.amount_minor, &t.currency, es))
                    })
                    .collect();
                Ok(Some(format!("{} {}.", lang.pick("Your latest transactions:", "Sus últimos movimientos:"), lines.join("; "))))
            }
            "card_credit_limit" | "card_due_date" | "card_statement" => {
                let cards = self.bank.cards(customer_ref).await.map_err(banking_failure)?;
                let Some(card) = cards.iter().find(|c| c.kind == "credit") else {
                    return Ok(Some(lang.pick("You don't have a credit card with us.", "No tiene una tarjeta de crédito con nosotros.").to_owned()));
                };
                let money = |m: Option<i64>| format_money(m.unwrap_or(0), &card.currency, es);
                let due = card.payment_due_date.map(|d| d.to_string()).unwrap_or_else(|| "—".into());
                let text = match intent {
                    "card_credit_limit" => format!(
                        "{} …{}: {}.",
                        lang.pick("The credit limit of your card", "El límite de crédito de su tarjeta"),
                        card.last4,
                        money(card.credit_limit_minor)
                    ),
                    "card_due_date" => format!(
                        "{} …{} {} {due} ({} {}).",
                        lang.pick("The next payment of your card", "El próximo pago de su tarjeta"),
                        card.last4,
                        lang.pick("is due on", "vence el"),
                        lang.pick("statement balance", "saldo del extracto"),
                        money(card.statement_balance_minor)
                    ),
                    _ => format!(
                        "{} …{}: {} {} {due}. {}",
                        lang.pick("Your latest statement for the card", "Su último extracto de la tarjeta"),
                        card.last4,
                        money(card.statement_balance_minor),
                        lang.pick("to pay by", "a pagar antes del"),
                        lang.pick("The full statement is in the app under Cards → Statements.", "El extracto completo está en la app, en Tarjetas → Extractos.")
                    ),
                };
                Ok(Some(text))
            }
            _ => Ok(None),
        }
    }

    /// Lost, stolen or compromised card: block it now (verified customers), confirm, and hand the
    /// conversation to a person as urgent in every case.
    async fn block_card(&self, q: &MessageClassified, lang: Lang, verified_ref: Option<&str>) -> Result<Answer, Failure> {
        let urgent = |reply: String| Answer {
            reply: Some(reply),
            handoff: Some((EscalationReason::UrgentIntent, Priority::Urgent)),
        };
        let Some(customer_ref) = verified_ref else {
            return Ok(urgent(lang.pick(
                "I'm sorry to hear that. I'm passing you to a colleague right now as a priority so they can block your card. To block it yourself immediately, sign in to the app and go to Cards → Freeze or block.",
                "Lamento lo ocurrido. Le paso ahora mismo con un compañero de forma prioritaria para bloquear su tarjeta. Para bloquearla usted mismo al instante, acceda a la app y vaya a Tarjetas → Congelar o bloquear.",
            ).to_owned()));
        };
        let cards = self.bank.cards(customer_ref).await.map_err(banking_failure)?;
        let named: Vec<String> = joxai_nlu::entities::extract(&q.text)
            .into_iter()
            .filter_map(|e| match e {
                Entity::CardLast4(last4) => Some(last4),
                _ => None,
            })
            .collect();
        let active: Vec<_> = cards.iter().filter(|c| c.status == "active").collect();
        // Block the card the customer named; with no name, block their only active card. With
        // several cards and no name, don't guess: the colleague confirms which one.
        let targets: Vec<_> = if !named.is_empty() {
            active.iter().filter(|c| named.contains(&c.last4)).copied().collect()
        } else if active.len() == 1 {
            active.clone()
        } else {
            vec![]
        };
        let mut blocked = Vec::new();
        for card in targets {
            let card = self.bank.block_card(customer_ref, card.id, &q.intent).await.map_err(banking_failure)?;
            blocked.push(card.last4);
        }
        let reply = if blocked.is_empty() {
            lang.pick(
                "I'm sorry to hear that. I couldn't tell which card it is, so I'm passing you to a colleague right now as a priority to block it. You can also block it yourself in the app under Cards → Freeze or block.",
                "Lamento lo ocurrido. No he podido saber de qué tarjeta se trata, así que le paso ahora mismo con un compañero de forma prioritaria para bloquearla. También puede bloquearla usted en la app, en Tarjetas → Congelar o bloquear.",
            )
            .to_owned()
        } else {
            let list = blocked.iter().map(|l| format!("…{l}")).collect::<Vec<_>>().join(", ");
            format!(
                "{} {list}. {}",
                lang.pick("I've blocked your card", "He bloqueado su tarjeta"),
                lang.pick(
                    "Nobody can use it now. A colleague will join in a moment to help with a replacement and check any recent payments.",
                    "Ya nadie puede usarla. Un compañero se unirá en un momento para ayudarle con una nueva tarjeta y revisar los pagos recientes.",
                )
            )
        };
        Ok(urgent(reply))
    }
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
            let label = if kind == "savings" { lang.pick("interest", "interés") } else { lang.pick("from", "desde") };
            let min = if p.min_amount_minor > 0 {
                format!(", {} {}", lang.pick("minimum", "mínimo"), format_money(p.min_amount_minor, &p.currency, es))
            } else {
                String::new()
            };
            format!("{name} ({label} {rate}{term}{min})")
        })
        .collect();
    let (intro, outro) = if kind == "savings" {
        (
            lang.pick("Our savings plans:", "Nuestros planes de ahorro:"),
            lang.pick("You can open one in the app under Savings, or ask for an adviser.", "Puede abrirlos en la app, en Ahorro, o pedir un asesor."),
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
