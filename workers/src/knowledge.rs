//! The knowledge base: bank FAQ articles the AI answers from, ranked by relevance.
//!
//! An article lists the intents it answers; among those (or, when none lists the intent, among all
//! articles of the language) Postgres full-text search ranks by how well the article's words match the
//! customer's question.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use joxai_platform::db::{Db, DbError};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Article {
    pub slug: String,
    pub title: String,
    pub body: String,
}

/// The question's words as an OR query (`"lost" | "card"`): any shared word counts, more shared
/// words rank higher. Only letters and digits survive, so the query can never be malformed.
pub fn or_query(question: &str) -> String {
    question
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() > 2)
        .take(32)
        .map(|w| format!("'{}'", w.to_lowercase()))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The best articles for a question: those answering `intent` first, then by text relevance.
pub async fn search(
    db: &Db,
    intent: Option<&str>,
    question: &str,
    locale: &str,
    limit: i64,
) -> Result<Vec<Article>, DbError> {
    let query = or_query(question);
    let client = db.client().await?;
    let rows = Db::timed("kb_search", async {
        let search = client
            .prepare_cached(
            "SELECT slug, title, body FROM kb_articles
             WHERE active AND locale = $3
               AND (($1::text IS NOT NULL AND $1 = ANY(intents))
                    OR ($2 <> '' AND search @@ to_tsquery('simple', $2)))
             ORDER BY ($1::text IS NOT NULL AND $1 = ANY(intents)) DESC,
                      CASE WHEN $2 <> '' THEN ts_rank(search, to_tsquery('simple', $2)) ELSE 0 END DESC,
                      slug
             LIMIT $4",
            )
            .await?;
        Ok(client.query(&search, &[&intent, &query, &locale, &limit]).await?)
    })
    .await?;
    Ok(rows
        .iter()
        .map(|r| Article {
            slug: r.get(0),
            title: r.get(1),
            body: r.get(2),
        })
        .collect())
}

/// How long the responder trusts what it read about an intent's articles. An article a supervisor
/// adds, edits or switches off is used by every responder within this time.
pub const CACHE_TTL: Duration = Duration::from_secs(10);

/// An intent and a language.
type IntentKey = (String, String);

/// The articles that list each (intent, language), read once per [`CACHE_TTL`].
///
/// Why: nearly every answer is "the one article for this intent", and finding it with full-text
/// search on every message was the AI responder's largest Postgres cost. When exactly one active
/// article lists the intent, that is the answer whatever the wording; otherwise (none, or several
/// to rank by the question's words) the responder searches as before.
#[derive(Default)]
pub struct IntentArticles {
    /// (intent, language) → when read, and the articles listing that intent.
    entries: Mutex<HashMap<IntentKey, (Instant, Vec<Article>)>>,
}

impl IntentArticles {
    /// The best article for a question with this intent: from the cache when one article lists the
    /// intent, else by [`search`].
    pub async fn best(
        &self,
        db: &Db,
        intent: &str,
        question: &str,
        locale: &str,
    ) -> Result<Option<Article>, DbError> {
        let key = (intent.to_owned(), locale.to_owned());
        let cached = {
            let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            entries
                .get(&key)
                .filter(|(at, _)| at.elapsed() < CACHE_TTL)
                .map(|(_, articles)| articles.clone())
        };
        let articles = match cached {
            Some(articles) => articles,
            None => {
                let articles = listing(db, intent, locale).await?;
                let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
                entries.insert(key, (Instant::now(), articles.clone()));
                articles
            }
        };
        if let [only] = articles.as_slice() {
            return Ok(Some(only.clone()));
        }
        Ok(search(db, Some(intent), question, locale, 1)
            .await?
            .into_iter()
            .next())
    }
}

/// The active articles of a language that list `intent`, by slug.
async fn listing(db: &Db, intent: &str, locale: &str) -> Result<Vec<Article>, DbError> {
    let client = db.client().await?;
    let rows = Db::timed("kb_listing", async {
        let listing = client
            .prepare_cached("SELECT slug, title, body FROM kb_articles WHERE active AND locale = $2 AND $1 = ANY(intents) ORDER BY slug")
            .await?;
        Ok(client.query(&listing, &[&intent, &locale]).await?)
    })
    .await?;
    Ok(rows
        .iter()
        .map(|r| Article {
            slug: r.get(0),
            title: r.get(1),
            body: r.get(2),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::or_query;

    #[test]
    fn the_search_query_keeps_only_words_so_it_cannot_be_malformed() {
        assert_eq!(or_query("I lost my card!"), "'lost' | 'card'");
        assert_eq!(or_query("'); DROP TABLE x; --"), "'drop' | 'table'");
        assert_eq!(
            or_query("¿Cuándo llega mi tarjeta?"),
            "'cuándo' | 'llega' | 'tarjeta'"
        );
        assert_eq!(or_query("a b"), "");
    }
}
