//! The knowledge base the AI responder answers from (`kb_articles`, read by
//! `workers/src/knowledge.rs`): supervisors and admins write, every staff member reads.
//!
//! Bodies are plain text: the responder quotes them to customers and the widget renders text, so
//! markup is refused outright (`<`) rather than sanitised.

use crate::extract::{Path, Query};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use joxai_schemas::Envelope;
use joxai_schemas::commands::{DeleteKnowledgeArticle, SaveKnowledgeArticle};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::dispatch::dispatch;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{Staff, Supervisor, ValidJson, Validate, mask_all, mask_optional, mask_text};
use crate::routes::page::{Page, decode_cursor, like_pattern, limit, micros, page};

const ARTICLE: &str =
    "SELECT id, slug, locale, title, body, intents, tags, active, updated_at FROM kb_articles";

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_BODY_CHARS: usize = 4000;

#[derive(Debug, Clone, Serialize)]
pub struct Article {
    pub id: Uuid,
    pub slug: String,
    pub locale: String,
    pub title: String,
    pub body: String,
    pub intents: Vec<String>,
    pub tags: Vec<String>,
    pub active: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

fn article(row: &tokio_postgres::Row) -> Article {
    Article {
        id: row.get(0),
        slug: row.get(1),
        locale: row.get(2),
        title: row.get(3),
        body: row.get(4),
        intents: row.get(5),
        tags: row.get(6),
        active: row.get(7),
        updated_at: row.get(8),
    }
}

async fn load(state: &AppState, id: Uuid) -> ApiResult<Article> {
    let client = state.platform.db.client().await?;
    let row = client
        .query_opt(&format!("{ARTICLE} WHERE id = $1"), &[&id])
        .await?
        .ok_or(ApiError::NotFound("article"))?;
    Ok(article(&row))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleFilter {
    #[serde(default)]
    pub locale: Option<String>,
    /// Text in the title, body or slug.
    #[serde(default)]
    pub q: Option<String>,
    /// Articles answering this intent.
    #[serde(default)]
    pub intent: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `GET /api/v1/knowledge/articles` — staff. Most recently changed first.
pub async fn list(
    State(state): State<AppState>,
    _: Staff,
    Query(f): Query<ArticleFilter>,
) -> ApiResult<Json<Page<Article>>> {
    let limit = limit(f.limit)?;
    if f.locale.as_deref().is_some_and(|l| l != "en" && l != "es") {
        return Err(ApiError::field("locale", "en or es"));
    }
    let q = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if q.is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::field("q", "at most 200 characters"));
    }
    let pattern = q.map(like_pattern);
    let (after_key, after_id) = match &f.cursor {
        Some(c) => {
            let (k, id) = decode_cursor(c)?;
            (Some(k), Some(id))
        }
        None => (None, None),
    };
    let client = state.platform.db.client().await?;
    let rows = client
        .query(
            &format!(
                "{ARTICLE} WHERE ($1::text IS NULL OR locale = $1)
                   AND ($2::text IS NULL OR title ILIKE $2 OR body ILIKE $2 OR slug ILIKE $2)
                   AND ($3::text IS NULL OR $3 = ANY(intents))
                   AND ($4::bool IS NULL OR active = $4)
                   AND ($5::bigint IS NULL OR ((extract(epoch FROM updated_at) * 1000000)::bigint, id) < ($5, $6))
                 ORDER BY updated_at DESC, id DESC LIMIT {}",
                limit + 1
            ),
            &[&f.locale, &pattern, &f.intent, &f.active, &after_key, &after_id],
        )
        .await?;
    let items: Vec<Article> = rows.iter().map(article).collect();
    Ok(Json(page(items, limit, |a| (micros(a.updated_at), a.id))))
}

/// `GET /api/v1/knowledge/articles/{id}` — staff.
pub async fn get(
    State(state): State<AppState>,
    _: Staff,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Article>> {
    Ok(Json(load(&state, id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleRequest {
    /// Derived from the title when absent. Unique per locale.
    #[serde(default)]
    pub slug: Option<String>,
    pub locale: String,
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub intents: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub active: Option<bool>,
}

fn slug_ok(slug: &str) -> bool {
    (1..=80).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
}

/// `"How do I block my card?"` → `"how-do-i-block-my-card"` (ASCII letters and digits only).
pub fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 80 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        format!("article-{}", &Uuid::now_v7().simple().to_string()[..8])
    } else {
        slug
    }
}

fn word_list_errors(field: &str, words: &[String]) -> Vec<FieldError> {
    let bad = words.len() > 20
        || words.iter().any(|w| {
            let w = w.trim();
            w.is_empty() || w.chars().count() > 60 || w.contains('<')
        });
    if bad {
        vec![FieldError {
            field: field.into(),
            message: "at most 20 entries of 1 to 60 characters".into(),
        }]
    } else {
        vec![]
    }
}

impl Validate for ArticleRequest {
    /// The bot quotes articles to customers, so their words are masked like any other staff text. The slug and
    /// intents are identifiers, but a person types them too: masked, a card number in a slug then fails the
    /// slug's format with a 422 instead of being stored.
    fn mask_card_data(&mut self) {
        mask_text(&mut self.title);
        mask_text(&mut self.body);
        mask_all(&mut self.tags);
        mask_all(&mut self.intents);
        mask_optional(&mut self.slug);
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = vec![];
        if let Some(slug) = &self.slug
            && !slug_ok(slug)
        {
            errors.push(FieldError {
                field: "slug".into(),
                message:
                    "1 to 80 lowercase letters, digits and '-', not starting or ending with '-'"
                        .into(),
            });
        }
        if self.locale != "en" && self.locale != "es" {
            errors.push(FieldError {
                field: "locale".into(),
                message: "en or es".into(),
            });
        }
        let n = self.title.trim().chars().count();
        if n == 0 || n > MAX_TITLE_CHARS {
            errors.push(FieldError {
                field: "title".into(),
                message: format!("1 to {MAX_TITLE_CHARS} characters"),
            });
        } else if self.title.contains('<') {
            errors.push(FieldError {
                field: "title".into(),
                message: "plain text only: '<' is not allowed".into(),
            });
        }
        let n = self.body.trim().chars().count();
        if n == 0 || n > MAX_BODY_CHARS {
            errors.push(FieldError {
                field: "body".into(),
                message: format!("1 to {MAX_BODY_CHARS} characters"),
            });
        } else if self.body.contains('<') {
            errors.push(FieldError {
                field: "body".into(),
                message: "plain text only: '<' is not allowed".into(),
            });
        }
        errors.extend(word_list_errors("intents", &self.intents));
        errors.extend(word_list_errors("tags", &self.tags));
        errors
    }
}

async fn save(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    create: bool,
    req: ArticleRequest,
) -> ApiResult<Response> {
    let command = SaveKnowledgeArticle {
        id,
        create,
        slug: req.slug.unwrap_or_else(|| slugify(&req.title)),
        locale: req.locale,
        title: req.title.trim().to_owned(),
        body: req.body.trim().to_owned(),
        intents: req.intents.iter().map(|w| w.trim().to_owned()).collect(),
        tags: req.tags.iter().map(|w| w.trim().to_owned()).collect(),
        active: req.active.unwrap_or(true),
        actor: staff.actor(),
    };
    let status = if create {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    dispatch(state, Envelope::new(command), "article")
        .await?
        .respond(|| async move { Ok((status, Json(load(state, id).await?)).into_response()) })
        .await
}

/// `POST /api/v1/knowledge/articles` — supervisors and admins. 409 when the slug is taken in that locale.
pub async fn create(
    State(state): State<AppState>,
    Supervisor(staff): Supervisor,
    ValidJson(req): ValidJson<ArticleRequest>,
) -> ApiResult<Response> {
    save(&state, &staff, Uuid::now_v7(), true, req).await
}

/// `PUT /api/v1/knowledge/articles/{id}` — supervisors and admins: replace the article.
pub async fn update(
    State(state): State<AppState>,
    Supervisor(staff): Supervisor,
    Path(id): Path<Uuid>,
    ValidJson(req): ValidJson<ArticleRequest>,
) -> ApiResult<Response> {
    save(&state, &staff, id, false, req).await
}

/// `DELETE /api/v1/knowledge/articles/{id}` — supervisors and admins. To keep an article but stop
/// the assistant using it, `PUT` it with `active: false` instead.
pub async fn delete(
    State(state): State<AppState>,
    Supervisor(staff): Supervisor,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    dispatch(
        &state,
        Envelope::new(DeleteKnowledgeArticle {
            id,
            actor: staff.actor(),
        }),
        "article",
    )
    .await?
    .respond(|| async { Ok(StatusCode::NO_CONTENT.into_response()) })
    .await
}

#[cfg(test)]
mod tests {
    use super::slugify;

    #[test]
    fn slugs_are_lowercase_ascii_words_joined_by_dashes() {
        assert_eq!(slugify("How do I block my card?"), "how-do-i-block-my-card");
        assert_eq!(slugify("  Tarjeta — bloqueo  "), "tarjeta-bloqueo");
        assert!(slugify("¿¡!?").starts_with("article-"));
    }
}
