//! LLM providers: the Anthropic Messages API and OpenAI Chat Completions (which also covers any
//! OpenAI-compatible server, such as a bank's own model).
//!
//! What leaves the process is redacted first (card numbers, security codes). The model must answer in
//! a structured shape — `{"reply": "…", "handoff": null | {"reason", "priority"}}` (a forced tool call
//! with Anthropic, JSON mode with OpenAI) — so a hand-over is a field, never guessed from prose. The
//! whole call, retries included, fits inside `ai_timeout_ms`, shorter than the consumer's ack wait;
//! 429 and 5xx are retried with backoff, honouring `Retry-After`. Output is sanitised before anyone
//! sees it: no HTML, no `javascript:` links.

use std::time::{Duration, Instant};

use backon::BackoffBuilder as _;
use joxai_platform::config::Config;
use joxai_platform::metrics::metrics;
use joxai_schemas::commands::Handoff;
use joxai_schemas::types::{EscalationReason, Priority};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Anthropic,
    OpenAi,
}

impl Provider {
    pub fn label(self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
            Provider::OpenAi => "openai",
        }
    }
}

/// A configured LLM client.
pub struct Llm {
    provider: Provider,
    http: reqwest::Client,
    base_url: String,
    api_key: SecretString,
    model: String,
    deadline: Duration,
    max_attempts: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LlmReply {
    pub reply: String,
    pub handoff: Option<Handoff>,
}

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the provider did not answer in time")]
    Timeout,
    #[error("the provider answered {0}")]
    Status(u16),
    #[error("the provider could not be reached: {0}")]
    Transport(String),
    #[error("the provider's answer was not in the required shape: {0}")]
    Malformed(String),
}

impl LlmError {
    pub fn kind(&self) -> &'static str {
        match self {
            LlmError::Timeout => "timeout",
            LlmError::Status(429) => "rate_limited",
            LlmError::Status(_) => "status",
            LlmError::Transport(_) => "transport",
            LlmError::Malformed(_) => "malformed",
        }
    }
}

/// One message of the conversation as the model sees it.
#[derive(Debug, Clone)]
pub struct Turn {
    /// `user` (the customer) or `assistant` (the bank: bot or agent).
    pub role: &'static str,
    pub text: String,
}

impl Llm {
    /// The configured provider, or `None` to answer offline.
    pub fn from_config(config: &Config) -> Option<Llm> {
        let llm = &config.llm;
        let provider = match llm.provider.as_deref() {
            Some("anthropic") => Provider::Anthropic,
            Some("openai") => Provider::OpenAi,
            Some(_) => return None,
            None if llm.anthropic_api_key.is_some() => Provider::Anthropic,
            None if llm.openai_api_key.is_some() => Provider::OpenAi,
            None => return None,
        };
        let api_key = match provider {
            Provider::Anthropic => llm.anthropic_api_key.clone(),
            Provider::OpenAi => llm.openai_api_key.clone(),
        }
        .unwrap_or_else(|| SecretString::from(String::new()));
        let (base_url, model) = match provider {
            Provider::Anthropic => ("https://api.anthropic.com", "claude-sonnet-4-5"),
            Provider::OpenAi => ("https://api.openai.com", "gpt-4o-mini"),
        };
        let deadline = Duration::from_millis(config.ai_timeout_ms);
        Some(Llm {
            provider,
            http: reqwest::Client::builder().timeout(deadline).build().ok()?,
            base_url: llm
                .base_url
                .clone()
                .unwrap_or_else(|| base_url.into())
                .trim_end_matches('/')
                .to_owned(),
            api_key,
            model: llm.model.clone().unwrap_or_else(|| model.into()),
            deadline,
            max_attempts: llm.max_attempts.max(1),
        })
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// Ask the model for an answer. Everything sent is redacted; the answer is sanitised.
    pub async fn answer(&self, system: &str, turns: &[Turn]) -> Result<LlmReply, LlmError> {
        let system = joxai_nlu::redact::redact(system).into_owned();
        let turns: Vec<Turn> = turns
            .iter()
            .map(|t| Turn {
                role: t.role,
                text: joxai_nlu::redact::redact(&t.text).into_owned(),
            })
            .collect();
        let label = self.provider.label();
        let started = Instant::now();
        let result = tokio::time::timeout(self.deadline, self.with_retries(&system, &turns))
            .await
            .unwrap_or(Err(LlmError::Timeout));
        let m = metrics();
        m.llm_duration
            .with_label_values(&[label])
            .observe(started.elapsed().as_secs_f64());
        if let Err(e) = &result {
            m.llm_errors.with_label_values(&[label, e.kind()]).inc();
        }
        result
    }

    async fn with_retries(&self, system: &str, turns: &[Turn]) -> Result<LlmReply, LlmError> {
        let mut delays = backon::ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(200))
            .with_max_delay(Duration::from_secs(5))
            .with_jitter()
            .build();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.call(system, turns).await {
                Ok(reply) => return Ok(reply),
                Err((e, retry_after)) => {
                    let retryable = matches!(
                        e,
                        LlmError::Status(429)
                            | LlmError::Status(500..=599)
                            | LlmError::Transport(_)
                    );
                    if !retryable || attempt >= self.max_attempts {
                        return Err(e);
                    }
                    let delay = retry_after
                        .or_else(|| delays.next())
                        .unwrap_or(Duration::from_secs(1));
                    tracing::warn!(provider = self.provider.label(), attempt, ?delay, error = %e, "LLM call failed, retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// One HTTP call. On failure also returns the server's `Retry-After`, if it gave one.
    async fn call(
        &self,
        system: &str,
        turns: &[Turn],
    ) -> Result<LlmReply, (LlmError, Option<Duration>)> {
        let request = match self.provider {
            Provider::Anthropic => self
                .http
                .post(format!("{}/v1/messages", self.base_url))
                .header("x-api-key", self.api_key.expose_secret())
                .header("anthropic-version", "2023-06-01")
                .json(&anthropic_body(&self.model, system, turns)),
            Provider::OpenAi => self
                .http
                .post(format!("{}/v1/chat/completions", self.base_url))
                .bearer_auth(self.api_key.expose_secret())
                .json(&openai_body(&self.model, system, turns)),
        };
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                (LlmError::Timeout, None)
            } else {
                (LlmError::Transport(e.to_string()), None)
            }
        })?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                // Never wait longer than the whole call may take.
                .map(|secs| Duration::from_secs(secs).min(self.deadline));
            return Err((LlmError::Status(status.as_u16()), retry_after));
        }
        let body: Value = response
            .json()
            .await
            .map_err(|e| (LlmError::Malformed(e.to_string()), None))?;
        let (structured, tokens) = match self.provider {
            Provider::Anthropic => parse_anthropic(&body),
            Provider::OpenAi => parse_openai(&body),
        }
        .map_err(|e| (e, None))?;
        let m = metrics();
        m.llm_tokens
            .with_label_values(&[self.provider.label(), "input"])
            .inc_by(tokens.0);
        m.llm_tokens
            .with_label_values(&[self.provider.label(), "output"])
            .inc_by(tokens.1);
        to_reply(structured).map_err(|e| (e, None))
    }
}

const REASONS: [&str; 4] = [
    "customer_asked",
    "urgent_intent",
    "needs_human_action",
    "frustration",
];
const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];

fn reply_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "reply": { "type": "string", "description": "The message to the customer, plain text." },
            "handoff": {
                "type": ["object", "null"],
                "description": "Set only when a person from the bank must take over.",
                "properties": {
                    "reason": { "type": "string", "enum": REASONS },
                    "priority": { "type": "string", "enum": PRIORITIES }
                },
                "required": ["reason", "priority"]
            }
        },
        "required": ["reply"]
    })
}

pub fn anthropic_body(model: &str, system: &str, turns: &[Turn]) -> Value {
    json!({
        "model": model,
        "max_tokens": 600,
        "system": system,
        "messages": turns.iter().map(|t| json!({ "role": t.role, "content": t.text })).collect::<Vec<_>>(),
        "tools": [{ "name": "respond", "description": "Send the reply to the customer.", "input_schema": reply_schema() }],
        "tool_choice": { "type": "tool", "name": "respond" }
    })
}

pub fn openai_body(model: &str, system: &str, turns: &[Turn]) -> Value {
    let system = format!(
        "{system}\n\nAnswer with a JSON object only: {{\"reply\": string, \"handoff\": null or {{\"reason\": one of {REASONS:?}, \"priority\": one of {PRIORITIES:?}}}}}."
    );
    let mut messages = vec![json!({ "role": "system", "content": system })];
    messages.extend(
        turns
            .iter()
            .map(|t| json!({ "role": t.role, "content": t.text })),
    );
    json!({ "model": model, "max_tokens": 600, "response_format": { "type": "json_object" }, "messages": messages })
}

type Parsed = (Value, (u64, u64));

fn parse_anthropic(body: &Value) -> Result<Parsed, LlmError> {
    let input = body["content"]
        .as_array()
        .and_then(|blocks| {
            blocks
                .iter()
                .find(|b| b["type"] == "tool_use" && b["name"] == "respond")
        })
        .map(|b| b["input"].clone())
        .ok_or_else(|| LlmError::Malformed("no respond tool call".into()))?;
    let usage = (
        body["usage"]["input_tokens"].as_u64().unwrap_or(0),
        body["usage"]["output_tokens"].as_u64().unwrap_or(0),
    );
    Ok((input, usage))
}

fn parse_openai(body: &Value) -> Result<Parsed, LlmError> {
    let content = body["choices"][0]["message"]["content"]
        .as_str()
        .ok_or_else(|| LlmError::Malformed("no message content".into()))?;
    let value: Value = serde_json::from_str(content)
        .map_err(|e| LlmError::Malformed(format!("content is not JSON: {e}")))?;
    let usage = (
        body["usage"]["prompt_tokens"].as_u64().unwrap_or(0),
        body["usage"]["completion_tokens"].as_u64().unwrap_or(0),
    );
    Ok((value, usage))
}

#[derive(Deserialize)]
struct Structured {
    reply: String,
    #[serde(default)]
    handoff: Option<StructuredHandoff>,
}

#[derive(Deserialize)]
struct StructuredHandoff {
    reason: EscalationReason,
    priority: Priority,
}

fn to_reply(value: Value) -> Result<LlmReply, LlmError> {
    let structured: Structured =
        serde_json::from_value(value).map_err(|e| LlmError::Malformed(e.to_string()))?;
    let reply = sanitize(&structured.reply);
    if reply.trim().is_empty() {
        return Err(LlmError::Malformed("empty reply".into()));
    }
    Ok(LlmReply {
        reply,
        handoff: structured.handoff.map(|h| Handoff {
            reason: h.reason,
            priority: h.priority,
        }),
    })
}

/// Make model output safe to show: no HTML tags, no script or data links, bounded length. Clients
/// render text as text anyway; this is the second line of defence.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // Only `<` that opens a tag (`<b`, `</`, `<!`) starts one: "less than 5 < 7" stays.
            '<' if !in_tag
                && chars
                    .peek()
                    .is_some_and(|n| n.is_ascii_alphabetic() || *n == '/' || *n == '!') =>
            {
                in_tag = true
            }
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let mut cleaned = out;
    for scheme in ["javascript:", "vbscript:", "data:"] {
        loop {
            let lower = cleaned.to_lowercase();
            let Some(at) = lower.find(scheme) else { break };
            // Byte offsets of `lower` match `cleaned` for these ASCII schemes only when the text
            // before them lowercases to the same length; fall back to removing by characters.
            if lower.len() == cleaned.len() {
                cleaned.replace_range(at..at + scheme.len(), "");
            } else {
                cleaned = cleaned
                    .replace(scheme, "")
                    .replace(&scheme.to_uppercase(), "");
                break;
            }
        }
    }
    cleaned
        .chars()
        .take(2000)
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn hostile_model_output_is_stripped_of_html_and_script_links() {
        assert_eq!(
            sanitize("Hello <script>alert(1)</script>there"),
            "Hello alert(1)there"
        );
        assert_eq!(sanitize("<img src=x onerror=alert(1)>Hi"), "Hi");
        assert_eq!(sanitize("click JavaScript:alert(1)"), "click alert(1)");
        assert_eq!(
            sanitize("see data:text/html;base64,xx"),
            "see text/html;base64,xx"
        );
        assert_eq!(
            sanitize("Your balance is €10 > €5"),
            "Your balance is €10 > €5"
        );
        assert_eq!(sanitize("a fee < 1% applies"), "a fee < 1% applies");
        assert_eq!(sanitize(&"a".repeat(5000)).len(), 2000);
    }
}
