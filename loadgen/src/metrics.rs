//! The server's own histograms, scraped from `/metrics` before and after a run: the difference of
//! each `_sum` and `_count` says how often each stage ran and how long it took on average, which is
//! where the time of a chat turn went.

use std::collections::BTreeMap;

use anyhow::Context as _;
use serde_json::{Value, json};

pub struct Scrape {
    /// `name{labels}` → value, for every histogram `_sum` and `_count` line.
    values: BTreeMap<String, f64>,
}

pub struct Delta {
    /// `name{labels}` → (count, sum in seconds).
    series: BTreeMap<String, (f64, f64)>,
}

/// Wait (at most `limit`) until the server is quiet: no worker handling a message, and no message handled in
/// the last half second. Used after the customers connect (each new session is a command the ticket worker
/// stores) and between ramp steps, so one step's backlog is not measured as the next step's latency. Without a
/// `/metrics` answer it waits half a second and says so.
pub async fn wait_quiet(http: &reqwest::Client, url: &str, limit: std::time::Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    let mut last: Option<f64> = None;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let Ok((handled, in_flight)) = activity(http, url).await else {
            println!("  (no /metrics: waited 0.5 s instead of for a quiet server)");
            return;
        };
        if in_flight == 0.0 && last == Some(handled) {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            println!(
                "  (server still busy after {:.0} s: {in_flight} messages in flight; going on)",
                limit.as_secs_f64()
            );
            return;
        }
        last = Some(handled);
    }
}

/// Messages the workers have handled so far, and how many they are handling now (from `/metrics`).
async fn activity(http: &reqwest::Client, url: &str) -> anyhow::Result<(f64, f64)> {
    let text = page(http, url).await?;
    let (mut handled, mut in_flight) = (0.0, 0.0);
    for (_, name, value) in samples(&text) {
        match name {
            "joxai_worker_handle_duration_seconds_count" => handled += value,
            "joxai_worker_in_flight" => in_flight += value,
            _ => {}
        }
    }
    Ok((handled, in_flight))
}

/// The server's `/metrics` page.
async fn page(http: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    http.get(format!("{url}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await
        .context("/metrics body")
}

/// Every sample of a Prometheus text page: (`name{labels}`, `name`, value).
fn samples(text: &str) -> impl Iterator<Item = (&str, &str, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|line| {
            let (key, value) = line.rsplit_once(' ')?;
            Some((
                key,
                key.split('{').next().unwrap_or(key),
                value.parse().ok()?,
            ))
        })
}

impl Scrape {
    pub async fn take(http: &reqwest::Client, url: &str) -> anyhow::Result<Scrape> {
        let text = page(http, url).await?;
        let values = samples(&text)
            .filter(|(_, name, _)| {
                (name.ends_with("_sum") || name.ends_with("_count"))
                    && name.contains("duration_seconds")
            })
            .map(|(key, _, value)| (key.to_owned(), value))
            .collect();
        Ok(Scrape { values })
    }

    pub fn since(&self, before: &Scrape) -> Delta {
        let mut series = BTreeMap::new();
        for (key, after) in &self.values {
            let delta = after - before.values.get(key).copied().unwrap_or(0.0);
            let (name, labels) = key
                .split_once('{')
                .map(|(n, l)| (n, format!("{{{l}")))
                .unwrap_or((key, String::new()));
            let (base, is_count) = match (name.strip_suffix("_count"), name.strip_suffix("_sum")) {
                (Some(b), _) => (b, true),
                (_, Some(b)) => (b, false),
                _ => continue,
            };
            let entry = series
                .entry(format!("{base}{labels}"))
                .or_insert((0.0, 0.0));
            if is_count {
                entry.0 = delta;
            } else {
                entry.1 = delta;
            }
        }
        series.retain(|_, (count, _)| *count > 0.0);
        Delta { series }
    }
}

impl Delta {
    /// The stages as JSON, busiest first: runs per turn, mean, and time per turn.
    pub fn quiet(&self, turns: u64) -> Value {
        let turns = turns.max(1) as f64;
        let mut rows: Vec<(String, f64, f64)> = self
            .series
            .iter()
            .map(|(k, (count, sum))| (k.clone(), *count, *sum))
            .collect();
        rows.sort_by(|a, b| b.2.total_cmp(&a.2));
        let stages: Vec<Value> = rows
            .into_iter()
            .map(|(series, count, sum)| {
                json!({
                    "series": series,
                    "count": count,
                    "per_turn": count / turns,
                    "mean_ms": sum / count * 1000.0,
                    "ms_per_turn": sum / turns * 1000.0,
                })
            })
            .collect();
        json!({ "turns": turns, "stages": stages })
    }

    pub fn print(&self, turns: u64) -> Value {
        let value = self.quiet(turns);
        println!("server time per turn (from /metrics, this run only):");
        print_json(&value);
        value
    }
}

pub fn print_json(profile: &Value) {
    println!(
        "  {:<100} {:>9} {:>9} {:>11}",
        "stage", "per turn", "mean ms", "ms/turn"
    );
    for stage in profile["stages"].as_array().into_iter().flatten() {
        println!(
            "  {:<100} {:>9.2} {:>9.3} {:>11.3}",
            stage["series"].as_str().unwrap_or(""),
            stage["per_turn"].as_f64().unwrap_or(0.0),
            stage["mean_ms"].as_f64().unwrap_or(0.0),
            stage["ms_per_turn"].as_f64().unwrap_or(0.0)
        );
    }
}
