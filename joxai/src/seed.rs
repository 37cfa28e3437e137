//! Demo data for a laptop or a demo: staff accounts, two demo bank customers with accounts, cards and
//! transactions, the bank's savings and loan products, the knowledge base, and the demo bank's name and
//! colour. Idempotent: running it again resets the demo passwords and adds what is missing, and never
//! overwrites edited articles or settings.
//! Never run it against a production database.

use joxai_platform::Platform;
use joxai_platform::settings::SystemSettings;
use serde::Deserialize;
use uuid::Uuid;

pub const DEMO_STAFF: &[(&str, &str, &str)] = &[
    ("admin@joxai.local", "Ada Admin", "admin"),
    ("supervisor@joxai.local", "Sam Supervisor", "supervisor"),
    ("agent@joxai.local", "Alex Agent", "agent"),
];

/// The demo bank customers a signed identity can name (see `/demo/identity` in demo mode).
pub const DEMO_CUSTOMERS: &[(&str, &str)] =
    &[("CUST-1001", "Ana García"), ("CUST-1002", "John Smith")];

/// The knowledge base the product ships with (bank FAQ, English and Spanish).
const KNOWLEDGE_BASE: &str = include_str!("../../nlu/data/knowledge_base.json");

#[derive(Deserialize)]
struct SeedArticle {
    slug: String,
    locale: String,
    title: String,
    body: String,
    intents: Vec<String>,
    tags: Vec<String>,
}

/// A stable id for a seeded row, so seeding twice finds the same rows.
fn seed_id(name: &str) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("joxai-demo:{name}").as_bytes(),
    )
}

/// Create (or reset the password of) the demo staff, and seed the demo bank and knowledge base.
pub async fn seed_demo(platform: &Platform, password: &str) -> anyhow::Result<()> {
    let hash = joxai_ingress::passwords::hash_async(password.to_owned()).await?;
    let mut client = platform.db.client().await?;
    for (email, name, role) in DEMO_STAFF {
        client
            .execute(
                "INSERT INTO users (id, email, display_name, password_hash, role, availability)
                 VALUES ($1, $2, $3, $4, $5, 'online')
                 ON CONFLICT (lower(email)) DO UPDATE SET password_hash = excluded.password_hash, active = true",
                &[&Uuid::now_v7(), email, name, &hash, role],
            )
            .await?;
    }
    let tx = client.transaction().await?;
    seed_bank(&tx).await?;
    seed_knowledge_base(&tx).await?;
    seed_bank_profile(&tx).await?;
    tx.commit().await?;
    Ok(())
}

/// The demo pages (`frontends/demo/`) are Northbridge Bank's, and the widget takes the bank's name and
/// colour from the settings: without this, the chat on Northbridge's page would say "JoxAI Bank", the
/// product's default. Only while no administrator has saved settings, so a demo's own changes stay.
async fn seed_bank_profile(tx: &tokio_postgres::Transaction<'_>) -> anyhow::Result<()> {
    let mut settings = SystemSettings::default();
    settings.profile.name = "Northbridge Bank".into();
    settings.profile.primary_colour = "#0b4f8a".into();
    tx.execute(
        // Version 0: the demo's starting point, not an administrator's save (the first save makes it 1).
        "INSERT INTO system_settings (value, version) VALUES ($1, 0) ON CONFLICT (id) DO NOTHING",
        &[&serde_json::to_value(&settings)?],
    )
    .await?;
    Ok(())
}

// The seed tables read best as rows of literal tuples, one per line, like the SQL they fill.
#[allow(clippy::type_complexity)]
async fn seed_bank(tx: &tokio_postgres::Transaction<'_>) -> anyhow::Result<()> {
    // (customer, key, kind, name, last4, balance, available) — amounts in cents.
    let accounts: &[(&str, &str, &str, &str, &str, i64, i64)] = &[
        (
            "CUST-1001",
            "ana-checking",
            "checking",
            "Cuenta corriente",
            "4821",
            245_075,
            230_075,
        ),
        (
            "CUST-1001",
            "ana-savings",
            "savings",
            "Cuenta de ahorro",
            "9930",
            1_200_000,
            1_200_000,
        ),
        (
            "CUST-1001",
            "ana-credit",
            "credit_card",
            "Tarjeta de crédito",
            "7710",
            -84_520,
            215_480,
        ),
        (
            "CUST-1002",
            "john-checking",
            "checking",
            "Current account",
            "1122",
            83_010,
            83_010,
        ),
        (
            "CUST-1002",
            "john-savings",
            "savings",
            "Easy saver",
            "5567",
            310_000,
            310_000,
        ),
    ];
    for (customer, key, kind, name, last4, balance, available) in accounts {
        tx.execute(
            "INSERT INTO bank_accounts (id, customer_ref, kind, name, number_last4, currency, balance_minor, available_minor)
             VALUES ($1, $2, $3, $4, $5, 'EUR', $6, $7) ON CONFLICT (id) DO NOTHING",
            &[&seed_id(key), customer, kind, name, last4, balance, available],
        )
        .await?;
    }
    let due = time::OffsetDateTime::now_utc().date() + time::Duration::days(12);
    // (customer, key, account, kind, last4, limit, statement, due)
    let cards: &[(
        &str,
        &str,
        &str,
        &str,
        &str,
        Option<i64>,
        Option<i64>,
        Option<time::Date>,
    )] = &[
        (
            "CUST-1001",
            "ana-debit",
            "ana-checking",
            "debit",
            "4921",
            None,
            None,
            None,
        ),
        (
            "CUST-1001",
            "ana-visa",
            "ana-credit",
            "credit",
            "7710",
            Some(300_000),
            Some(84_520),
            Some(due),
        ),
        (
            "CUST-1002",
            "john-debit",
            "john-checking",
            "debit",
            "5512",
            None,
            None,
            None,
        ),
    ];
    for (customer, key, account, kind, last4, limit, statement, due) in cards {
        tx.execute(
            "INSERT INTO bank_cards (id, customer_ref, account_id, kind, last4, credit_limit_minor, statement_balance_minor, payment_due_date)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
            &[&seed_id(key), customer, &seed_id(account), kind, last4, limit, statement, due],
        )
        .await?;
    }
    let transactions: &[(&str, i64, &str, i64, bool)] = &[
        ("ana-checking", 1, "Mercadona", -6_342, false),
        ("ana-checking", 2, "Nómina ACME S.L.", 210_000, false),
        ("ana-checking", 3, "Transferencia a Luis P.", -15_000, false),
        ("ana-credit", 1, "Renfe billetes", -8_990, true),
        ("ana-credit", 4, "Amazon EU", -3_499, false),
        ("john-checking", 1, "Coffee House", -450, true),
        ("john-checking", 2, "Salary ACME Ltd", 190_000, false),
        ("john-checking", 3, "Electricity bill", -7_230, false),
        ("john-checking", 5, "ATM withdrawal", -10_000, false),
    ];
    for (i, (account, days_ago, description, amount, pending)) in transactions.iter().enumerate() {
        let posted = time::OffsetDateTime::now_utc() - time::Duration::days(*days_ago);
        let status = if *pending { "pending" } else { "posted" };
        tx.execute(
            "INSERT INTO bank_transactions (id, account_id, posted_at, description, amount_minor, currency, status)
             VALUES ($1, $2, $3, $4, $5, 'EUR', $6) ON CONFLICT (id) DO NOTHING",
            &[&seed_id(&format!("tx-{i}")), &seed_id(account), &posted, description, amount, &status],
        )
        .await?;
    }
    let products: &[(&str, &str, &str, &str, i32, Option<i32>, i64)] = &[
        (
            "savings-instant",
            "savings",
            "Instant-access savings",
            "Ahorro con acceso inmediato",
            150,
            None,
            0,
        ),
        (
            "savings-6m",
            "savings",
            "6-month fixed deposit",
            "Depósito a plazo fijo 6 meses",
            225,
            Some(6),
            100_000,
        ),
        (
            "savings-12m",
            "savings",
            "12-month fixed deposit",
            "Depósito a plazo fijo 12 meses",
            275,
            Some(12),
            100_000,
        ),
        (
            "savings-24m",
            "savings",
            "24-month fixed deposit",
            "Depósito a plazo fijo 24 meses",
            310,
            Some(24),
            100_000,
        ),
        (
            "loan-personal",
            "loan",
            "Personal loan",
            "Préstamo personal",
            690,
            Some(84),
            300_000,
        ),
        (
            "loan-mortgage",
            "loan",
            "Mortgage",
            "Hipoteca",
            345,
            Some(360),
            5_000_000,
        ),
    ];
    for (id, kind, en, es, rate, term, min) in products {
        tx.execute(
            "INSERT INTO bank_products (id, kind, name_en, name_es, rate_bps, term_months, min_amount_minor)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
            &[id, kind, en, es, rate, term, min],
        )
        .await?;
    }
    Ok(())
}

async fn seed_knowledge_base(tx: &tokio_postgres::Transaction<'_>) -> anyhow::Result<()> {
    let articles: Vec<SeedArticle> = serde_json::from_str(KNOWLEDGE_BASE)?;
    for a in articles {
        tx.execute(
            "INSERT INTO kb_articles (id, slug, locale, title, body, intents, tags)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (slug, locale) DO NOTHING",
            &[
                &seed_id(&format!("kb-{}-{}", a.slug, a.locale)),
                &a.slug,
                &a.locale,
                &a.title,
                &a.body,
                &a.intents,
                &a.tags,
            ],
        )
        .await?;
    }
    Ok(())
}

/// Canned responses the demo starts with, English and Spanish, with the placeholders the panel fills
/// in (`{{customer_name}}`, `{{ticket_number}}`, `{{agent_name}}`; see `ingress/src/routes/canned.rs`).
const DEMO_CANNED: &[(&str, &str, &str)] = &[
    (
        "greeting-en",
        "Greeting (EN)",
        "Hello {{customer_name}}, this is {{agent_name}}. I'm looking at your case {{ticket_number}} now.",
    ),
    (
        "greeting-es",
        "Saludo (ES)",
        "Hola {{customer_name}}, soy {{agent_name}}. Ya estoy revisando su caso {{ticket_number}}.",
    ),
    (
        "card-blocked-en",
        "Card blocked (EN)",
        "Your card is blocked and can no longer be used. A replacement will reach you in 3 to 5 working days.",
    ),
    (
        "card-blocked-es",
        "Tarjeta bloqueada (ES)",
        "Su tarjeta está bloqueada y ya no se puede usar. Recibirá una nueva en un plazo de 3 a 5 días hábiles.",
    ),
    (
        "refund-en",
        "Refund under review (EN)",
        "Thank you, {{customer_name}}. We have opened a review of this payment under {{ticket_number}}; we will write to you within 2 working days.",
    ),
    (
        "refund-es",
        "Reembolso en revisión (ES)",
        "Gracias, {{customer_name}}. Hemos abierto una revisión de este pago con el caso {{ticket_number}}; le escribiremos en 2 días hábiles.",
    ),
    (
        "closing-en",
        "Closing (EN)",
        "Is there anything else I can help you with today, {{customer_name}}?",
    ),
    (
        "closing-es",
        "Despedida (ES)",
        "¿Puedo ayudarle en algo más hoy, {{customer_name}}?",
    ),
];

/// One past conversation's topic: what the customer wrote (English, Spanish), the intent, and — when
/// a person took it — the ticket's priority, reason and the agent's answer.
struct Topic {
    intent: &'static str,
    en: &'static str,
    es: &'static str,
    ticket: Option<(&'static str, &'static str, &'static str)>,
}

const TOPICS: &[Topic] = &[
    Topic {
        intent: "card_arrival",
        en: "When will my new card arrive?",
        es: "¿Cuándo llegará mi nueva tarjeta?",
        ticket: None,
    },
    Topic {
        intent: "lost_or_stolen_card",
        en: "I lost my card yesterday",
        es: "Perdí mi tarjeta ayer",
        ticket: Some((
            "urgent",
            "urgent_intent",
            "Your card is blocked; a new one is on its way.",
        )),
    },
    Topic {
        intent: "balance",
        en: "What is my balance?",
        es: "¿Cuál es mi saldo?",
        ticket: None,
    },
    Topic {
        intent: "request_refund",
        en: "I want a refund for a purchase",
        es: "Quiero un reembolso de una compra",
        ticket: Some((
            "normal",
            "needs_human_action",
            "We have opened a review of this payment.",
        )),
    },
    Topic {
        intent: "transfer_timing",
        en: "How long does a transfer take?",
        es: "¿Cuánto tarda una transferencia?",
        ticket: None,
    },
    Topic {
        intent: "human_agent",
        en: "Can I talk to a person?",
        es: "¿Puedo hablar con una persona?",
        ticket: Some((
            "normal",
            "customer_asked",
            "Hello, I'm here to help. What can I do for you?",
        )),
    },
    Topic {
        intent: "transaction_charged_twice",
        en: "I was charged twice for the same thing",
        es: "Me han cobrado dos veces lo mismo",
        ticket: Some((
            "high",
            "needs_human_action",
            "I can see the double charge; the second one will be returned.",
        )),
    },
    Topic {
        intent: "exchange_rate",
        en: "What exchange rate do you use?",
        es: "¿Qué tipo de cambio usan?",
        ticket: None,
    },
    Topic {
        intent: "card_payment_not_recognised",
        en: "There is a payment I don't recognise",
        es: "Hay un pago que no reconozco",
        ticket: Some((
            "urgent",
            "urgent_intent",
            "I have blocked the card and opened a dispute for this payment.",
        )),
    },
    Topic {
        intent: "top_up_limits",
        en: "What are the top-up limits?",
        es: "¿Cuáles son los límites de recarga?",
        ticket: None,
    },
    Topic {
        intent: "edit_personal_details",
        en: "I need to change my address",
        es: "Necesito cambiar mi dirección",
        ticket: Some(("low", "needs_human_action", "Your address is updated.")),
    },
    Topic {
        intent: "card_arrival",
        en: "My card still hasn't arrived, this is useless",
        es: "Mi tarjeta sigue sin llegar, esto no sirve",
        ticket: Some((
            "high",
            "frustration",
            "I'm sorry for the wait; I have sent a new card by express post.",
        )),
    },
];

/// How many past conversations the demo shows, over how many days.
const HISTORY_CONVERSATIONS: i64 = 48;
const HISTORY_DAYS: i64 = 28;

/// Demo activity, for `joxai all --seed-demo` and `joxai seed-demo` only (the tests' databases start
/// empty of it, so what they count is theirs): canned responses, and the last four weeks of
/// conversations, tickets resolved by the demo agent within or past their SLA, and ratings, so a fresh
/// demo shows a Dashboard and Analytics with something in them.
///
/// Added once, in one transaction: the first past conversation is the marker, so a restart costs one
/// query, and canned responses an administrator edited or deleted are left as they are.
pub async fn seed_demo_activity(platform: &Platform) -> anyhow::Result<()> {
    let mut client = platform.db.client().await?;
    let marker = seed_id("history-0");
    if client
        .query_opt("SELECT 1 FROM conversations WHERE id = $1", &[&marker])
        .await?
        .is_some()
    {
        return Ok(());
    }
    let settings = joxai_platform::settings::load(&platform.db).await?.settings;
    let targets = serde_json::to_value(&settings.sla)?;
    let tx = client.transaction().await?;
    let agent: Option<Uuid> = tx
        .query_opt(
            "SELECT id FROM users WHERE lower(email) = 'agent@joxai.local'",
            &[],
        )
        .await?
        .map(|r| r.get(0));
    let Some(agent) = agent else {
        anyhow::bail!("seed the demo staff first");
    };
    for (key, title, body) in DEMO_CANNED {
        tx.execute(
            "INSERT INTO canned_responses (id, title, body, created_by) VALUES ($1, $2, $3, NULL) ON CONFLICT (id) DO NOTHING",
            &[&seed_id(&format!("canned-{key}")), title, body],
        )
        .await?;
    }
    // Customers who chatted without signing in (the demo bank customers are seeded above).
    let customers: Vec<Uuid> = (0..6)
        .map(|i| seed_id(&format!("history-customer-{i}")))
        .collect();
    for id in &customers {
        tx.execute(
            "INSERT INTO customers (id) VALUES ($1) ON CONFLICT (id) DO NOTHING",
            &[id],
        )
        .await?;
    }
    let now = time::OffsetDateTime::now_utc();
    let minutes = |n: i64| time::Duration::minutes(n);
    let ratings = [5i16, 4, 5, 3, 5, 4, 2, 5, 4, 5];
    // Two in five reach a person, about a bank's usual share once a bot answers the everyday questions.
    let (escalated, answered): (Vec<&Topic>, Vec<&Topic>) =
        TOPICS.iter().partition(|t| t.ticket.is_some());
    for i in 0..HISTORY_CONVERSATIONS {
        // Spread over the last four weeks, during the day, a little irregular (no two alike).
        let days_ago = 1 + i * (HISTORY_DAYS - 1) / HISTORY_CONVERSATIONS;
        let started = (now - time::Duration::days(days_ago)).replace_time(time::Time::MIDNIGHT)
            + time::Duration::hours(8 + (i * 7) % 11)
            + minutes((i * 13) % 60);
        let n = i as usize;
        let topic = if n % 5 < 2 {
            escalated[(n / 5 * 2 + n % 5) % escalated.len()]
        } else {
            answered[(n / 5 * 3 + n % 5) % answered.len()]
        };
        let spanish = i % 3 == 0;
        let locale = if spanish { "es" } else { "en" };
        let conversation = seed_id(&format!("history-{i}"));
        let customer = customers[i as usize % customers.len()];
        let text = if spanish { topic.es } else { topic.en };
        let mut last = started;
        tx.execute(
            "INSERT INTO conversations (id, customer_id, status, owner, locale, created_at, updated_at)
             VALUES ($1, $2, 'closed', $3, $4, $5, $5)",
            &[&conversation, &customer, &if topic.ticket.is_some() { "agent" } else { "bot" }, &locale, &started],
        )
        .await?;
        let question = seed_id(&format!("history-{i}-q"));
        let message = "INSERT INTO messages (id, conversation_id, sender, author_id, text, in_reply_to, intent, confidence, created_at)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        tx.execute(
            message,
            &[
                &question,
                &conversation,
                &"customer",
                &None::<Uuid>,
                &text,
                &None::<Uuid>,
                &None::<String>,
                &None::<f32>,
                &started,
            ],
        )
        .await?;
        let confidence = 0.55 + ((i * 37) % 45) as f32 / 100.0;
        let answer = if spanish {
            "Le ayudo con eso."
        } else {
            "Let me help you with that."
        };
        last += time::Duration::seconds(2);
        tx.execute(
            message,
            &[
                &seed_id(&format!("history-{i}-a")),
                &conversation,
                &"bot",
                &None::<Uuid>,
                &answer,
                &Some(question),
                &Some(topic.intent),
                &Some(confidence),
                &last,
            ],
        )
        .await?;
        let mut resolved = None;
        if let Some((priority, reason, reply)) = topic.ticket {
            // First answers between 2 and 50 minutes, resolutions between 1 and 30 hours: some within the
            // SLA targets, some past them, as a real desk.
            let first = last + minutes(2 + (i * 11) % 49);
            let done = first + time::Duration::hours(1 + (i * 7) % 30);
            let ticket = seed_id(&format!("history-{i}-ticket"));
            let system = if spanish {
                "Le hemos pasado con nuestro equipo."
            } else {
                "We've passed you to our team."
            };
            tx.execute(
                message,
                &[
                    &seed_id(&format!("history-{i}-s")),
                    &conversation,
                    &"system",
                    &None::<Uuid>,
                    &system,
                    &None::<Uuid>,
                    &None::<String>,
                    &None::<f32>,
                    &(last + time::Duration::seconds(1)),
                ],
            )
            .await?;
            tx.execute(
                message,
                &[
                    &seed_id(&format!("history-{i}-r")),
                    &conversation,
                    &"agent",
                    &Some(agent),
                    &reply,
                    &None::<Uuid>,
                    &None::<String>,
                    &None::<f32>,
                    &first,
                ],
            )
            .await?;
            tx.execute(
                "INSERT INTO tickets (id, number, conversation_id, customer_id, subject, status, priority, reason, assignee_id,
                                      source_command_id, created_at, updated_at, first_response_at, resolved_at, closed_at,
                                      first_response_due_at, resolution_due_at)
                 VALUES ($1, 'TKT-' || lpad(nextval('ticket_number_seq')::text, 6, '0'), $2, $3, $4, 'resolved', $5, $6, $7,
                         $1, $8::timestamptz, $10::timestamptz, $9, $10, NULL,
                         $8::timestamptz + make_interval(mins => ($11::jsonb -> $5::text ->> 'first_response_minutes')::int),
                         $8::timestamptz + make_interval(mins => ($11::jsonb -> $5::text ->> 'resolution_minutes')::int))",
                &[&ticket, &conversation, &customer, &text, &priority, &reason, &agent, &last, &first, &done, &targets],
            )
            .await?;
            for (kind, at) in [
                ("created", last),
                ("assigned", last),
                ("agent_replied", first),
                ("status_changed", done),
            ] {
                let data = match kind {
                    "created" => serde_json::json!({ "reason": reason, "priority": priority }),
                    "assigned" => serde_json::json!({ "assignee_id": agent }),
                    "status_changed" => {
                        serde_json::json!({ "from": "in_progress", "to": "resolved" })
                    }
                    _ => serde_json::json!({}),
                };
                let actor = if kind == "created" {
                    "classifier".to_owned()
                } else {
                    agent.to_string()
                };
                tx.execute(
                    "INSERT INTO ticket_events (ticket_id, command_id, kind, actor, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                    &[&ticket, &seed_id(&format!("history-{i}-{kind}")), &kind, &actor, &data, &at],
                )
                .await?;
            }
            resolved = Some(done);
            last = done;
        }
        // Most customers a person helped rate the conversation; a few of the bot's too.
        let rated = (resolved.is_some() && i % 4 != 3) || (resolved.is_none() && i % 5 == 0);
        let rating = rated.then(|| ratings[i as usize % ratings.len()]);
        let rated_at = rated.then(|| last + minutes(3));
        tx.execute(
            "UPDATE conversations SET rating = $2, rated_at = $3, updated_at = $4, last_message_at = $4,
                    assigned_agent_id = CASE WHEN owner = 'agent' THEN $5::uuid END
              WHERE id = $1",
            &[&conversation, &rating, &rated_at, &last, &agent],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
