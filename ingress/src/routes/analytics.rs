//! The supervisors' dashboard numbers, computed in Postgres over a time range.
//!
//! Every figure counts what was *created* in `[from, to)` (tickets, conversations, messages), except
//! CSAT, which counts ratings *given* in the range. Times are UTC; hour and day buckets are complete
//! series (zero-filled) so charts need no gap handling.

use std::collections::BTreeMap;

use crate::extract::Query;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Supervisor;

/// Longest range one summary covers: a quarter. Hourly buckets stay ≤ ~2,200.
pub const MAX_RANGE_DAYS: i64 = 92;
pub const DEFAULT_RANGE_DAYS: i64 = 7;
const TOP_INTENTS: i64 = 10;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeQuery {
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub from: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub to: Option<OffsetDateTime>,
}

#[derive(Serialize)]
pub struct Durations {
    /// Seconds; `null` when nothing was measured.
    pub median: Option<f64>,
    pub p90: Option<f64>,
    pub count: i64,
}

/// How many tickets met one SLA target: of those whose outcome is known (answered, or past due
/// unanswered), how many were on time. Due times are each ticket's own (settings at the time).
#[derive(Serialize)]
pub struct TargetMet {
    pub met: i64,
    pub counted: i64,
    /// `met / counted`; `null` when nothing was counted.
    pub rate: Option<f64>,
}

#[derive(Serialize)]
pub struct SlaMet {
    pub first_response: TargetMet,
    pub resolution: TargetMet,
}

#[derive(Serialize)]
pub struct IntentCount {
    pub intent: String,
    pub count: i64,
}

#[derive(Serialize)]
pub struct Csat {
    pub average: Option<f64>,
    pub count: i64,
    /// `"1"` … `"5"` → number of ratings.
    pub distribution: BTreeMap<String, i64>,
}

#[derive(Serialize)]
pub struct HourVolume {
    #[serde(with = "time::serde::rfc3339")]
    pub hour: OffsetDateTime,
    pub conversations: i64,
    pub messages: i64,
}

#[derive(Serialize)]
pub struct DayVolume {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub conversations: i64,
    pub messages: i64,
}

#[derive(Serialize)]
pub struct Summary {
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    pub tickets: i64,
    pub tickets_by_status: BTreeMap<String, i64>,
    pub tickets_by_priority: BTreeMap<String, i64>,
    pub first_response_seconds: Durations,
    pub resolution_seconds: Durations,
    pub sla: SlaMet,
    pub conversations: i64,
    /// Conversations of the range that got at least one ticket.
    pub escalated_conversations: i64,
    /// `escalated_conversations / conversations`; 0 when there were none.
    pub escalation_rate: f64,
    /// Tickets of the range by why they were opened (`customer_asked`, `urgent_intent`, …).
    pub escalation_reasons: BTreeMap<String, i64>,
    pub top_intents: Vec<IntentCount>,
    pub csat: Csat,
    pub volume_per_hour: Vec<HourVolume>,
    pub volume_per_day: Vec<DayVolume>,
}

fn counts(rows: &[tokio_postgres::Row], all: &[&str]) -> BTreeMap<String, i64> {
    let mut map: BTreeMap<String, i64> = all.iter().map(|k| ((*k).to_owned(), 0)).collect();
    for row in rows {
        map.insert(row.get(0), row.get(1));
    }
    map
}

/// `GET /api/v1/analytics/summary?from=&to=` — supervisors and admins. Defaults to the last 7 days.
pub async fn summary(
    State(state): State<AppState>,
    _: Supervisor,
    Query(q): Query<RangeQuery>,
) -> ApiResult<Json<Summary>> {
    let to = q.to.unwrap_or_else(OffsetDateTime::now_utc);
    let from = q.from.unwrap_or(to - Duration::days(DEFAULT_RANGE_DAYS));
    if from >= to {
        return Err(ApiError::field("from", "must be before to"));
    }
    if to - from > Duration::days(MAX_RANGE_DAYS) {
        return Err(ApiError::field(
            "from",
            &format!("the range is at most {MAX_RANGE_DAYS} days"),
        ));
    }
    let client = state.platform.db.client().await?;
    let range: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&from, &to];

    let by_status = client
        .query("SELECT status, count(*) FROM tickets WHERE created_at >= $1 AND created_at < $2 GROUP BY status", &range)
        .await?;
    let by_priority = client
        .query("SELECT priority, count(*) FROM tickets WHERE created_at >= $1 AND created_at < $2 GROUP BY priority", &range)
        .await?;
    let reasons = client
        .query("SELECT reason, count(*) FROM tickets WHERE created_at >= $1 AND created_at < $2 GROUP BY reason", &range)
        .await?;
    let tickets_by_status = counts(&by_status, &["open", "in_progress", "resolved", "closed"]);
    let tickets: i64 = tickets_by_status.values().sum();

    let durations = |column: &str| {
        format!(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s), percentile_cont(0.9) WITHIN GROUP (ORDER BY s), count(s)
               FROM (SELECT extract(epoch FROM {column} - created_at)::float8 AS s FROM tickets
                      WHERE created_at >= $1 AND created_at < $2 AND {column} IS NOT NULL) d"
        )
    };
    let to_durations = |row: tokio_postgres::Row| Durations {
        median: row.get(0),
        p90: row.get(1),
        count: row.get(2),
    };
    let first_response_seconds = to_durations(
        client
            .query_one(&durations("first_response_at"), &range)
            .await?,
    );
    let resolution_seconds =
        to_durations(client.query_one(&durations("resolved_at"), &range).await?);

    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE first_response_at <= first_response_due_at),
                    count(*) FILTER (WHERE first_response_at IS NOT NULL OR first_response_due_at < now()),
                    count(*) FILTER (WHERE resolved_at <= resolution_due_at),
                    count(*) FILTER (WHERE resolved_at IS NOT NULL OR resolution_due_at < now())
               FROM tickets WHERE created_at >= $1 AND created_at < $2",
            &range,
        )
        .await?;
    let met = |met: i64, counted: i64| TargetMet {
        met,
        counted,
        rate: (counted > 0).then(|| met as f64 / counted as f64),
    };
    let sla = SlaMet {
        first_response: met(row.get(0), row.get(1)),
        resolution: met(row.get(2), row.get(3)),
    };

    let row = client
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM tickets t WHERE t.conversation_id = c.id))
               FROM conversations c WHERE c.created_at >= $1 AND c.created_at < $2",
            &range,
        )
        .await?;
    let (conversations, escalated_conversations): (i64, i64) = (row.get(0), row.get(1));
    let escalation_rate = if conversations == 0 {
        0.0
    } else {
        escalated_conversations as f64 / conversations as f64
    };

    // The classifier labels customer messages; bot replies carry the intent they answered.
    let top_intents = client
        .query(
            &format!(
                "SELECT intent, count(*) FROM messages
                  WHERE created_at >= $1 AND created_at < $2 AND intent IS NOT NULL AND sender IN ('customer', 'bot')
                  GROUP BY intent ORDER BY count(*) DESC, intent LIMIT {TOP_INTENTS}"
            ),
            &range,
        )
        .await?
        .iter()
        .map(|r| IntentCount { intent: r.get(0), count: r.get(1) })
        .collect();

    let ratings = client
        .query(
            "SELECT rating::text, count(*) FROM conversations
              WHERE rating IS NOT NULL AND rated_at >= $1 AND rated_at < $2 GROUP BY rating",
            &range,
        )
        .await?;
    let distribution = counts(&ratings, &["1", "2", "3", "4", "5"]);
    let rated: i64 = distribution.values().sum();
    let total: i64 = distribution
        .iter()
        .map(|(k, n)| k.parse::<i64>().unwrap_or(0) * n)
        .sum();
    let csat = Csat {
        average: (rated > 0).then(|| total as f64 / rated as f64),
        count: rated,
        distribution,
    };

    let volume = |unit: &str| {
        format!(
            "WITH buckets AS (
                SELECT generate_series(date_trunc('{unit}', $1::timestamptz AT TIME ZONE 'UTC'),
                                       ($2::timestamptz AT TIME ZONE 'UTC') - interval '1 microsecond',
                                       interval '1 {unit}') AS b),
             conv AS (SELECT date_trunc('{unit}', created_at AT TIME ZONE 'UTC') AS b, count(*) AS n FROM conversations
                       WHERE created_at >= $1 AND created_at < $2 GROUP BY 1),
             msg AS (SELECT date_trunc('{unit}', created_at AT TIME ZONE 'UTC') AS b, count(*) AS n FROM messages
                      WHERE created_at >= $1 AND created_at < $2 GROUP BY 1)
             SELECT buckets.b AT TIME ZONE 'UTC', coalesce(conv.n, 0), coalesce(msg.n, 0)
               FROM buckets LEFT JOIN conv ON conv.b = buckets.b LEFT JOIN msg ON msg.b = buckets.b
              ORDER BY buckets.b"
        )
    };
    let volume_per_hour = client
        .query(&volume("hour"), &range)
        .await?
        .iter()
        .map(|r| HourVolume {
            hour: r.get(0),
            conversations: r.get(1),
            messages: r.get(2),
        })
        .collect();
    let volume_per_day = client
        .query(&volume("day"), &range)
        .await?
        .iter()
        .map(|r| {
            let day: OffsetDateTime = r.get(0);
            DayVolume {
                day: day.date().to_string(),
                conversations: r.get(1),
                messages: r.get(2),
            }
        })
        .collect();

    Ok(Json(Summary {
        from,
        to,
        tickets,
        tickets_by_status,
        tickets_by_priority: counts(&by_priority, &["low", "normal", "high", "urgent"]),
        first_response_seconds,
        resolution_seconds,
        sla,
        conversations,
        escalated_conversations,
        escalation_rate,
        escalation_reasons: counts(&reasons, &[]),
        top_intents,
        csat,
        volume_per_hour,
        volume_per_day,
    }))
}
