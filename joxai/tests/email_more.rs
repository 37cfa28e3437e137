//! More emails, against a real SMTP server on loopback (see `mail_support`): a failed email listed for
//! admins and resent once; SLA warnings once per ticket and target, per preferences; customer emails
//! (the reply they did not see, the resolution, the transcript they asked for), each with a working
//! unsubscribe link and never a card number.

mod desk_helpers;
mod mail_support;
mod support;

use desk_helpers::{
    ADMIN, AGENT, SUPERVISOR, call, escalate, get, post, set_availability, user_id,
};
use mail_support::{Catcher, app_with_smtp, app_with_smtp_and, folder, to};
use serde_json::{Value, json};
use support::wait_until;

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

#[tokio::test]
async fn a_failed_email_is_listed_masked_for_admins_only_and_a_resend_delivers_it_once() {
    let port = 4743;
    let folder = folder();
    // Two deliveries and the email is given up: SMTP is down all along.
    let app = app_with_smtp_and(port, |f| f.merge(("workers.email.max_deliver", 2))).await;
    let admin = app.login(ADMIN).await;
    let agent = app.login(AGENT).await;
    let (conversation, token) = app.start_session().await;
    let ticket = escalate(&app, conversation, &token).await;
    let agent_id = user_id(&app, AGENT).await;
    let (status, body) = post(
        &app,
        &format!("/api/v1/tickets/{ticket}/assign"),
        &admin,
        json!({ "assignee_id": agent_id }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    wait_until("the assignment email failed for good", || async {
        app.count(
            "SELECT count(*) FROM emails WHERE kind = 'ticket_assigned' AND status = 'failed'",
            &[],
        )
        .await
            == 1
    })
    .await;

    let (status, page) = get(&app, "/api/v1/emails?status=failed", &admin).await;
    assert_eq!(status, 200, "{page}");
    assert!(page["next_cursor"].is_null());
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{page}");
    let email = &items[0];
    assert_eq!(email["recipient"], "a***@joxai.local", "masked: {email}");
    assert!(!page.to_string().contains(AGENT), "never the whole address");
    assert_eq!(email["kind"], "ticket_assigned");
    assert_eq!(email["status"], "failed");
    assert_eq!(email["locale"], "en");
    assert!(email["attempts"].as_i64().expect("attempts") >= 2);
    assert!(
        email["last_error"].is_string()
            && email["subject"].is_string()
            && email["created_at"].is_string()
    );
    let id = email["id"].as_str().expect("id").to_owned();

    // Agents and supervisors may neither see nor resend emails.
    let supervisor = app.login(SUPERVISOR).await;
    for token in [&agent, &supervisor] {
        assert_eq!(
            get(&app, "/api/v1/emails?status=failed", token).await.0,
            403
        );
        let (status, body) = post(
            &app,
            &format!("/api/v1/emails/{id}/resend"),
            token,
            json!({}),
        )
        .await;
        assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    }
    let (status, body) = get(&app, "/api/v1/emails?status=lost", &admin).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("validation_failed"))
    );

    // SMTP is back; the admin resends: delivered once, recorded as sent.
    let catcher = Catcher::start(port, &folder);
    let (status, body) = post(
        &app,
        &format!("/api/v1/emails/{id}/resend"),
        &admin,
        json!({}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "pending");
    wait_until(
        "the resent email arrives and is recorded as sent",
        || async {
            !to(&folder, AGENT).is_empty()
                && app
                    .count(
                        "SELECT count(*) FROM emails WHERE status = 'sent' AND resends = 1",
                        &[],
                    )
                    .await
                    == 1
        },
    )
    .await;
    // A second press finds it sent: 409, and nothing more is sent.
    let (status, body) = post(
        &app,
        &format!("/api/v1/emails/{id}/resend"),
        &admin,
        json!({}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    let (status, _) = post(
        &app,
        &format!("/api/v1/emails/{}/resend", uuid::Uuid::now_v7()),
        &admin,
        json!({}),
    )
    .await;
    assert_eq!(status, 404);
    tokio::time::sleep(std::time::Duration::from_millis(800)).await; // let any wrong second email land
    let mails = to(&folder, AGENT);
    assert_eq!(mails.len(), 1, "delivered once");
    assert!(
        mails[0]["subject"]
            .as_str()
            .expect("subject")
            .contains("was assigned to you")
    );
    catcher.stop();
    app.stop().await;
}

#[tokio::test]
async fn an_sla_warning_reaches_the_assignee_once_or_the_supervisors_of_an_unassigned_ticket_per_their_preferences()
 {
    let port = 4744;
    let folder = folder();
    let catcher = Catcher::start(port, &folder);
    let app = app_with_smtp(port).await;
    let agent = app.login(AGENT).await;
    let supervisor = app.login(SUPERVISOR).await;
    let admin = app.login(ADMIN).await;
    // Nobody takes tickets now, so the supervisor's ticket stays in the queue.
    for token in [&agent, &supervisor, &admin] {
        set_availability(&app, token, "offline").await;
    }
    // The supervisor wants no SLA warnings; the agent reads the panel in Spanish.
    let (status, body) = call(
        &app,
        "PUT",
        "/api/v1/me/preferences",
        Some(&supervisor),
        Some(json!({ "email": { "sla_warning": false } })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"]["sla_warning"], false);
    assert_eq!(
        body["email"]["ticket_assigned"], true,
        "the other kinds keep their defaults"
    );
    let (status, _) = call(
        &app,
        "PUT",
        "/api/v1/me/preferences",
        Some(&agent),
        Some(json!({ "language": "es" })),
    )
    .await;
    assert_eq!(status, 200);

    // Urgent tickets must get a first answer within 5 minutes (the default), inside the 10-minute lead.
    // The agent opens one (it is theirs); the supervisor opens another and leaves it unassigned.
    let (status, mine) = post(
        &app,
        "/api/v1/tickets",
        &agent,
        json!({ "subject": "Card blocked abroad", "priority": "urgent" }),
    )
    .await;
    assert_eq!(status, 201, "{mine}");
    let (status, queued) = post(
        &app,
        "/api/v1/tickets",
        &supervisor,
        json!({ "subject": "Unknown payment", "priority": "urgent" }),
    )
    .await;
    assert_eq!(status, 201, "{queued}");
    let agent_warnings = || async {
        to(&folder, AGENT)
            .into_iter()
            .filter(|m| {
                m["subject"]
                    .as_str()
                    .is_some_and(|s| s.contains("primera respuesta"))
            })
            .collect::<Vec<Value>>()
    };
    let admin_warnings = || async {
        to(&folder, ADMIN)
            .into_iter()
            .filter(|m| {
                m["subject"]
                    .as_str()
                    .is_some_and(|s| s.contains("must get a first answer"))
            })
            .collect::<Vec<Value>>()
    };
    wait_until("the SLA warnings arrive", || async {
        !agent_warnings().await.is_empty() && !admin_warnings().await.is_empty()
    })
    .await;
    let number = mine["number"].as_str().expect("number");
    assert!(
        agent_warnings().await[0]["subject"]
            .as_str()
            .expect("subject")
            .contains(number)
    );
    let queued_number = queued["number"].as_str().expect("number");
    assert!(
        admin_warnings().await[0]["subject"]
            .as_str()
            .expect("subject")
            .contains(queued_number)
    );

    // Another pass of the watch (as a second ticket worker would make) announces nothing again.
    let again = joxai_workers::runtime::warn_sla(&app.platform)
        .await
        .expect("watch");
    assert_eq!(again, 0);
    // A worker that crashed after publishing and before recording publishes the same warnings again:
    // the same ids, so no second email.
    app.query("DELETE FROM sla_warnings", &[]).await;
    let republished = joxai_workers::runtime::warn_sla(&app.platform)
        .await
        .expect("watch");
    assert_eq!(republished, 2);
    wait_until("every SLA warning email is recorded as sent", || async {
        app.count(
            "SELECT count(*) FROM emails WHERE kind = 'sla_warning' AND status <> 'sent'",
            &[],
        )
        .await
            == 0
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(5_500)).await; // one more tick of every watch
    assert_eq!(
        agent_warnings().await.len(),
        1,
        "one warning for the agent's ticket"
    );
    assert_eq!(
        admin_warnings().await.len(),
        1,
        "one warning for the queued ticket"
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM emails WHERE kind = 'sla_warning' AND recipient = $1",
            &[&SUPERVISOR]
        )
        .await,
        0,
        "the supervisor turned SLA warnings off"
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM emails WHERE kind = 'sla_warning'",
            &[]
        )
        .await,
        2,
        "the agent's ticket warns only the agent; the queued one the admin"
    );
    catcher.stop();
    app.stop().await;
}

#[tokio::test]
async fn a_customer_away_from_the_chat_gets_the_reply_and_resolution_with_an_unsubscribe_link_that_stops_later_emails()
 {
    let port = 4745;
    let folder = folder();
    let catcher = Catcher::start(port, &folder);
    let app = app_with_smtp(port).await;
    let admin = app.login(ADMIN).await;
    let agent = app.login(AGENT).await;
    let agent_id = user_id(&app, AGENT).await;

    // Two customers left their address: Carla stays in the chat, Bea has left.
    let (carla_conversation, carla) = app
        .start_session_with(json!({ "locale": "en", "email": "carla@example.com" }))
        .await;
    let (bea_conversation, bea) = app
        .start_session_with(json!({ "locale": "es", "email": "bea@example.com" }))
        .await;
    let _socket = app.ws(&carla).await;
    wait_until("Carla's socket is recorded", || async {
        app.count("SELECT count(*) FROM customer_presence WHERE conversation_id = $1 AND disconnected_at IS NULL",
            &[&carla_conversation]).await == 1
    })
    .await;
    let mut tickets = vec![];
    for (conversation, token) in [(carla_conversation, &carla), (bea_conversation, &bea)] {
        let ticket = escalate(&app, conversation, token).await;
        let (status, _) = post(
            &app,
            &format!("/api/v1/tickets/{ticket}/assign"),
            &admin,
            json!({ "assignee_id": agent_id }),
        )
        .await;
        assert_eq!(status, 200);
        let (status, body) = post(
            &app,
            &format!("/api/v1/tickets/{ticket}/messages"),
            &agent,
            json!({ "text": "Your new card 4111 1111 1111 1111 is on its way." }),
        )
        .await;
        assert!(status == 202 || status == 200, "{status} {body}");
        tickets.push(ticket);
    }

    wait_until("Bea's reply email arrives", || async {
        !to(&folder, "bea@example.com").is_empty()
    })
    .await;
    let reply = &to(&folder, "bea@example.com")[0];
    assert!(
        reply["subject"]
            .as_str()
            .expect("subject")
            .contains("ha respondido"),
        "{reply}"
    );
    for part in ["subject", "text", "html"] {
        assert!(
            !digits(reply[part].as_str().expect("part")).contains("4111111111111111"),
            "{part}: {reply}"
        );
    }
    let text = reply["text"].as_str().expect("text");
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/api/v1/unsubscribe?token="))
        .expect("an unsubscribe link in the text");
    assert!(
        reply["html"]
            .as_str()
            .expect("html")
            .contains("/api/v1/unsubscribe?token=")
    );
    // Carla saw it in the chat: after the grace period no email is recorded for her reply.
    wait_until("Bea's reply is recorded as sent", || async {
        app.count(
            "SELECT count(*) FROM emails WHERE kind = 'agent_reply' AND status = 'sent'",
            &[],
        )
        .await
            == 1
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await; // past Carla's grace period too
    assert_eq!(
        app.count("SELECT count(*) FROM emails WHERE kind = 'agent_reply' AND recipient = 'carla@example.com'", &[]).await,
        0,
        "no email for a reply the customer saw in the chat"
    );

    // Bea unsubscribes: the page says so in plain words; a forged token is refused.
    let path = &link[link.find("/api/v1/").expect("path")..];
    let page = app
        .http
        .get(app.url(path))
        .send()
        .await
        .expect("unsubscribe");
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .expect("page")
            .contains("Se ha dado de baja"),
        "Bea's email was in Spanish, and so is the page"
    );
    let forged = app
        .http
        .get(app.url("/api/v1/unsubscribe?token=6576654065.00"))
        .send()
        .await
        .expect("forged");
    assert_eq!(forged.status(), 400);
    assert!(forged.text().await.expect("page").contains("not valid"));

    // Both cases are resolved: Carla gets the resolution email, Bea's is skipped as unsubscribed.
    for ticket in &tickets {
        let (status, body) = post(
            &app,
            &format!("/api/v1/tickets/{ticket}/status"),
            &agent,
            json!({ "status": "resolved" }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    wait_until("Carla's resolution email arrives and Bea's is skipped", || async {
        to(&folder, "carla@example.com").iter().any(|m| m["subject"].as_str().is_some_and(|s| s.contains("is resolved")))
            && app.count("SELECT count(*) FROM emails WHERE recipient = 'bea@example.com' AND kind = 'customer_resolution'
                           AND status = 'skipped' AND skip_reason = 'unsubscribed'", &[]).await == 1
    })
    .await;
    // Closing the resolved ticket sends no second resolution email.
    let (status, body) = post(
        &app,
        &format!("/api/v1/tickets/{}/status", tickets[0]),
        &agent,
        json!({ "status": "closed" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(
        to(&folder, "carla@example.com").len(),
        1,
        "one email for Carla: the resolution"
    );
    assert_eq!(
        to(&folder, "bea@example.com").len(),
        1,
        "nothing for Bea after she unsubscribed"
    );
    let resolution = &to(&folder, "carla@example.com")[0];
    assert!(
        resolution["text"]
            .as_str()
            .expect("text")
            .contains("/api/v1/unsubscribe?token=")
    );
    // Carla's email was in English: so is her unsubscribe page.
    let text = resolution["text"].as_str().expect("text");
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/api/v1/unsubscribe?token="))
        .expect("link");
    let page = app
        .http
        .get(app.url(&link[link.find("/api/v1/").expect("path")..]))
        .send()
        .await
        .expect("unsubscribe");
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .expect("page")
            .contains("You are unsubscribed")
    );
    catcher.stop();
    app.stop().await;
}

#[tokio::test]
async fn a_customer_leaves_an_address_in_the_chat_and_gets_the_transcript_once_with_card_data_masked()
 {
    let port = 4746;
    let folder = folder();
    let catcher = Catcher::start(port, &folder);
    let app = app_with_smtp(port).await;
    let (conversation, token) = app.start_session_with(json!({ "locale": "en" })).await;
    let contact = format!("/api/v1/chat/conversations/{conversation}/contact");
    let transcript = format!("/api/v1/chat/conversations/{conversation}/transcript-email");

    // Nowhere to send it yet.
    let (status, body) = call(&app, "POST", &transcript, Some(&token), Some(json!({}))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    // Bad addresses are refused with the field named; an address holding a card number too.
    for bad in [
        "dana",
        "dana@",
        "dana@example",
        "da na@example.com",
        "4111111111111111@example.com",
        "dana+4111 1111 1111 1111@example.com",
    ] {
        let (status, body) = call(
            &app,
            "PUT",
            &contact,
            Some(&token),
            Some(json!({ "email": bad })),
        )
        .await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(body["fields"][0]["field"], "email", "{body}");
    }
    let (status, body) = call(
        &app,
        "POST",
        "/api/v1/chat/sessions",
        None,
        Some(json!({ "email": "4111-1111-1111-1111@example.com" })),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    // Another conversation's token cannot set this one's address.
    let (_, other) = app.start_session().await;
    let (status, _) = call(
        &app,
        "PUT",
        &contact,
        Some(&other),
        Some(json!({ "email": "eve@example.com" })),
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = call(
        &app,
        "PUT",
        &contact,
        Some(&token),
        Some(json!({ "email": " dana@example.com " })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], "d***@example.com");
    assert_eq!(
        app.count("SELECT count(*) FROM conversation_contacts WHERE conversation_id = $1 AND email = 'dana@example.com'", &[&conversation]).await,
        1
    );

    app.post_message(
        conversation,
        &token,
        "c1",
        "My card 4111 1111 1111 1111 was charged twice",
    )
    .await;
    wait_until("the assistant answered", || async {
        app.transcript(conversation, &token)
            .await
            .iter()
            .any(|m| m["sender"] == "bot")
    })
    .await;
    // The customer asks for a person; the notice of what happens next is the conversation's last
    // message. Its words depend on the bank's hours and on who is online (the time of day the test
    // runs at), so it is read back rather than assumed.
    escalate(&app, conversation, &token).await;
    let notice = std::cell::RefCell::new(String::new());
    wait_until("the hand-over notice is in the conversation", || async {
        let found = app
            .transcript(conversation, &token)
            .await
            .iter()
            .filter(|m| m["sender"] == "system")
            .filter_map(|m| m["text"].as_str().map(str::to_owned))
            .find(|t| !t.contains("hid the card"));
        match found {
            Some(text) => {
                *notice.borrow_mut() = text;
                true
            }
            None => false,
        }
    })
    .await;
    let notice = notice.into_inner();
    let (status, body) = call(&app, "POST", &transcript, Some(&token), Some(json!({}))).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["email"], "d***@example.com");
    wait_until("the transcript arrives", || async {
        !to(&folder, "dana@example.com").is_empty()
    })
    .await;
    // Asked again with nothing new: no second email.
    let (status, _) = call(&app, "POST", &transcript, Some(&token), Some(json!({}))).await;
    assert_eq!(status, 202);
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let mails = to(&folder, "dana@example.com");
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert!(
        mail["subject"]
            .as_str()
            .expect("subject")
            .contains("your conversation")
    );
    let text = mail["text"].as_str().expect("text");
    assert!(
        text.contains("You (") && text.contains("was charged twice"),
        "{text}"
    );
    assert!(
        text.contains("Assistant (") && text.contains(notice.as_str()),
        "{text}"
    );
    for part in ["subject", "text", "html"] {
        assert!(
            !digits(mail[part].as_str().expect("part")).contains("4111111111111111"),
            "{part}: {mail}"
        );
    }
    catcher.stop();
    app.stop().await;
}
