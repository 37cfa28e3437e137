//! Core banking: where account data comes from.
//!
//! [`CoreBanking`] is the seam where a bank plugs in its own systems; [`demo::DemoBank`] implements it
//! on Postgres tables seeded for the demo customers. The bot only reads, except for one protective
//! action: blocking a lost or stolen card. It never moves money.

pub mod demo;

use serde::Serialize;
use time::Date;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Account {
    pub id: Uuid,
    /// `checking`, `savings`, `credit_card` or `loan`.
    pub kind: String,
    pub name: String,
    pub number_last4: String,
    pub currency: String,
    pub balance_minor: i64,
    pub available_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Card {
    pub id: Uuid,
    /// `debit` or `credit`.
    pub kind: String,
    pub last4: String,
    /// `active` or `blocked`.
    pub status: String,
    pub currency: String,
    pub credit_limit_minor: Option<i64>,
    pub statement_balance_minor: Option<i64>,
    pub payment_due_date: Option<Date>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transaction {
    pub posted_at: time::OffsetDateTime,
    pub description: String,
    pub amount_minor: i64,
    pub currency: String,
    pub pending: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Product {
    pub id: String,
    /// `savings` or `loan`.
    pub kind: String,
    pub name_en: String,
    pub name_es: String,
    pub rate_bps: i32,
    pub term_months: Option<i32>,
    pub min_amount_minor: i64,
    pub currency: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BankingError {
    #[error("the core banking system is unavailable: {0}")]
    Unavailable(String),
    #[error("not found")]
    NotFound,
}

impl From<joxai_platform::db::DbError> for BankingError {
    fn from(e: joxai_platform::db::DbError) -> Self {
        BankingError::Unavailable(e.to_string())
    }
}

impl From<tokio_postgres::Error> for BankingError {
    fn from(e: tokio_postgres::Error) -> Self {
        BankingError::Unavailable(e.to_string())
    }
}

/// What JoxAI needs from a bank's core systems. `customer_ref` is the bank's own reference of a
/// verified customer; implementations must only ever return that customer's data.
pub trait CoreBanking: Send + Sync + 'static {
    fn accounts(
        &self,
        customer_ref: &str,
    ) -> impl Future<Output = Result<Vec<Account>, BankingError>> + Send;
    fn cards(
        &self,
        customer_ref: &str,
    ) -> impl Future<Output = Result<Vec<Card>, BankingError>> + Send;
    fn recent_transactions(
        &self,
        customer_ref: &str,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Transaction>, BankingError>> + Send;
    /// Block a card at once (lost, stolen, compromised). Idempotent: blocking a blocked card is fine.
    fn block_card(
        &self,
        customer_ref: &str,
        card_id: Uuid,
        reason: &str,
    ) -> impl Future<Output = Result<Card, BankingError>> + Send;
    fn products(
        &self,
        kind: &str,
    ) -> impl Future<Output = Result<Vec<Product>, BankingError>> + Send;
}

/// `123456` minor units of EUR → `€1,234.56` (English) or `1.234,56 €` (Spanish).
pub fn format_money(amount_minor: i64, currency: &str, spanish: bool) -> String {
    let negative = amount_minor < 0;
    let abs = amount_minor.unsigned_abs();
    let (units, cents) = (abs / 100, abs % 100);
    let digits = units.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(if spanish { '.' } else { ',' });
        }
        grouped.push(c);
    }
    let sign = if negative { "-" } else { "" };
    let symbol = match currency {
        "EUR" => "€",
        "USD" => "$",
        "GBP" => "£",
        other => other,
    };
    if spanish {
        format!("{sign}{grouped},{cents:02} {symbol}")
    } else {
        format!("{sign}{symbol}{grouped}.{cents:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::format_money;

    #[test]
    fn money_is_formatted_for_each_language_without_floating_point() {
        assert_eq!(format_money(123456, "EUR", false), "€1,234.56");
        assert_eq!(format_money(123456, "EUR", true), "1.234,56 €");
        assert_eq!(format_money(-505, "USD", false), "-$5.05");
        assert_eq!(format_money(100000000, "GBP", false), "£1,000,000.00");
        assert_eq!(format_money(7, "CHF", false), "CHF0.07");
    }
}
