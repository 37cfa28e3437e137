//! The settings a bank edits in the panel: its profile (what the widget shows), business hours, SLA
//! targets, auto-assignment and the escalation thresholds it may tune. Stored in Postgres as one
//! validated document (`system_settings`), audited on every change (`settings_audit`), and applied
//! live: the writer publishes [`SettingsChanged`] and every process's [`Live`] reloads the row.
//!
//! Infrastructure and secrets (addresses, passwords, keys) stay in [`crate::config::Config`]; a
//! setting lives here when the bank's staff may change it while JoxAI runs.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt as _;
use joxai_schemas::events::SettingsChanged;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime, Time, UtcOffset};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::bus::Bus;
use crate::db::{Db, DbError};

/// The languages JoxAI speaks; every per-language text must exist in each.
pub const LOCALES: [&str; 2] = ["en", "es"];

/// Intents where money or a card may be at risk right now. Whatever a bank sets, these always reach a
/// person, at high priority or above: the bot must never be left alone with a stolen card. The
/// escalation policy table (`joxai-workers`) has a test that this list is exactly its urgent intents.
pub const PROTECTED_INTENTS: [&str; 9] = [
    "lost_or_stolen_card",
    "lost_or_stolen_phone",
    "compromised_card",
    "card_payment_not_recognised",
    "cash_withdrawal_not_recognised",
    "direct_debit_payment_not_recognised",
    "card_swallowed",
    "freeze_card",
    "freeze_account",
];

/// Bounds of the low-confidence threshold: below 0.2 the bot would answer questions it plainly did not
/// understand; above 0.8 nearly every question would go to a person.
pub const CONFIDENCE_BOUNDS: (f32, f32) = (0.2, 0.8);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemSettings {
    pub profile: BankProfile,
    pub hours: BusinessHours,
    pub sla: BTreeMap<String, SlaTarget>,
    /// How long before an SLA due time the assignee (or, for an unassigned ticket, supervisors and
    /// admins) is emailed, in minutes. Absent from documents saved before it existed: 10.
    #[serde(default = "default_sla_warning_minutes")]
    pub sla_warning_minutes: u32,
    pub assignment: Assignment,
    pub escalation: EscalationSettings,
}

/// What customers see: the widget themes itself with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankProfile {
    pub name: String,
    /// `#rrggbb`.
    pub primary_colour: String,
    pub accent_colour: String,
    /// An `https://` address (or a path on this site, starting with `/`).
    pub logo_url: Option<String>,
    /// Per language (`en`, `es`).
    pub texts: BTreeMap<String, LocalTexts>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalTexts {
    pub greeting: String,
    /// What the bot says about a question outside the bank's business.
    pub out_of_scope: String,
    /// What a customer is told when nobody is at work.
    pub after_hours: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// Fixed offset from UTC (`+01:00`), used when no [`Self::time_zone`] is set.
    pub utc_offset: String,
    /// A time-zone name (`Europe/Madrid`). Set, it replaces `utc_offset` and follows summer time by
    /// itself (the zone database ships in the binary), so the bank never edits the offset twice a year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// `monday` … `sunday`; a missing day is closed all day.
    pub weekly: BTreeMap<String, OpeningHours>,
    /// Closed all day (`YYYY-MM-DD`, in the bank's offset).
    pub holidays: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningHours {
    /// `HH:MM`, `opens` before `closes`.
    pub opens: String,
    pub closes: String,
}

/// Targets for one priority, in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaTarget {
    pub first_response_minutes: u32,
    pub resolution_minutes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    pub auto_assign: bool,
    /// Conversations an agent handles at once unless their own capacity says otherwise.
    pub default_capacity: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationSettings {
    /// Below this confidence the bot's answer goes to a person (within [`CONFIDENCE_BOUNDS`]).
    pub low_confidence_threshold: f32,
    /// Per intent: `bot` (the bot answers) or the priority of the ticket a person gets.
    pub intent_routes: BTreeMap<String, IntentRoute>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentRoute {
    Bot,
    Low,
    Normal,
    High,
    Urgent,
}

pub const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];
pub const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// One invalid field: `field` is a dotted path into the document (`profile.primary_colour`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl Default for SystemSettings {
    fn default() -> Self {
        let texts = BTreeMap::from([
            (
                "en".to_owned(),
                LocalTexts {
                    greeting: "Hello! How can we help you today?".into(),
                    out_of_scope: "I can only help with your banking. Is there anything about your account or cards?".into(),
                    after_hours: "Our team is away right now. Your message is in the queue and we will answer when we open.".into(),
                },
            ),
            (
                "es".to_owned(),
                LocalTexts {
                    greeting: "¡Hola! ¿En qué podemos ayudarle hoy?".into(),
                    out_of_scope: "Solo puedo ayudarle con su banca. ¿Tiene alguna pregunta sobre su cuenta o sus tarjetas?".into(),
                    after_hours: "Nuestro equipo no está disponible ahora. Su mensaje está en la cola y le responderemos al abrir.".into(),
                },
            ),
        ]);
        let weekday = || OpeningHours {
            opens: "09:00".into(),
            closes: "18:00".into(),
        };
        let sla = |first, resolution| SlaTarget {
            first_response_minutes: first,
            resolution_minutes: resolution,
        };
        Self {
            profile: BankProfile {
                name: "JoxAI Bank".into(),
                primary_colour: "#1f4e79".into(),
                accent_colour: "#f2a900".into(),
                logo_url: None,
                texts,
            },
            hours: BusinessHours {
                utc_offset: "+00:00".into(),
                time_zone: None,
                weekly: WEEKDAYS[..5]
                    .iter()
                    .map(|d| ((*d).to_owned(), weekday()))
                    .collect(),
                holidays: vec![],
            },
            sla: BTreeMap::from([
                ("low".to_owned(), sla(24 * 60, 5 * 24 * 60)),
                ("normal".to_owned(), sla(4 * 60, 2 * 24 * 60)),
                ("high".to_owned(), sla(60, 24 * 60)),
                ("urgent".to_owned(), sla(5, 4 * 60)),
            ]),
            sla_warning_minutes: default_sla_warning_minutes(),
            assignment: Assignment {
                auto_assign: true,
                default_capacity: 5,
            },
            escalation: EscalationSettings {
                low_confidence_threshold: 0.35,
                intent_routes: BTreeMap::new(),
            },
        }
    }
}

fn default_sla_warning_minutes() -> u32 {
    10
}

fn is_colour(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit())
}

fn parse_hhmm(s: &str) -> Option<Time> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    Time::from_hms(h.parse().ok()?, m.parse().ok()?, 0).ok()
}

fn parse_offset(s: &str) -> Option<UtcOffset> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let time = parse_hhmm(&s[1..])?;
    UtcOffset::from_hms(sign * time.hour() as i8, sign * time.minute() as i8, 0).ok()
}

fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

impl SystemSettings {
    /// Every problem at once, so the panel can show them all next to their fields.
    pub fn validate(&self) -> Vec<Invalid> {
        let mut errors = vec![];
        let mut bad = |field: String, message: &str| {
            errors.push(Invalid {
                field,
                message: message.to_owned(),
            })
        };
        let p = &self.profile;
        if p.name.trim().is_empty() || p.name.chars().count() > 80 {
            bad("profile.name".into(), "1 to 80 characters");
        }
        for (field, value) in [
            ("primary_colour", &p.primary_colour),
            ("accent_colour", &p.accent_colour),
        ] {
            if !is_colour(value) {
                bad(format!("profile.{field}"), "a colour like #1f4e79");
            }
        }
        if let Some(url) = &p.logo_url {
            let ok = (url.starts_with("https://")
                || (url.starts_with('/') && !url.starts_with("//")))
                && url.len() <= 500
                && !url
                    .chars()
                    .any(|c| c.is_whitespace() || c == '"' || c == '<' || c == '>');
            if !ok {
                bad(
                    "profile.logo_url".into(),
                    "an https:// address or a path starting with /",
                );
            }
        }
        for locale in LOCALES {
            match p.texts.get(locale) {
                None => bad(format!("profile.texts.{locale}"), "required"),
                Some(t) => {
                    for (field, value) in [
                        ("greeting", &t.greeting),
                        ("out_of_scope", &t.out_of_scope),
                        ("after_hours", &t.after_hours),
                    ] {
                        if value.trim().is_empty() || value.chars().count() > 500 {
                            bad(
                                format!("profile.texts.{locale}.{field}"),
                                "1 to 500 characters",
                            );
                        }
                    }
                }
            }
        }
        for locale in p.texts.keys() {
            if !LOCALES.contains(&locale.as_str()) {
                bad(format!("profile.texts.{locale}"), "languages are en and es");
            }
        }
        let h = &self.hours;
        if parse_offset(&h.utc_offset).is_none_or(|o| o.whole_hours().abs() > 14) {
            bad("hours.utc_offset".into(), "an offset like +01:00 or -05:00");
        }
        for (day, hours) in &h.weekly {
            if !WEEKDAYS.contains(&day.as_str()) {
                bad(format!("hours.weekly.{day}"), "monday to sunday");
                continue;
            }
            match (parse_hhmm(&hours.opens), parse_hhmm(&hours.closes)) {
                (Some(opens), Some(closes)) if opens < closes => {}
                (Some(_), Some(_)) => bad(
                    format!("hours.weekly.{day}.closes"),
                    "after the opening time",
                ),
                _ => bad(format!("hours.weekly.{day}"), "times like 09:00"),
            }
        }
        if let Some(zone) = &h.time_zone
            && (zone.len() > 64 || jiff::tz::TimeZone::get(zone).is_err())
        {
            bad(
                "hours.time_zone".into(),
                "a time-zone name like Europe/Madrid",
            );
        }
        if h.holidays.len() > 366 {
            bad("hours.holidays".into(), "at most 366 days");
        }
        for (i, day) in h.holidays.iter().enumerate() {
            if parse_date(day).is_none() {
                bad(format!("hours.holidays.{i}"), "a date like 2026-12-25");
            }
        }
        for priority in PRIORITIES {
            match self.sla.get(priority) {
                None => bad(format!("sla.{priority}"), "required"),
                Some(t) => {
                    // A year at most: longer is a typo, and zero would breach at once.
                    if !(1..=525_600).contains(&t.first_response_minutes) {
                        bad(
                            format!("sla.{priority}.first_response_minutes"),
                            "1 to 525600 minutes",
                        );
                    }
                    if t.resolution_minutes < t.first_response_minutes
                        || t.resolution_minutes > 525_600
                    {
                        bad(
                            format!("sla.{priority}.resolution_minutes"),
                            "at least the first response target, at most 525600",
                        );
                    }
                }
            }
        }
        for priority in self.sla.keys() {
            if !PRIORITIES.contains(&priority.as_str()) {
                bad(
                    format!("sla.{priority}"),
                    "priorities are low, normal, high and urgent",
                );
            }
        }
        // A day at most: earlier than that is not "about to breach".
        if !(1..=1440).contains(&self.sla_warning_minutes) {
            bad("sla_warning_minutes".into(), "1 to 1440 minutes");
        }
        if !(1..=50).contains(&self.assignment.default_capacity) {
            bad("assignment.default_capacity".into(), "1 to 50");
        }
        let e = &self.escalation;
        let (low, high) = CONFIDENCE_BOUNDS;
        if !(low..=high).contains(&e.low_confidence_threshold) {
            bad(
                "escalation.low_confidence_threshold".into(),
                "between 0.2 and 0.8",
            );
        }
        for (intent, route) in &e.intent_routes {
            let field = format!("escalation.intent_routes.{intent}");
            if intent.is_empty()
                || intent.len() > 64
                || !intent.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            {
                bad(field, "an intent name");
            } else if PROTECTED_INTENTS.contains(&intent.as_str())
                && matches!(
                    route,
                    IntentRoute::Bot | IntentRoute::Low | IntentRoute::Normal
                )
            {
                bad(
                    field,
                    "money or a card may be at risk: this intent always goes to a person at high or urgent priority",
                );
            }
        }
        errors
    }

    /// The bank's clock: its time zone when it names one, else its fixed offset.
    fn zone(&self) -> Option<Zone> {
        match &self.hours.time_zone {
            Some(name) => jiff::tz::TimeZone::get(name)
                .ok()
                .map(|tz| Zone::Named(name.clone(), tz)),
            None => parse_offset(&self.hours.utc_offset).map(Zone::Fixed),
        }
    }

    /// Opening and closing times on `date` (local), or `None` when closed all day.
    fn hours_on(&self, date: Date) -> Option<(Time, Time)> {
        if self
            .hours
            .holidays
            .iter()
            .filter_map(|d| parse_date(d))
            .any(|d| d == date)
        {
            return None;
        }
        let day = WEEKDAYS[date.weekday().number_days_from_monday() as usize];
        let hours = self.hours.weekly.get(day)?;
        Some((parse_hhmm(&hours.opens)?, parse_hhmm(&hours.closes)?))
    }

    /// Whether the bank is open at `at` (its weekly hours, less its holidays).
    pub fn is_open_at(&self, at: OffsetDateTime) -> bool {
        let Some(zone) = self.zone() else { return true };
        let local = zone.local(at);
        self.hours_on(local.date())
            .is_some_and(|(opens, closes)| (opens..closes).contains(&local.time()))
    }

    /// When the bank next opens after `at` (`at` itself when it is open then); `None` when it has no
    /// opening hours in the coming year.
    pub fn next_opening(&self, at: OffsetDateTime) -> Option<Opening> {
        let zone = self.zone()?;
        let local = zone.local(at);
        // A year and a week: every weekday comes round, whatever the holidays.
        for days in 0..=372 {
            let date = local.date() + time::Duration::days(days);
            let Some((opens, closes)) = self.hours_on(date) else {
                continue;
            };
            if days == 0 && local.time() >= closes {
                continue;
            }
            let (time, at) = if days == 0 && local.time() >= opens {
                (local.time(), at)
            } else {
                (opens, zone.instant(date, opens))
            };
            let in_days = days;
            return Some(Opening {
                at,
                date,
                time,
                in_days,
                zone: zone.label(),
            });
        }
        None
    }

    /// The part anyone may read (the widget, before any sign-in).
    pub fn public(&self, now: OffsetDateTime) -> PublicSettings {
        PublicSettings {
            name: self.profile.name.clone(),
            primary_colour: self.profile.primary_colour.clone(),
            accent_colour: self.profile.accent_colour.clone(),
            logo_url: self.profile.logo_url.clone(),
            texts: self.profile.texts.clone(),
            open_now: self.is_open_at(now),
        }
    }

    /// What a ticket of `priority` (`low` … `urgent`) should meet.
    pub fn sla_for(&self, priority: &str) -> Option<SlaTarget> {
        self.sla.get(priority).copied()
    }
}

/// A bank's clock: a fixed offset or a named zone (whose offset changes with summer time).
enum Zone {
    Fixed(UtcOffset),
    Named(String, jiff::tz::TimeZone),
}

impl Zone {
    fn offset_at(&self, at: OffsetDateTime) -> UtcOffset {
        match self {
            Zone::Fixed(offset) => *offset,
            Zone::Named(_, tz) => jiff::Timestamp::from_second(at.unix_timestamp())
                .ok()
                .and_then(|t| UtcOffset::from_whole_seconds(tz.to_offset(t).seconds()).ok())
                .unwrap_or(UtcOffset::UTC),
        }
    }

    fn local(&self, at: OffsetDateTime) -> OffsetDateTime {
        at.to_offset(self.offset_at(at))
    }

    /// The instant the bank's clocks show `time` on `date`. A time skipped by a summer-time change
    /// (02:30 on the last Sunday of March in Madrid) becomes the first instant after the gap.
    fn instant(&self, date: Date, time: Time) -> OffsetDateTime {
        match self {
            Zone::Fixed(offset) => date.with_time(time).assume_offset(*offset),
            Zone::Named(_, tz) => {
                let civil = jiff::civil::DateTime::new(
                    date.year() as i16,
                    u8::from(date.month()) as i8,
                    date.day() as i8,
                    time.hour() as i8,
                    time.minute() as i8,
                    0,
                    0,
                );
                civil
                    .ok()
                    .and_then(|c| c.to_zoned(tz.clone()).ok())
                    .and_then(|z| {
                        OffsetDateTime::from_unix_timestamp(z.timestamp().as_second()).ok()
                    })
                    .unwrap_or_else(|| date.with_time(time).assume_utc())
            }
        }
    }

    /// What the customer reads after a time: the zone's name, or the offset (`UTC+01:00`).
    fn label(&self) -> String {
        match self {
            Zone::Named(name, _) => name.clone(),
            Zone::Fixed(offset) if offset.is_utc() => "UTC".into(),
            Zone::Fixed(offset) => {
                let sign = if offset.is_negative() { '-' } else { '+' };
                format!(
                    "UTC{sign}{:02}:{:02}",
                    offset.whole_hours().abs(),
                    offset.minutes_past_hour().abs()
                )
            }
        }
    }
}

/// The next time the bank opens, on its own clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Opening {
    pub at: OffsetDateTime,
    /// The bank's local date and time of the opening.
    pub date: Date,
    pub time: Time,
    /// Days from the local date it was asked on (0: today).
    pub in_days: i64,
    /// `Europe/Madrid`, or `UTC+01:00` for a fixed offset.
    pub zone: String,
}

const WEEKDAY_NAMES: [(&str, &str); 7] = [
    ("Monday", "lunes"),
    ("Tuesday", "martes"),
    ("Wednesday", "miércoles"),
    ("Thursday", "jueves"),
    ("Friday", "viernes"),
    ("Saturday", "sábado"),
    ("Sunday", "domingo"),
];
const MONTH_NAMES: [(&str, &str); 12] = [
    ("January", "enero"),
    ("February", "febrero"),
    ("March", "marzo"),
    ("April", "abril"),
    ("May", "mayo"),
    ("June", "junio"),
    ("July", "julio"),
    ("August", "agosto"),
    ("September", "septiembre"),
    ("October", "octubre"),
    ("November", "noviembre"),
    ("December", "diciembre"),
];

impl Opening {
    /// "Monday 09:00 (Europe/Madrid)" / "lunes a las 09:00 (Europe/Madrid)" in `locale` (`en`, `es`); the date is added when the opening is a
    /// week or more away (after a long holiday), where the weekday alone would be ambiguous.
    pub fn describe(&self, locale: &str) -> String {
        let (en_day, es_day) =
            WEEKDAY_NAMES[self.date.weekday().number_days_from_monday() as usize];
        let (en_month, es_month) = MONTH_NAMES[u8::from(self.date.month()) as usize - 1];
        let clock = format!("{:02}:{:02}", self.time.hour(), self.time.minute());
        let far = self.in_days >= 7;
        if locale.starts_with("es") {
            let date = if far {
                format!(" {} de {es_month}", self.date.day())
            } else {
                String::new()
            };
            format!("{es_day}{date} a las {clock} ({})", self.zone)
        } else {
            let date = if far {
                format!(" {} {en_month}", self.date.day())
            } else {
                String::new()
            };
            format!("{en_day}{date} {clock} ({})", self.zone)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicSettings {
    pub name: String,
    pub primary_colour: String,
    pub accent_colour: String,
    pub logo_url: Option<String>,
    pub texts: BTreeMap<String, LocalTexts>,
    pub open_now: bool,
}

/// The settings as stored, with their version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stored {
    pub version: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
    pub settings: SystemSettings,
}

/// Read the settings; the defaults (version 0) until an administrator saves them once.
pub async fn load(db: &Db) -> Result<Stored, DbError> {
    let client = db.client().await?;
    let row = client
        .query_opt(
            "SELECT value, version, updated_at FROM system_settings",
            &[],
        )
        .await?;
    Ok(match row {
        None => Stored {
            version: 0,
            updated_at: None,
            settings: SystemSettings::default(),
        },
        Some(row) => {
            let value: serde_json::Value = row.get(0);
            // A row written by a newer build with fields this one does not know: keep the defaults
            // rather than stop; the log says why.
            let settings = serde_json::from_value(value).unwrap_or_else(|e| {
                tracing::error!(error = %e, "stored settings do not decode; using the defaults");
                SystemSettings::default()
            });
            Stored {
                version: row.get(1),
                updated_at: Some(row.get(2)),
                settings,
            }
        }
    })
}

/// Why a save was refused.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("invalid settings")]
    Invalid(Vec<Invalid>),
    #[error("the settings changed since version {0} was loaded")]
    Stale(i64),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Validate, store and audit new settings in one transaction, then tell every process. With
/// `expected_version`, refuse if someone else saved in between (two admins editing at once).
pub async fn save(
    db: &Db,
    bus: &Bus,
    actor: Uuid,
    settings: &SystemSettings,
    expected_version: Option<i64>,
) -> Result<Stored, SaveError> {
    let errors = settings.validate();
    if !errors.is_empty() {
        return Err(SaveError::Invalid(errors));
    }
    let value = serde_json::to_value(settings).map_err(|e| DbError::Conflict(e.to_string()))?;
    let mut client = db.client().await?;
    let tx = client.transaction().await.map_err(DbError::from)?;
    let before = tx
        .query_opt("SELECT value, version FROM system_settings FOR UPDATE", &[])
        .await
        .map_err(DbError::from)?;
    let current_version: i64 = before.as_ref().map_or(0, |r| r.get(1));
    if expected_version.is_some_and(|v| v != current_version) {
        return Err(SaveError::Stale(current_version));
    }
    let row = tx
        .query_one(
            "INSERT INTO system_settings (id, value, version, updated_at, updated_by) VALUES (true, $1, 1, now(), $2)
             ON CONFLICT (id) DO UPDATE SET value = $1, version = system_settings.version + 1, updated_at = now(), updated_by = $2
             RETURNING version, updated_at",
            &[&value, &actor],
        )
        .await
        .map_err(DbError::from)?;
    let version: i64 = row.get(0);
    let before_value: Option<serde_json::Value> = before.map(|r| r.get(0));
    tx.execute(
        "INSERT INTO settings_audit (actor_id, version, before, after) VALUES ($1, $2, $3, $4)",
        &[&actor, &version, &before_value, &value],
    )
    .await
    .map_err(DbError::from)?;
    tx.commit().await.map_err(DbError::from)?;
    announce(bus, version).await;
    Ok(Stored {
        version,
        updated_at: Some(row.get(1)),
        settings: settings.clone(),
    })
}

/// Publish [`SettingsChanged`]. The save is committed already: if the broker is down, processes
/// still pick the change up on their next periodic reload ([`RELOAD_EVERY`]), so a failed publish
/// is logged rather than undoing the save.
async fn announce(bus: &Bus, version: i64) {
    let envelope = joxai_schemas::Envelope::new(SettingsChanged { version });
    if let Err(e) = bus
        .publish(bus.subjects().settings_changed(), &envelope)
        .await
    {
        tracing::warn!(error = %e, version, "settings saved but the change could not be announced");
    }
}

/// A safety net under the event: a process that missed it (disconnected at that moment) is at most
/// this far behind.
pub const RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// This process's current settings, reloaded whenever [`SettingsChanged`] arrives.
#[derive(Clone)]
pub struct Live {
    current: Arc<watch::Sender<Arc<Stored>>>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("version", &self.current.borrow().version)
            .finish()
    }
}

impl Default for Live {
    fn default() -> Self {
        let (current, _) = watch::channel(Arc::new(Stored {
            version: 0,
            updated_at: None,
            settings: SystemSettings::default(),
        }));
        Self {
            current: Arc::new(current),
        }
    }
}

impl Live {
    pub fn current(&self) -> Arc<Stored> {
        self.current.borrow().clone()
    }

    /// Changes as they are loaded (for a test, or a task that must react).
    pub fn subscribe(&self) -> watch::Receiver<Arc<Stored>> {
        self.current.subscribe()
    }

    /// Load from Postgres now; keeps the newest version seen (events may arrive out of order).
    pub async fn reload(&self, db: &Db) -> Result<(), DbError> {
        let stored = load(db).await?;
        self.current.send_if_modified(|current| {
            // A stored row at version 0 (a deployment's or the demo's starting point, written
            // before any administrator saved) replaces the built-in defaults, which have no row.
            let newer = stored.version > current.version
                || (current.updated_at.is_none() && stored.updated_at.is_some());
            if newer {
                tracing::info!(version = stored.version, "settings loaded");
                *current = Arc::new(stored);
            }
            newer
        });
        Ok(())
    }

    /// Follow [`SettingsChanged`] (a plain subscription: JetStream publishes reach it too) and
    /// reload on each, and every [`RELOAD_EVERY`], until `shutdown`.
    pub fn follow(&self, db: Db, bus: Bus, shutdown: CancellationToken) {
        let live = self.clone();
        tokio::spawn(async move {
            let subject = bus.subjects().settings_changed();
            let mut subscription = match bus.client().subscribe(subject).await {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot follow settings changes; reloading periodically only");
                    None
                }
            };
            // Before the first migration the table may not exist yet: the defaults stand until then.
            let _ = live.reload(&db).await;
            let mut tick = tokio::time::interval(RELOAD_EVERY);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tick.tick() => {}
                    Some(_) = async { match subscription.as_mut() { Some(s) => s.next().await, None => std::future::pending().await } } => {}
                }
                if let Err(e) = live.reload(&db).await {
                    tracing::warn!(error = %e, "settings reload failed; keeping the current ones");
                }
            }
        });
    }
}

/// A staff member's own preferences. Missing keys take their defaults, so a preference added later
/// needs no migration of stored rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StaffPreferences {
    /// The panel's language, and the language of the emails they get: `en` or `es`.
    pub language: String,
    pub desktop_notifications: bool,
    pub email: EmailPreferences,
}

/// Which emails a staff member gets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailPreferences {
    /// A ticket was assigned to me.
    pub ticket_assigned: bool,
    /// An urgent ticket is waiting in the queue.
    pub urgent_in_queue: bool,
    /// A ticket of mine (or, unassigned, any ticket for supervisors and admins) is about to miss its
    /// SLA (first response or resolution).
    pub sla_warning: bool,
}

impl Default for StaffPreferences {
    fn default() -> Self {
        Self {
            language: "en".into(),
            desktop_notifications: true,
            email: EmailPreferences::default(),
        }
    }
}

impl Default for EmailPreferences {
    fn default() -> Self {
        Self {
            ticket_assigned: true,
            urgent_in_queue: true,
            sla_warning: true,
        }
    }
}

impl StaffPreferences {
    pub fn validate(&self) -> Vec<Invalid> {
        if LOCALES.contains(&self.language.as_str()) {
            vec![]
        } else {
            vec![Invalid {
                field: "language".into(),
                message: "en or es".into(),
            }]
        }
    }
}

/// A staff member's preferences; the defaults until they save their own.
pub async fn load_preferences(db: &Db, user_id: Uuid) -> Result<StaffPreferences, DbError> {
    let client = db.client().await?;
    let row = client
        .query_opt(
            "SELECT value FROM staff_preferences WHERE user_id = $1",
            &[&user_id],
        )
        .await?;
    Ok(row
        .and_then(|r| serde_json::from_value(r.get(0)).ok())
        .unwrap_or_default())
}

pub async fn save_preferences(
    db: &Db,
    user_id: Uuid,
    preferences: &StaffPreferences,
) -> Result<(), DbError> {
    let value = serde_json::to_value(preferences).map_err(|e| DbError::Conflict(e.to_string()))?;
    let client = db.client().await?;
    client
        .execute(
            "INSERT INTO staff_preferences (user_id, value) VALUES ($1, $2)
             ON CONFLICT (user_id) DO UPDATE SET value = $2, updated_at = now()",
            &[&user_id, &value],
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        assert_eq!(SystemSettings::default().validate(), vec![]);
    }

    #[test]
    fn a_protected_intent_can_never_be_left_to_the_bot_or_lowered() {
        for intent in PROTECTED_INTENTS {
            for route in [IntentRoute::Bot, IntentRoute::Low, IntentRoute::Normal] {
                let mut s = SystemSettings::default();
                s.escalation.intent_routes.insert(intent.into(), route);
                let errors = s.validate();
                assert_eq!(errors.len(), 1, "{intent} -> {route:?}");
                assert_eq!(
                    errors[0].field,
                    format!("escalation.intent_routes.{intent}")
                );
            }
            let mut s = SystemSettings::default();
            s.escalation
                .intent_routes
                .insert(intent.into(), IntentRoute::Urgent);
            assert_eq!(s.validate(), vec![]);
        }
    }

    #[test]
    fn every_invalid_field_is_named() {
        let mut s = SystemSettings::default();
        s.profile.primary_colour = "red".into();
        s.profile.logo_url = Some("javascript:alert(1)".into());
        s.profile.texts.remove("es");
        s.hours.utc_offset = "CET".into();
        s.hours.weekly.insert(
            "monday".into(),
            OpeningHours {
                opens: "18:00".into(),
                closes: "09:00".into(),
            },
        );
        s.assignment.default_capacity = 0;
        s.escalation.low_confidence_threshold = 0.05;
        let fields: Vec<String> = s.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "profile.primary_colour",
                "profile.logo_url",
                "profile.texts.es",
                "hours.utc_offset",
                "hours.weekly.monday.closes",
                "assignment.default_capacity",
                "escalation.low_confidence_threshold",
            ]
        );
    }

    #[test]
    fn opening_hours_follow_the_offset_and_holidays() {
        let mut s = SystemSettings::default();
        s.hours.utc_offset = "+02:00".into();
        // Monday 2026-12-07 07:30 UTC is 09:30 at +02:00: open.
        let monday = time::macros::datetime!(2026-12-07 07:30 UTC);
        assert!(s.is_open_at(monday));
        // 06:30 UTC is 08:30 local: not yet.
        assert!(!s.is_open_at(time::macros::datetime!(2026-12-07 06:30 UTC)));
        // Saturday: closed.
        assert!(!s.is_open_at(time::macros::datetime!(2026-12-05 10:00 UTC)));
        s.hours.holidays.push("2026-12-07".into());
        assert!(!s.is_open_at(monday));
    }

    #[test]
    fn a_named_time_zone_follows_summer_time() {
        let mut s = SystemSettings::default();
        s.hours.time_zone = Some("Europe/Madrid".into());
        assert_eq!(s.validate(), vec![]);
        // Winter (UTC+1): 08:30 UTC is 09:30 in Madrid. Summer (UTC+2): 07:30 UTC is 09:30.
        assert!(s.is_open_at(time::macros::datetime!(2026-12-07 08:30 UTC)));
        assert!(!s.is_open_at(time::macros::datetime!(2026-12-07 07:30 UTC)));
        assert!(s.is_open_at(time::macros::datetime!(2026-06-08 07:30 UTC)));
        s.hours.time_zone = Some("Mars/Olympus_Mons".into());
        assert_eq!(s.validate()[0].field, "hours.time_zone");
    }

    #[test]
    fn the_next_opening_skips_nights_weekends_and_holidays() {
        let mut s = SystemSettings::default();
        s.hours.time_zone = Some("Europe/Madrid".into());
        // Friday 2026-12-04 19:00 Madrid (18:00 UTC): closed until Monday 09:00 Madrid = 08:00 UTC.
        let friday_evening = time::macros::datetime!(2026-12-04 18:00 UTC);
        let next = s.next_opening(friday_evening).expect("opens");
        assert_eq!(next.at, time::macros::datetime!(2026-12-07 08:00 UTC));
        assert_eq!(next.describe("en"), "Monday 09:00 (Europe/Madrid)");
        assert_eq!(next.describe("es"), "lunes a las 09:00 (Europe/Madrid)");
        // Open now: the opening is now.
        let open = time::macros::datetime!(2026-12-04 10:00 UTC);
        assert_eq!(s.next_opening(open).map(|o| o.at), Some(open));
        // Early on a weekday: today at opening time.
        let early = s
            .next_opening(time::macros::datetime!(2026-12-07 05:00 UTC))
            .expect("opens");
        assert_eq!(
            (early.at, early.in_days),
            (time::macros::datetime!(2026-12-07 08:00 UTC), 0)
        );
        // A holiday week: the date is named.
        s.hours.holidays = (7..=11).map(|d| format!("2026-12-{d:02}")).collect();
        let after = s.next_opening(friday_evening).expect("opens");
        assert_eq!(
            after.describe("en"),
            "Monday 14 December 09:00 (Europe/Madrid)"
        );
        assert_eq!(
            after.describe("es"),
            "lunes 14 de diciembre a las 09:00 (Europe/Madrid)"
        );
        // A fixed offset is shown as one.
        let mut fixed = SystemSettings::default();
        fixed.hours.utc_offset = "-05:00".into();
        assert!(
            fixed
                .next_opening(friday_evening)
                .expect("opens")
                .describe("en")
                .ends_with("(UTC-05:00)")
        );
        fixed.hours.weekly.clear();
        assert_eq!(fixed.next_opening(friday_evening), None);
    }
}
