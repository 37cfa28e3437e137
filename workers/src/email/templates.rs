//! The emails' words, in English and Spanish, as plain text and HTML. Every value from outside
//! (a ticket subject, an agent's reply, the bank's name) is HTML-escaped in the HTML part, and every
//! body goes through the card-data detector ([`joxai_nlu::redact::redact`]) before it is sent.

use joxai_platform::settings::BankProfile;

/// The kinds of email JoxAI sends; the name is stored with each email and matches the preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailKind {
    /// Staff: a ticket was assigned to me.
    TicketAssigned,
    /// Staff: an urgent ticket is waiting with nobody online.
    UrgentInQueue,
    /// Staff: a ticket is about to miss its SLA (first response or resolution).
    SlaWarning,
    /// Customer: an agent answered in the chat while they were away.
    AgentReply,
    /// Customer: their case was resolved or closed.
    CustomerResolution,
    /// Customer: the conversation's transcript, which they asked for.
    CustomerTranscript,
}

impl EmailKind {
    pub const ALL: [EmailKind; 6] = [
        EmailKind::TicketAssigned,
        EmailKind::UrgentInQueue,
        EmailKind::SlaWarning,
        EmailKind::AgentReply,
        EmailKind::CustomerResolution,
        EmailKind::CustomerTranscript,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::TicketAssigned => "ticket_assigned",
            EmailKind::UrgentInQueue => "urgent_in_queue",
            EmailKind::SlaWarning => "sla_warning",
            EmailKind::AgentReply => "agent_reply",
            EmailKind::CustomerResolution => "customer_resolution",
            EmailKind::CustomerTranscript => "customer_transcript",
        }
    }

    /// Customer emails carry an unsubscribe link and are not sent to an address that used it.
    pub fn is_customer(self) -> bool {
        matches!(
            self,
            EmailKind::AgentReply | EmailKind::CustomerResolution | EmailKind::CustomerTranscript
        )
    }
}

/// One message of a transcript.
#[derive(Debug, Clone, Default)]
pub struct TranscriptLine {
    /// "You", the assistant, or the agent's name.
    pub who: String,
    /// `HH:MM` (UTC).
    pub at: String,
    pub text: String,
}

/// What a template needs.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    pub ticket_number: String,
    pub ticket_subject: String,
    pub priority: String,
    /// The agent's reply (customer emails).
    pub text: String,
    pub agent_name: String,
    /// SLA warnings: `first_response` or `resolution`, and the due time (`HH:MM UTC`).
    pub target: String,
    pub due: String,
    /// Customer transcripts.
    pub transcript: Vec<TranscriptLine>,
    /// Customer emails: the link that unsubscribes the address.
    pub unsubscribe_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Mask card data, then drop line breaks from a header value (a subject is one line).
fn masked(s: &str) -> String {
    joxai_nlu::redact::redact(s).into_owned()
}

/// Render `kind` in `locale` (`es`, anything else is English) with the bank's profile.
pub fn render(kind: EmailKind, locale: &str, profile: &BankProfile, f: &Fields) -> Rendered {
    let es = locale == "es";
    let bank = masked(&profile.name);
    let number = masked(&f.ticket_number);
    let subject_line = masked(&f.ticket_subject);
    let text = masked(&f.text);
    let agent = masked(&f.agent_name);
    let (subject, lines): (String, Vec<String>) = match (kind, es) {
        (EmailKind::TicketAssigned, false) => (
            format!("Ticket {number} was assigned to you"),
            vec![
                format!("Ticket {number} ({}) is now yours:", f.priority),
                subject_line.clone(),
                "Open the panel to answer the customer.".into(),
            ],
        ),
        (EmailKind::TicketAssigned, true) => (
            format!("Se le ha asignado el ticket {number}"),
            vec![
                format!(
                    "El ticket {number} ({}) es ahora suyo:",
                    priority_es(&f.priority)
                ),
                subject_line.clone(),
                "Abra el panel para responder al cliente.".into(),
            ],
        ),
        (EmailKind::UrgentInQueue, false) => (
            format!("Urgent ticket {number} is waiting and nobody is online"),
            vec![
                format!("Urgent ticket {number} is in the queue:"),
                subject_line.clone(),
                "Nobody is online to take it. Please sign in to the panel.".into(),
            ],
        ),
        (EmailKind::UrgentInQueue, true) => (
            format!("El ticket urgente {number} espera y no hay nadie conectado"),
            vec![
                format!("El ticket urgente {number} está en la cola:"),
                subject_line.clone(),
                "No hay nadie conectado para atenderlo. Entre en el panel, por favor.".into(),
            ],
        ),
        (EmailKind::SlaWarning, false) => {
            let what = if f.target == "resolution" {
                "be resolved"
            } else {
                "get a first answer"
            };
            (
                format!("Ticket {number} must {what} by {}", f.due),
                vec![
                    format!("Ticket {number} ({}) must {what} by {}:", f.priority, f.due),
                    subject_line.clone(),
                    "Open the panel to deal with it before the time runs out.".into(),
                ],
            )
        }
        (EmailKind::SlaWarning, true) => {
            let what = if f.target == "resolution" {
                "resolverse"
            } else {
                "recibir una primera respuesta"
            };
            (
                format!("El ticket {number} debe {what} antes de las {}", f.due),
                vec![
                    format!(
                        "El ticket {number} ({}) debe {what} antes de las {}:",
                        priority_es(&f.priority),
                        f.due
                    ),
                    subject_line.clone(),
                    "Abra el panel para atenderlo antes de que se acabe el plazo.".into(),
                ],
            )
        }
        (EmailKind::CustomerResolution, false) => (
            format!("{bank}: your request {number} is resolved"),
            vec![
                format!("We have finished working on your request {number}."),
                "If you need anything else, open the chat on our website and write to us. We are happy to help.".into(),
            ],
        ),
        (EmailKind::CustomerResolution, true) => (
            format!("{bank}: su solicitud {number} está resuelta"),
            vec![
                format!("Hemos terminado de atender su solicitud {number}."),
                "Si necesita algo más, abra el chat de nuestra web y escríbanos. Estaremos encantados de ayudarle.".into(),
            ],
        ),
        (EmailKind::CustomerTranscript, false) => {
            let mut lines = vec![format!("Here is your conversation with {bank}, as you asked:")];
            lines.extend(transcript_lines(&f.transcript));
            (format!("{bank}: your conversation"), lines)
        }
        (EmailKind::CustomerTranscript, true) => {
            let mut lines = vec![format!("Esta es su conversación con {bank}, como nos pidió:")];
            lines.extend(transcript_lines(&f.transcript));
            (format!("{bank}: su conversación"), lines)
        }
        (EmailKind::AgentReply, false) => (
            format!("{bank}: {agent} answered your message"),
            vec![
                format!("{agent} from {bank} wrote:"),
                text.clone(),
                "Reply in the chat on our website to continue the conversation.".into(),
            ],
        ),
        (EmailKind::AgentReply, true) => (
            format!("{bank}: {agent} ha respondido a su mensaje"),
            vec![
                format!("{agent}, de {bank}, escribió:"),
                text.clone(),
                "Responda en el chat de nuestra web para continuar la conversación.".into(),
            ],
        ),
    };
    let footer = if es {
        format!(
            "Este correo lo envía {bank} a través de JoxAI. Nunca le pediremos el número de su tarjeta ni sus contraseñas."
        )
    } else {
        format!(
            "This email is sent by {bank} through JoxAI. We will never ask for your card number or passwords."
        )
    };
    let subject = subject.replace(['\r', '\n'], " ");
    let unsubscribe = f
        .unsubscribe_url
        .as_ref()
        .filter(|_| kind.is_customer())
        .map(|url| {
            let words = if es {
                "¿No quiere recibir más correos nuestros? Dese de baja aquí:"
            } else {
                "Don't want any more emails from us? Unsubscribe here:"
            };
            (words, url.as_str())
        });
    let mut text_body = format!("{}\n\n--\n{footer}\n", lines.join("\n\n"));
    if let Some((words, url)) = unsubscribe {
        text_body.push_str(&format!("{words} {url}\n"));
    }
    let unsubscribe_html = unsubscribe
        .map(|(words, url)| {
            format!(
                "<p style=\"color:#666;font-size:12px\">{} <a href=\"{url}\">{url}</a></p>",
                escape_html(words),
                url = escape_html(url)
            )
        })
        .unwrap_or_default();
    let colour = escape_html(&profile.primary_colour);
    let paragraphs: String = lines
        .iter()
        .map(|l| format!("<p>{}</p>", escape_html(l).replace('\n', "<br>")))
        .collect();
    let html = format!(
        "<!doctype html><html lang=\"{lang}\"><body style=\"font-family:sans-serif\"><h2 style=\"color:{colour}\">{name}</h2>{paragraphs}<hr><p style=\"color:#666;font-size:12px\">{footer}</p>{unsubscribe_html}</body></html>",
        lang = if es { "es" } else { "en" },
        name = escape_html(&bank),
        footer = escape_html(&footer),
    );
    Rendered {
        subject,
        text: text_body,
        html,
    }
}

/// A transcript's messages, each on its own lines ("Ana (14:02):" then the text), card data masked.
fn transcript_lines(transcript: &[TranscriptLine]) -> Vec<String> {
    transcript
        .iter()
        .map(|l| format!("{} ({}):\n{}", masked(&l.who), l.at, masked(&l.text)))
        .collect()
}

fn priority_es(priority: &str) -> &str {
    match priority {
        "low" => "baja",
        "normal" => "normal",
        "high" => "alta",
        "urgent" => "urgente",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use joxai_platform::settings::SystemSettings;

    #[test]
    fn markup_in_any_field_is_escaped_in_the_html_part() {
        let profile = SystemSettings::default().profile;
        let f = Fields {
            text: "<script>alert('x')</script> & more".into(),
            agent_name: "<b>Eve</b>".into(),
            ..Fields::default()
        };
        let r = render(EmailKind::AgentReply, "en", &profile, &f);
        assert!(
            !r.html.contains("<script>") && !r.html.contains("<b>Eve"),
            "{}",
            r.html
        );
        assert!(
            r.html
                .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more")
        );
        assert!(r.text.contains("<script>"), "plain text stays as written");
    }

    #[test]
    fn a_card_number_never_reaches_an_email_body_or_subject() {
        let profile = SystemSettings::default().profile;
        let f = Fields {
            text: "your card 4111 1111 1111 1111 is blocked".into(),
            ticket_subject: "card 4111111111111111".into(),
            ..Fields::default()
        };
        let f = Fields {
            transcript: vec![TranscriptLine {
                who: "Ana 4111-1111-1111-1111".into(),
                at: "10:00".into(),
                text: "my card is 4111 1111 1111 1111".into(),
            }],
            ..f
        };
        for kind in ALL_KINDS {
            for locale in ["en", "es"] {
                let r = render(kind, locale, &profile, &f);
                for part in [&r.subject, &r.text, &r.html] {
                    let digits: String = part.chars().filter(char::is_ascii_digit).collect();
                    assert!(
                        !digits.contains("4111111111111111"),
                        "{kind:?}/{locale}: {part}"
                    );
                }
            }
        }
    }

    const ALL_KINDS: [EmailKind; 6] = EmailKind::ALL;

    #[test]
    fn customer_emails_and_only_they_carry_the_unsubscribe_link_escaped() {
        let profile = SystemSettings::default().profile;
        let f = Fields {
            unsubscribe_url: Some(
                "https://chat.bank.example/api/v1/unsubscribe?token=ab.cd&x=\"<".into(),
            ),
            ..Fields::default()
        };
        for kind in ALL_KINDS {
            for locale in ["en", "es"] {
                let r = render(kind, locale, &profile, &f);
                assert_eq!(
                    r.text
                        .contains("https://chat.bank.example/api/v1/unsubscribe?token=ab.cd"),
                    kind.is_customer(),
                    "{kind:?}/{locale}: {}",
                    r.text
                );
                assert_eq!(
                    r.html.contains("token=ab.cd&amp;x=&quot;&lt;"),
                    kind.is_customer()
                );
                assert!(!r.html.contains("x=\"<"), "{}", r.html);
            }
        }
    }

    #[test]
    fn spanish_emails_are_in_spanish() {
        let profile = SystemSettings::default().profile;
        let f = Fields {
            ticket_number: "T-1".into(),
            priority: "high".into(),
            ..Fields::default()
        };
        assert!(
            render(EmailKind::TicketAssigned, "es", &profile, &f)
                .subject
                .starts_with("Se le ha asignado")
        );
        assert!(
            render(EmailKind::TicketAssigned, "en", &profile, &f)
                .subject
                .starts_with("Ticket T-1")
        );
    }
}
