//! The knowledge base: bank FAQ articles the AI answers from, ranked by relevance.
//!
//! An article lists the intents it answers; among those (or, when none lists the intent, among all
//! articles of the language) Postgres full-text search ranks by how well the article's words match the
//! customer's question.

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
pub async fn search(db: &Db, intent: Option<&str>, question: &str, locale: &str, limit: i64) -> Result<Vec<Article>, DbError> {
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
    Ok(rows.iter().map(|r| Article { slug: r.get(0), title: r.get(1), body: r.get(2) }).collect())
}

#[cfg(test)]
mod tests {
    use super::or_query;

    #[test]
    fn the_search_query_keeps_only_words_so_it_cannot_be_malformed() {
        assert_eq!(or_query("I lost my card!"), "'lost' | 'card'");
        assert_eq!(or_query("'); DROP TABLE x; --"), "'drop' | 'table'");
        assert_eq!(or_query("¿Cuándo llega mi tarjeta?"), "'cuándo' | 'llega' | 'tarjeta'");
        assert_eq!(or_query("a b"), "");
    }
}
