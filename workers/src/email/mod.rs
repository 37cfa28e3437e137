//! The email worker: a durable consumer of the events stream that sends the emails events call for.
//!
//! - staff: a ticket assigned to me (`ticket.updated`, change `assigned`); an urgent ticket created
//!   unassigned while no staff member is online (`ticket.created`); a ticket about to miss its SLA
//!   (`ticket.sla_warning`, to the assignee, or to supervisors and admins while nobody has it); each
//!   per the recipient's preferences, in their panel language;
//! - customers who left an address in the widget, in the conversation's language, each with an
//!   unsubscribe link: an agent's reply they did not see in the chat (`message.created` by an agent);
//!   the resolution of their case (`ticket.updated` to resolved or closed, once per ticket); the
//!   transcript they asked for (`conversation.transcript_requested`);
//! - an admin's resend of a failed email (`email.resend_requested`): the stored email, sent again.
//!
//! **Did the customer see the reply?** The notifier keeps a row per customer socket in
//! `customer_presence` (opened, last seen while open, closed). The worker handles an agent's reply only
//! `email.reply_grace_ms` after it was written (the message is delivered again later: [`Failure::Later`]),
//! then emails it only when no socket of that conversation was open at any moment since the reply: an
//! open socket received the push, and a widget that connected since then loaded the transcript. The grace
//! covers a widget reconnecting after a network blip. A notifier that dies leaves its rows "seen" for at
//! most [`PRESENCE_STALE`]; in that window a reply is taken as seen.
//!
//! Exactly one row per (event, kind, recipient) in `emails`, keyed by `dedup_key` (for the resolution:
//! per ticket): a redelivered event finds its rows and sends only those not yet `sent`. The row keeps
//! the rendered email, so a resend sends exactly what failed. A row is locked while it is being sent, so
//! a resend and a redelivery of the same email never send it twice at once. An SMTP failure is
//! transient: the row keeps `pending` with its attempts and error, the event is retried with backoff by
//! the runtime, and after the consumer's last delivery the row becomes `failed` (and the event a dead
//! letter). Customer emails to an address that unsubscribed become `skipped` (`skip_reason`
//! `unsubscribed`) and are not sent.
//!
//! The one window left is a crash after the SMTP server accepted a message and before its row says
//! `sent`: the event is redelivered after the ack wait and that email is sent again. It carries the
//! same `Message-ID` both times (derived from the row's id), so mail systems that de-duplicate by
//! `Message-ID` show it once; otherwise the recipient may see it twice. At-least-once, by design:
//! the alternative (mark sent before sending) would lose emails instead.

pub mod templates;

use std::time::Duration;

use joxai_platform::Platform;
use joxai_platform::config::SmtpConfig;
use joxai_platform::settings;
use joxai_schemas::RawEnvelope;
use joxai_schemas::events::{
    EmailResendRequested, MessageCreated, NamedMessageCreated, TicketCreated, TicketSlaWarning,
    TicketUpdated, TranscriptRequested,
};
use joxai_schemas::types::{Priority, Sender, TicketStatus};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message as Mail, Tokio1Executor};
use secrecy::ExposeSecret as _;
use uuid::Uuid;

use crate::runtime::{Delivery, Failure, Handler};
use templates::{EmailKind, Fields, TranscriptLine, render};

/// How long a customer socket whose notifier stopped renewing it still counts as open: three times the
/// notifier's renewal period (25 s), so one missed renewal never makes a connected customer look away.
pub const PRESENCE_STALE: Duration = Duration::from_secs(90);

/// One email to send, before it is rendered.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub kind: EmailKind,
    pub recipient: String,
    pub locale: String,
    pub fields: Fields,
    /// What makes this email one of a kind with its recipient and kind: the event's id, or the
    /// ticket's for the resolution (one per ticket, however often it is resolved and closed).
    pub key: Uuid,
}

pub struct EmailWorker {
    platform: Platform,
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Option<Mailbox>,
}

/// What an event asks of the worker.
enum Work {
    Send(Vec<Outgoing>),
    /// Send the stored email again (an admin's resend).
    Resend(Uuid),
}

impl EmailWorker {
    pub fn new(platform: Platform) -> anyhow::Result<Self> {
        let smtp = &platform.config.smtp;
        let (transport, from) = match &smtp.host {
            None => {
                tracing::info!("no SMTP host configured (JOXAI_SMTP__HOST): emails are not sent");
                (None, None)
            }
            Some(host) => (
                Some(transport(host, smtp)?),
                Some(smtp.from.parse::<Mailbox>()?),
            ),
        };
        Ok(Self {
            platform,
            transport,
            from,
        })
    }

    /// The emails an event calls for (reads preferences, contacts and presence; sends nothing). An
    /// agent's reply younger than the grace period is [`Failure::Later`].
    pub async fn emails_for(&self, raw: &RawEnvelope) -> Result<Vec<Outgoing>, Failure> {
        match self.work_for(raw).await? {
            Work::Send(emails) => Ok(emails),
            Work::Resend(_) => Ok(vec![]),
        }
    }

    async fn work_for(&self, raw: &RawEnvelope) -> Result<Work, Failure> {
        use joxai_schemas::envelope::Message as _;
        let client = self.platform.db.client().await?;
        let mut out = vec![];
        match raw.kind.as_str() {
            TicketUpdated::TYPE => {
                let event = raw.decode::<TicketUpdated>()?.payload;
                let ticket = &event.ticket;
                if event.change == "status_changed"
                    && matches!(ticket.status, TicketStatus::Resolved | TicketStatus::Closed)
                    && let Some(conversation_id) = ticket.conversation_id
                    && let Some((recipient, locale)) = self.contact(conversation_id).await?
                {
                    out.push(Outgoing {
                        kind: EmailKind::CustomerResolution,
                        recipient,
                        locale,
                        fields: ticket_fields(ticket),
                        key: ticket.id,
                    });
                }
                let Some(assignee) = ticket.assignee_id.filter(|_| event.change == "assigned")
                else {
                    return Ok(Work::Send(out));
                };
                let row = client
                    .query_opt(
                        "SELECT email FROM users WHERE id = $1 AND active",
                        &[&assignee],
                    )
                    .await
                    .map_err(db)?;
                let Some(row) = row else {
                    return Ok(Work::Send(out));
                };
                let preferences = settings::load_preferences(&self.platform.db, assignee).await?;
                if preferences.email.ticket_assigned {
                    out.push(Outgoing {
                        kind: EmailKind::TicketAssigned,
                        recipient: row.get(0),
                        locale: preferences.language,
                        fields: ticket_fields(ticket),
                        key: raw.id,
                    });
                }
            }
            TicketCreated::TYPE => {
                let ticket = raw.decode::<TicketCreated>()?.payload.ticket;
                if ticket.priority != Priority::Urgent || ticket.assignee_id.is_some() {
                    return Ok(Work::Send(out));
                }
                let online: i64 = client
                    .query_one(
                        "SELECT count(*) FROM users WHERE active AND availability = 'online'",
                        &[],
                    )
                    .await
                    .map_err(db)?
                    .get(0);
                if online > 0 {
                    return Ok(Work::Send(out));
                }
                let rows = client
                    .query(
                        "SELECT u.id, u.email FROM users u WHERE u.active AND u.role IN ('agent', 'supervisor', 'admin') ORDER BY u.id",
                        &[],
                    )
                    .await
                    .map_err(db)?;
                for row in rows {
                    let preferences =
                        settings::load_preferences(&self.platform.db, row.get(0)).await?;
                    if preferences.email.urgent_in_queue {
                        out.push(Outgoing {
                            kind: EmailKind::UrgentInQueue,
                            recipient: row.get(1),
                            locale: preferences.language,
                            fields: ticket_fields(&ticket),
                            key: raw.id,
                        });
                    }
                }
            }
            TicketSlaWarning::TYPE => {
                let event = raw.decode::<TicketSlaWarning>()?.payload;
                // The assignee; while nobody has the ticket, those who hand tickets out.
                let rows = client
                    .query(
                        "SELECT u.id, u.email FROM users u
                          WHERE u.active AND CASE WHEN $1::uuid IS NULL THEN u.role IN ('supervisor', 'admin') ELSE u.id = $1 END
                          ORDER BY u.id",
                        &[&event.ticket.assignee_id],
                    )
                    .await
                    .map_err(db)?;
                let due = event
                    .due_at
                    .to_offset(time::UtcOffset::UTC)
                    .format(time::macros::format_description!("[hour]:[minute] UTC"))
                    .unwrap_or_default();
                for row in rows {
                    let preferences =
                        settings::load_preferences(&self.platform.db, row.get(0)).await?;
                    if preferences.email.sla_warning {
                        out.push(Outgoing {
                            kind: EmailKind::SlaWarning,
                            recipient: row.get(1),
                            locale: preferences.language,
                            fields: Fields {
                                target: event.target.clone(),
                                due: due.clone(),
                                ..ticket_fields(&event.ticket)
                            },
                            key: raw.id,
                        });
                    }
                }
            }
            MessageCreated::TYPE => {
                // Agents' replies carry `author_name`: decode the named form.
                let event = raw.decode::<NamedMessageCreated>()?.payload;
                let message = &event.message.message;
                if message.sender != Sender::Agent {
                    return Ok(Work::Send(out));
                }
                let Some((recipient, _)) = self.contact(message.conversation_id).await? else {
                    return Ok(Work::Send(out));
                };
                let grace = Duration::from_millis(self.platform.config.email.reply_grace_ms);
                let age = time::OffsetDateTime::now_utc() - message.created_at;
                if age < grace {
                    return Err(Failure::Later(
                        (grace - age).unsigned_abs().max(Duration::from_millis(10)),
                    ));
                }
                if self
                    .saw_it(message.conversation_id, message.created_at)
                    .await?
                {
                    tracing::debug!(conversation_id = %message.conversation_id, message_id = %message.id, "the customer saw the reply in the chat: no email");
                    return Ok(Work::Send(out));
                }
                out.push(Outgoing {
                    kind: EmailKind::AgentReply,
                    recipient,
                    locale: event.locale,
                    fields: Fields {
                        text: message.text.clone(),
                        agent_name: event.message.author_name.clone().unwrap_or_default(),
                        ..Fields::default()
                    },
                    key: raw.id,
                });
            }
            TranscriptRequested::TYPE => {
                let conversation_id = raw.decode::<TranscriptRequested>()?.payload.conversation_id;
                let Some((recipient, locale)) = self.contact(conversation_id).await? else {
                    return Ok(Work::Send(out));
                };
                let rows = client
                    .query(
                        "SELECT m.sender, m.text, m.created_at, u.display_name FROM messages m
                           LEFT JOIN users u ON u.id = m.author_id
                          WHERE m.conversation_id = $1 ORDER BY m.created_at, m.id",
                        &[&conversation_id],
                    )
                    .await
                    .map_err(db)?;
                let es = locale == "es";
                let transcript = rows
                    .iter()
                    .map(|r| {
                        let sender: String = r.get(0);
                        let who = match sender.as_str() {
                            "customer" if es => "Usted".to_owned(),
                            "customer" => "You".to_owned(),
                            "agent" => r.get::<_, Option<String>>(3).unwrap_or_default(),
                            "bot" if es => "Asistente".to_owned(),
                            "bot" => "Assistant".to_owned(),
                            _ => "JoxAI".to_owned(),
                        };
                        let at: time::OffsetDateTime = r.get(2);
                        TranscriptLine {
                            who,
                            at: at
                                .to_offset(time::UtcOffset::UTC)
                                .format(time::macros::format_description!(
                                    "[year]-[month]-[day] [hour]:[minute] UTC"
                                ))
                                .unwrap_or_default(),
                            text: r.get(1),
                        }
                    })
                    .collect();
                out.push(Outgoing {
                    kind: EmailKind::CustomerTranscript,
                    recipient,
                    locale,
                    fields: Fields {
                        transcript,
                        ..Fields::default()
                    },
                    key: raw.id,
                });
            }
            EmailResendRequested::TYPE => {
                let email_id = raw.decode::<EmailResendRequested>()?.payload.email_id;
                return Ok(Work::Resend(email_id));
            }
            _ => {}
        }
        Ok(Work::Send(out))
    }

    /// The address a customer left for the conversation, and the conversation's language.
    async fn contact(&self, conversation_id: Uuid) -> Result<Option<(String, String)>, Failure> {
        let client = self.platform.db.client().await?;
        let row = client
            .query_opt(
                "SELECT k.email, coalesce(c.locale, 'en') FROM conversation_contacts k
                   LEFT JOIN conversations c ON c.id = k.conversation_id
                  WHERE k.conversation_id = $1",
                &[&conversation_id],
            )
            .await
            .map_err(db)?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// Whether a socket of the conversation's customer was open at some moment since `since`.
    async fn saw_it(
        &self,
        conversation_id: Uuid,
        since: time::OffsetDateTime,
    ) -> Result<bool, Failure> {
        let client = self.platform.db.client().await?;
        let stale = i32::try_from(PRESENCE_STALE.as_secs()).unwrap_or(90);
        let row = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM customer_presence WHERE conversation_id = $1
                                   AND coalesce(disconnected_at, seen_at + make_interval(secs => $3)) >= $2)",
                &[&conversation_id, &since, &f64::from(stale)],
            )
            .await
            .map_err(db)?;
        Ok(row.get(0))
    }

    /// The unsubscribe link of `address`; its page speaks the email's language.
    fn unsubscribe_url(&self, address: &str, locale: &str) -> String {
        let token = joxai_platform::email::unsubscribe_token(
            self.platform.config.jwt_secret.expose_secret().as_bytes(),
            address,
        );
        let lang = if locale == "es" { "&lang=es" } else { "" };
        format!(
            "{}/api/v1/unsubscribe?token={token}{lang}",
            self.platform.config.public_url
        )
    }

    /// Record one email (rendered) unless its row exists, then send it unless it was sent already.
    async fn send_once(
        &self,
        event_id: Uuid,
        email: &Outgoing,
        delivery: &Delivery,
    ) -> Result<(), Failure> {
        if self.transport.is_none() {
            return Ok(());
        }
        let profile = self.platform.settings.current().settings.profile.clone();
        let mut fields = email.fields.clone();
        if email.kind.is_customer() {
            fields.unsubscribe_url = Some(self.unsubscribe_url(&email.recipient, &email.locale));
        }
        let rendered = render(email.kind, &email.locale, &profile, &fields);
        let dedup_key = format!(
            "{}:{}:{}",
            email.key,
            email.kind.as_str(),
            email.recipient.to_lowercase()
        );
        // The id is derived from the key, so a redelivery computes the same id and `Message-ID`.
        let id = Uuid::new_v5(&Uuid::NAMESPACE_OID, dedup_key.as_bytes());
        let client = self.platform.db.client().await?;
        client
            .execute(
                "INSERT INTO emails (id, dedup_key, event_id, kind, recipient, locale, subject, body_text, body_html)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (dedup_key) DO NOTHING",
                &[
                    &id,
                    &dedup_key,
                    &event_id,
                    &email.kind.as_str(),
                    &email.recipient,
                    &email.locale,
                    &rendered.subject,
                    &rendered.text,
                    &rendered.html,
                ],
            )
            .await
            .map_err(db)?;
        drop(client);
        self.deliver(id, delivery).await
    }

    /// Send the stored email `id` unless it was sent or skipped; record the outcome. The row is locked
    /// from the check to the record, so two deliveries of it (a redelivery and a resend) never both send.
    pub async fn deliver(&self, id: Uuid, delivery: &Delivery) -> Result<(), Failure> {
        let (Some(transport), Some(from)) = (&self.transport, &self.from) else {
            return Ok(());
        };
        let mut client = self.platform.db.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let Some(row) = tx
            .query_opt(
                "SELECT kind, recipient, subject, body_text, body_html, status,
                        EXISTS (SELECT 1 FROM email_unsubscribes u WHERE u.email = lower(e.recipient))
                   FROM emails e WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await
            .map_err(db)?
        else {
            return Ok(());
        };
        let (kind, recipient, subject): (String, String, String) =
            (row.get(0), row.get(1), row.get(2));
        let (text, html): (Option<String>, Option<String>) = (row.get(3), row.get(4));
        let (status, unsubscribed): (String, bool) = (row.get(5), row.get(6));
        let masked = joxai_platform::email::mask(&recipient);
        if status == "sent" || status == "skipped" {
            return Ok(());
        }
        let customer = EmailKind::ALL
            .iter()
            .any(|k| k.as_str() == kind && k.is_customer());
        // The row's next status, error and skip reason.
        let (status, error, reason): (&str, Option<String>, Option<&str>) = if customer
            && unsubscribed
        {
            ("skipped", None, Some("unsubscribed"))
        } else if let (Some(text), Some(html)) = (text, html) {
            match recipient.parse::<Mailbox>() {
                // A bad address will not improve with retries.
                Err(e) => ("failed", Some(e.to_string()), None),
                Ok(to) => {
                    let mail = Mail::builder()
                        .from(from.clone())
                        .to(to)
                        .subject(subject)
                        .message_id(Some(format!("<{id}@joxai>")))
                        .multipart(MultiPart::alternative_plain_html(text, html))
                        .map_err(|e| Failure::Permanent(e.into()))?;
                    match transport.send(mail).await {
                        Ok(_) => ("sent", None, None),
                        Err(e) => {
                            let last =
                                delivery.attempt >= self.platform.config.workers.email.max_deliver;
                            tx.execute(
                                "UPDATE emails SET status = $2, attempts = attempts + 1, last_error = $3 WHERE id = $1",
                                &[&id, &if last { "failed" } else { "pending" }, &e.to_string()],
                            )
                            .await
                            .map_err(db)?;
                            tx.commit().await.map_err(db)?;
                            tracing::warn!(email_id = %id, kind, recipient = %masked, attempt = delivery.attempt, error = %e, "email not sent");
                            return Err(Failure::Transient(anyhow::anyhow!("SMTP: {e}")));
                        }
                    }
                }
            }
        } else {
            (
                "failed",
                Some("this email was recorded before JoxAI kept its content, so it cannot be sent again".into()),
                None,
            )
        };
        let attempted = i32::from(status != "skipped");
        tx.execute(
            "UPDATE emails SET status = $2, attempts = attempts + $3, last_error = $4, skip_reason = $5,
                    sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END
              WHERE id = $1",
            &[&id, &status, &attempted, &error, &reason],
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        tracing::info!(email_id = %id, kind, recipient = %masked, status, "email handled");
        Ok(())
    }
}

fn db(e: tokio_postgres::Error) -> Failure {
    joxai_platform::db::DbError::from(e).into()
}

fn ticket_fields(ticket: &joxai_schemas::types::TicketView) -> Fields {
    Fields {
        ticket_number: ticket.number.clone(),
        ticket_subject: ticket.subject.clone(),
        priority: ticket.priority.as_str().to_owned(),
        ..Fields::default()
    }
}

fn transport(host: &str, smtp: &SmtpConfig) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let tls = match smtp.tls.as_str() {
        "tls" => Tls::Wrapper(TlsParameters::new(host.to_owned())?),
        "starttls" => Tls::Required(TlsParameters::new(host.to_owned())?),
        _ => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(smtp.port)
        .tls(tls)
        .timeout(Some(std::time::Duration::from_millis(smtp.timeout_ms)));
    if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            password.expose_secret().to_owned(),
        ));
    }
    Ok(builder.build())
}

impl Handler for EmailWorker {
    async fn handle(&self, delivery: &Delivery) -> Result<(), Failure> {
        let raw = RawEnvelope::parse(&delivery.payload)?;
        let emails = match self.work_for(&raw).await? {
            Work::Send(emails) => emails,
            Work::Resend(id) => return self.deliver(id, delivery).await,
        };
        // Every email of the event is tried; the event is done only when all are sent (the sent
        // ones are skipped on the retry).
        let mut failure = None;
        for email in &emails {
            if let Err(e) = self.send_once(raw.id, email, delivery).await {
                failure.get_or_insert(e);
            }
        }
        failure.map_or(Ok(()), Err)
    }
}
