//! The demo bank: [`CoreBanking`] on the `bank_*` tables seeded by `joxai seed-demo`.

use joxai_platform::db::Db;
use tokio_postgres::Row;
use uuid::Uuid;

use super::{Account, BankingError, Card, CoreBanking, Product, Transaction};

#[derive(Clone)]
pub struct DemoBank {
    db: Db,
}

impl DemoBank {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

const CARD_COLUMNS: &str = "c.id, c.kind, c.last4, c.status, a.currency, c.credit_limit_minor, c.statement_balance_minor, c.payment_due_date";

fn card(row: &Row) -> Card {
    Card {
        id: row.get(0),
        kind: row.get(1),
        last4: row.get(2),
        status: row.get(3),
        currency: row.get(4),
        credit_limit_minor: row.get(5),
        statement_balance_minor: row.get(6),
        payment_due_date: row.get(7),
    }
}

impl CoreBanking for DemoBank {
    async fn accounts(&self, customer_ref: &str) -> Result<Vec<Account>, BankingError> {
        let client = self.db.client().await?;
        let rows = client
            .query(
                "SELECT id, kind, name, number_last4, currency, balance_minor, available_minor
                 FROM bank_accounts WHERE customer_ref = $1 ORDER BY kind, name",
                &[&customer_ref],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Account {
                id: r.get(0),
                kind: r.get(1),
                name: r.get(2),
                number_last4: r.get(3),
                currency: r.get(4),
                balance_minor: r.get(5),
                available_minor: r.get(6),
            })
            .collect())
    }

    async fn cards(&self, customer_ref: &str) -> Result<Vec<Card>, BankingError> {
        let client = self.db.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {CARD_COLUMNS} FROM bank_cards c JOIN bank_accounts a ON a.id = c.account_id
                     WHERE c.customer_ref = $1 ORDER BY c.kind, c.last4"
                ),
                &[&customer_ref],
            )
            .await?;
        Ok(rows.iter().map(card).collect())
    }

    async fn recent_transactions(
        &self,
        customer_ref: &str,
        limit: i64,
    ) -> Result<Vec<Transaction>, BankingError> {
        let client = self.db.client().await?;
        let rows = client
            .query(
                "SELECT t.posted_at, t.description, t.amount_minor, t.currency, t.status = 'pending'
                 FROM bank_transactions t JOIN bank_accounts a ON a.id = t.account_id
                 WHERE a.customer_ref = $1 ORDER BY t.posted_at DESC LIMIT $2",
                &[&customer_ref, &limit],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Transaction {
                posted_at: r.get(0),
                description: r.get(1),
                amount_minor: r.get(2),
                currency: r.get(3),
                pending: r.get(4),
            })
            .collect())
    }

    async fn block_card(
        &self,
        customer_ref: &str,
        card_id: Uuid,
        reason: &str,
    ) -> Result<Card, BankingError> {
        let client = self.db.client().await?;
        // The customer_ref condition makes it impossible to block another customer's card.
        client
            .execute(
                "UPDATE bank_cards SET status = 'blocked', blocked_at = coalesce(blocked_at, now()), block_reason = $3
                 WHERE id = $1 AND customer_ref = $2",
                &[&card_id, &customer_ref, &reason],
            )
            .await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {CARD_COLUMNS} FROM bank_cards c JOIN bank_accounts a ON a.id = c.account_id
                     WHERE c.id = $1 AND c.customer_ref = $2"
                ),
                &[&card_id, &customer_ref],
            )
            .await?
            .ok_or(BankingError::NotFound)?;
        Ok(card(&row))
    }

    async fn products(&self, kind: &str) -> Result<Vec<Product>, BankingError> {
        let client = self.db.client().await?;
        let rows = client
            .query(
                "SELECT id, kind, name_en, name_es, rate_bps, term_months, min_amount_minor, currency
                 FROM bank_products WHERE kind = $1 ORDER BY term_months NULLS FIRST, id",
                &[&kind],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Product {
                id: r.get(0),
                kind: r.get(1),
                name_en: r.get(2),
                name_es: r.get(3),
                rate_bps: r.get(4),
                term_months: r.get(5),
                min_amount_minor: r.get(6),
                currency: r.get(7),
            })
            .collect())
    }
}
