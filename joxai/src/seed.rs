//! Demo data for a laptop or a demo: staff accounts, two demo bank customers with accounts, cards and
//! transactions, the bank's savings and loan products, and the knowledge base. Idempotent: running it
//! again resets the demo passwords and adds what is missing, and never overwrites edited articles.
//! Never run it against a production database.

use joxai_platform::Platform;
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
    tx.commit().await?;
    Ok(())
}

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
