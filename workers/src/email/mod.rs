//! The email worker: a durable consumer of the events stream that sends the emails events call for.
//!
//! - staff: a ticket assigned to me (`ticket.updated`, change `assigned`); an urgent ticket created
//!   unassigned while no staff member is online (`ticket.created`); each per the recipient's
//!   preferences, in their panel language;
//! - customers who left an address in the widget: an agent's reply (`message.created` by an agent),
//!   in the conversation's language.
//!
//! Exactly one row per (event, kind, recipient) in `emails`, keyed by `dedup_key`: a redelivered event
//! finds its rows and sends only those not yet `sent`. An SMTP failure is transient: the row keeps
//! `pending` with its attempts and error, the event is retried with backoff by the runtime, and after
//! the consumer's last delivery the row becomes `failed` (and the event a dead letter).
//!
//! The one window left is a crash after the SMTP server accepted a message and before its row says
//! `sent`: the event is redelivered after the ack wait and that email is sent again. It carries the
//! same `Message-ID` both times (derived from the row's id), so mail systems that de-duplicate by
//! `Message-ID` show it once; otherwise the recipient may see it twice. At-least-once, by design:
//! the alternative (mark sent before sending) would lose emails instead.

pub mod templates;

use joxai_platform::Platform;
use joxai_platform::config::SmtpConfig;
use joxai_platform::settings;
use joxai_schemas::RawEnvelope;
use joxai_schemas::events::{MessageCreated, NamedMessageCreated, TicketCreated, TicketUpdated};
use joxai_schemas::types::{Priority, Sender};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message as Mail, Tokio1Executor};
use secrecy::ExposeSecret as _;
use uuid::Uuid;

use crate::runtime::{Delivery, Failure, Handler};
use templates::{EmailKind, Fields, render};

/// One email to send, before it is rendered.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub kind: EmailKind,
    pub recipient: String,
    pub locale: String,
    pub fields: Fields,
}

pub struct EmailWorker {
    platform: Platform,
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Option<Mailbox>,
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

    /// The emails an event calls for (reads preferences and contacts; sends nothing).
    pub async fn emails_for(&self, raw: &RawEnvelope) -> Result<Vec<Outgoing>, Failure> {
        use joxai_schemas::envelope::Message as _;
        let client = self.platform.db.client().await?;
        let mut out = vec![];
        match raw.kind.as_str() {
            TicketUpdated::TYPE => {
                let event = raw.decode::<TicketUpdated>()?.payload;
                let Some(assignee) = event
                    .ticket
                    .assignee_id
                    .filter(|_| event.change == "assigned")
                else {
                    return Ok(out);
                };
                let row = client
                    .query_opt(
                        "SELECT email FROM users WHERE id = $1 AND active",
                        &[&assignee],
                    )
                    .await
                    .map_err(db)?;
                let Some(row) = row else { return Ok(out) };
                let preferences = settings::load_preferences(&self.platform.db, assignee).await?;
                if preferences.email.ticket_assigned {
                    out.push(Outgoing {
                        kind: EmailKind::TicketAssigned,
                        recipient: row.get(0),
                        locale: preferences.language,
                        fields: ticket_fields(&event.ticket),
                    });
                }
            }
            TicketCreated::TYPE => {
                let ticket = raw.decode::<TicketCreated>()?.payload.ticket;
                if ticket.priority != Priority::Urgent || ticket.assignee_id.is_some() {
                    return Ok(out);
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
                    return Ok(out);
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
                        });
                    }
                }
            }
            MessageCreated::TYPE => {
                // Agents' replies carry `author_name`: decode the named form.
                let event = raw.decode::<NamedMessageCreated>()?.payload;
                if event.message.message.sender != Sender::Agent {
                    return Ok(out);
                }
                let conversation_id = event.message.message.conversation_id;
                let row = client
                    .query_opt(
                        "SELECT email FROM conversation_contacts WHERE conversation_id = $1",
                        &[&conversation_id],
                    )
                    .await
                    .map_err(db)?;
                if let Some(row) = row {
                    out.push(Outgoing {
                        kind: EmailKind::AgentReply,
                        recipient: row.get(0),
                        locale: event.locale,
                        fields: Fields {
                            text: event.message.message.text.clone(),
                            agent_name: event.message.author_name.clone().unwrap_or_default(),
                            ..Fields::default()
                        },
                    });
                }
            }
            _ => {}
        }
        Ok(out)
    }

    /// Send one email unless its row says it was sent already; record the outcome.
    async fn send_once(
        &self,
        event_id: Uuid,
        email: &Outgoing,
        delivery: &Delivery,
    ) -> Result<(), Failure> {
        let (Some(transport), Some(from)) = (&self.transport, &self.from) else {
            return Ok(());
        };
        let profile = self.platform.settings.current().settings.profile.clone();
        let rendered = render(email.kind, &email.locale, &profile, &email.fields);
        let dedup_key = format!(
            "{event_id}:{}:{}",
            email.kind.as_str(),
            email.recipient.to_lowercase()
        );
        let client = self.platform.db.client().await?;
        // The id is derived from the key, so a redelivery computes the same id and `Message-ID`.
        let id = Uuid::new_v5(&Uuid::NAMESPACE_OID, dedup_key.as_bytes());
        let row = client
            .query_one(
                "INSERT INTO emails (id, dedup_key, event_id, kind, recipient, locale, subject)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (dedup_key) DO UPDATE SET dedup_key = EXCLUDED.dedup_key
                 RETURNING status",
                &[
                    &id,
                    &dedup_key,
                    &event_id,
                    &email.kind.as_str(),
                    &email.recipient,
                    &email.locale,
                    &rendered.subject,
                ],
            )
            .await
            .map_err(db)?;
        let status: String = row.get(0);
        if status == "sent" {
            return Ok(());
        }
        let to: Mailbox = match email.recipient.parse() {
            Ok(to) => to,
            Err(e) => {
                // A bad address will not improve with retries.
                client
                    .execute("UPDATE emails SET status = 'failed', attempts = attempts + 1, last_error = $2 WHERE id = $1", &[&id, &e.to_string()])
                    .await
                    .map_err(db)?;
                return Ok(());
            }
        };
        let mail = Mail::builder()
            .from(from.clone())
            .to(to)
            .subject(rendered.subject.clone())
            .message_id(Some(format!("<{id}@joxai>")))
            .multipart(MultiPart::alternative_plain_html(
                rendered.text.clone(),
                rendered.html.clone(),
            ))
            .map_err(|e| Failure::Permanent(e.into()))?;
        match transport.send(mail).await {
            Ok(_) => {
                client
                    .execute("UPDATE emails SET status = 'sent', attempts = attempts + 1, last_error = NULL, sent_at = now() WHERE id = $1", &[&id])
                    .await
                    .map_err(db)?;
                tracing::info!(email_id = %id, kind = email.kind.as_str(), "email sent");
                Ok(())
            }
            Err(e) => {
                let last = delivery.attempt >= self.platform.config.workers.email.max_deliver;
                let status = if last { "failed" } else { "pending" };
                client
                    .execute(
                        "UPDATE emails SET status = $2, attempts = attempts + 1, last_error = $3 WHERE id = $1",
                        &[&id, &status, &e.to_string()],
                    )
                    .await
                    .map_err(db)?;
                tracing::warn!(email_id = %id, kind = email.kind.as_str(), attempt = delivery.attempt, error = %e, "email not sent");
                Err(Failure::Transient(anyhow::anyhow!("SMTP: {e}")))
            }
        }
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
        let emails = self.emails_for(&raw).await?;
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
