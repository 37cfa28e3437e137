//! Pagination shared by every list: `{items, next_cursor}`, keyset cursors (stable under inserts,
//! unlike offsets) and one limit rule.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

#[derive(Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 100;

/// The query of a list filtered by status: `?status=…&cursor=…&limit=…` (each optional).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusFilter {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
}

pub fn limit(requested: Option<i64>) -> ApiResult<i64> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::field("limit", "1 to 100")),
    }
}

/// A cursor names the last row of a page by its sort key and id.
pub fn encode_cursor(key: i64, id: Uuid) -> String {
    format!("{key}_{}", id.simple())
}

pub fn decode_cursor(cursor: &str) -> ApiResult<(i64, Uuid)> {
    let bad = || ApiError::field("cursor", "not a cursor returned by this API");
    let (key, id) = cursor.split_once('_').ok_or_else(bad)?;
    Ok((
        key.parse().map_err(|_| bad())?,
        id.parse().map_err(|_| bad())?,
    ))
}

/// Build a page from `limit + 1` fetched rows: the extra row only says that there is more.
pub fn page<T>(mut items: Vec<T>, limit: i64, key: impl Fn(&T) -> (i64, Uuid)) -> Page<T> {
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let next_cursor = if more {
        items.last().map(|last| {
            let (k, id) = key(last);
            encode_cursor(k, id)
        })
    } else {
        None
    };
    Page { items, next_cursor }
}

/// Microseconds since the epoch: the sort key of timestamps in cursors.
pub fn micros(t: time::OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1000) as i64
}

/// Escape `%`, `_` and `\` for a LIKE pattern, and wrap in `%…%`.
pub fn like_pattern(q: &str) -> String {
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}
