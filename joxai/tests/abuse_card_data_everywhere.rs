//! Card data typed every way a person might, by a customer and by staff, scanned for everywhere it could end up.
//!
//! Invariant: after a conversation that types card numbers in every format family (dots, slashes, underscores,
//! commas, double, non-breaking and thin spaces, tabs, line breaks, zero-width characters inside, fullwidth,
//! Arabic-Indic and Devanagari digits, a number split over two messages), security codes in English and Spanish
//! and an IBAN, and staff typing card numbers into every text field they edit (ticket subject, category and tags,
//! replies, internal notes, canned responses, knowledge-base articles, user names), no full card number, security
//! code or full IBAN is in any Postgres table, in the JetStream store files on disk, on the bus, in any API
//! response, in any WebSocket frame the customer or a supervisor received, or in any request sent to the LLM.
//! (Logs and trace spans are scanned by `abuse_redaction_telemetry.rs`.)

mod card_data_support;
mod desk_helpers;
mod fault_support;
mod support;

use std::time::Duration;

use card_data_support::{
    ARABIC_INDIC, DEVANAGARI, FULLWIDTH, Secrets, grouped, iban, in_script, strings,
};
use desk_helpers::{ADMIN, SUPERVISOR, call, get, post};
use fault_support::{FakeLlm, random_pan, raw_stream, wait_long};
use serde_json::{Value, json};
use support::{is_message_from, spawn_app_with};
use uuid::Uuid;

#[tokio::test]
async fn card_data_typed_every_way_by_customers_and_staff_is_nowhere_in_full() {
    let (llm_url, fake) = FakeLlm {
        reply: "Happy to help with that.".into(),
        ..Default::default()
    }
    .serve()
    .await;
    let app = spawn_app_with(move |f| {
        f.merge(("llm.provider", "openai"))
            .merge(("llm.base_url", llm_url))
            .merge(("llm.openai_api_key", "k"))
    })
    .await;
    let supervisor = app.login(SUPERVISOR).await;
    let admin = app.login(ADMIN).await;
    let mut staff_ws = app.ws(&supervisor).await;
    let (conversation, token) = app.start_session().await;
    let mut ws = app.ws(&token).await;

    // ---- what the customer types ----
    let pan = |len| random_pan(len);
    let formats: Vec<(String, Box<dyn Fn(&str) -> String>)> = vec![
        (pan(16), Box::new(|p| grouped(p, "."))),
        (pan(16), Box::new(|p| grouped(p, "/"))),
        (pan(16), Box::new(|p| grouped(p, "_"))),
        (pan(16), Box::new(|p| grouped(p, ","))),
        (pan(16), Box::new(|p| grouped(p, "  "))),
        (pan(16), Box::new(|p| grouped(p, "\u{A0}"))),
        (pan(19), Box::new(|p| grouped(p, "\u{2009}"))),
        (pan(16), Box::new(|p| grouped(p, "\t"))),
        (pan(16), Box::new(|p| grouped(p, "\n"))),
        (
            pan(16),
            Box::new(|p| {
                p.chars()
                    .map(String::from)
                    .collect::<Vec<_>>()
                    .join("\u{200B}")
            }),
        ),
        (
            pan(16),
            Box::new(|p| grouped(&in_script(p, FULLWIDTH), " ")),
        ),
        (
            pan(16),
            Box::new(|p| grouped(&in_script(p, ARABIC_INDIC), " ")),
        ),
        (pan(16), Box::new(|p| in_script(p, DEVANAGARI))),
        (
            pan(15),
            Box::new(|p| {
                format!(
                    "{}\u{AD}{}\u{FEFF}{}",
                    &p[..4],
                    &p[4..10],
                    in_script(&p[10..], FULLWIDTH)
                )
            }),
        ),
    ];
    let split = pan(16);
    let split_alone = pan(16);
    let iban = iban("ES", &format!("2100{}", &pan(16)[..16]));
    let code = "739";
    let mut customer_texts: Vec<String> = formats
        .iter()
        .enumerate()
        .map(|(i, (digits, typed))| {
            if i % 2 == 0 {
                format!("my card {} was charged twice", typed(digits))
            } else {
                format!("mi tarjeta {} no funciona", typed(digits))
            }
        })
        .collect();
    // A plain savings question, so the bot answers through the (fake) LLM whatever the others lead to.
    customer_texts.insert(
        0,
        format!(
            "what savings plans do you offer? my card is {}",
            grouped(&split_alone, "\u{2007}")
        ),
    );
    customer_texts.push(format!("send the refund to {}", grouped(&iban, " ")));
    customer_texts.push(format!("the cvv is {code}"));
    customer_texts.push(format!("the 3 digits on the back are {code}"));
    customer_texts.push(format!("mi código de seguridad es {code}"));
    customer_texts.push(format!("my new card is {} {}", &split[..4], &split[4..8]));
    customer_texts.push(format!("{} {} is it blocked?", &split[8..12], &split[12..]));

    let mut secrets = Secrets {
        digits: vec![],
        phrases: vec![],
    };
    for (digits, _) in &formats {
        secrets.forbid_pan(digits);
    }
    secrets.forbid_pan(&split);
    secrets.forbid_pan(&split_alone);
    secrets.digits.push(iban[4..].to_owned());
    for phrase in ["cvv is", "back are", "seguridad es", "cvv"] {
        secrets.phrases.push(format!("{phrase} {code}"));
    }

    for (i, text) in customer_texts.iter().enumerate() {
        // As the widget does, each message names the one before it: the split number and the
        // security code sent after its cue are read in the order the customer typed them, however
        // the workers happen to take them.
        let mut body = serde_json::json!({ "client_message_id": format!("c-{i}"), "text": text });
        if i > 0 {
            body["after_client_message_id"] = format!("c-{}", i - 1).into();
        }
        let response = app
            .http
            .post(app.url(&format!(
                "/api/v1/chat/conversations/{conversation}/messages"
            )))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .expect("post message");
        assert_eq!(response.status(), 202, "{text:?} accepted");
        if i == 0 {
            // Answered by the bot (through the LLM) before anything the classifier may hand to a person.
            ws.wait_event("a bot answer", |f| {
                is_message_from(f, "bot")
                    && f["event"]["payload"]["message"]["in_reply_to"].is_string()
            })
            .await;
        }
    }
    wait_long(
        "every customer message is stored",
        Duration::from_secs(30),
        || async {
            app.count(
                "SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender = 'customer'",
                &[&conversation],
            )
            .await
                == customer_texts.len() as i64
        },
    )
    .await;

    // The split number is masked in both parts, and the earlier part is re-rendered live.
    let last_two = app
        .query(
            "SELECT text FROM messages WHERE conversation_id = $1 AND sender = 'customer' ORDER BY created_at DESC LIMIT 2",
            &[&conversation],
        )
        .await;
    let (later, earlier): (String, String) = (last_two[0].get(0), last_two[1].get(0));
    assert!(
        earlier.contains('*') && later.contains('*'),
        "both parts masked: {earlier:?} / {later:?}"
    );
    ws.wait_event("the earlier part re-rendered", |f| {
        support::event_type(f) == "message.redacted"
    })
    .await;
    // The customer is told why, once.
    let notices = app
        .count("SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender = 'bot' AND text LIKE 'For your safety%'", &[&conversation])
        .await;
    assert_eq!(notices, 1, "one note about masked card data");

    // ---- what staff type ----
    let ticket = desk_helpers::escalate(&app, conversation, &token).await;

    let staff_pan = |secrets: &mut Secrets, typed: fn(&str) -> String| {
        let digits = random_pan(16);
        secrets.forbid_pan(&digits);
        typed(&digits)
    };
    let dotted: fn(&str) -> String = |p| grouped(p, ".");
    let wide: fn(&str) -> String = |p| grouped(&in_script(p, FULLWIDTH), "\u{A0}");
    let hidden: fn(&str) -> String = |p| {
        p.chars()
            .map(String::from)
            .collect::<Vec<_>>()
            .join("\u{200D}")
    };

    let (subject, category, tag) = (
        staff_pan(&mut secrets, dotted),
        staff_pan(&mut secrets, wide),
        staff_pan(&mut secrets, hidden),
    );
    let (status, body) = call(
        &app,
        "PATCH",
        &format!("/api/v1/tickets/{ticket}"),
        Some(&supervisor),
        Some(json!({ "subject": format!("card {subject}"), "category": format!("c {category}"), "tags": [format!("t{tag}")] })),
    )
    .await;
    assert_eq!(status, 200, "ticket edited: {body}");
    let reply = staff_pan(&mut secrets, dotted);
    let (status, body) = post(
        &app,
        &format!("/api/v1/tickets/{ticket}/messages"),
        &supervisor,
        json!({ "text": format!("is it {reply}?") }),
    )
    .await;
    assert_eq!(status, 202, "reply: {body}");
    let note = staff_pan(&mut secrets, wide);
    let (status, body) = post(
        &app,
        &format!("/api/v1/tickets/{ticket}/notes"),
        &supervisor,
        json!({ "text": format!("customer card {note}") }),
    )
    .await;
    assert!(status == 201 || status == 202, "note: {status} {body}");
    let (created_subject, created_tag) = (
        staff_pan(&mut secrets, hidden),
        staff_pan(&mut secrets, dotted),
    );
    let (status, body) = post(
        &app,
        "/api/v1/tickets",
        &supervisor,
        json!({ "subject": format!("call back {created_subject}"), "tags": [created_tag], "priority": "normal" }),
    )
    .await;
    assert!(
        status == 201 || status == 202,
        "ticket created: {status} {body}"
    );
    let (canned_title, canned_body) = (
        staff_pan(&mut secrets, wide),
        staff_pan(&mut secrets, dotted),
    );
    let (status, body) = post(
        &app,
        "/api/v1/canned-responses",
        &supervisor,
        json!({ "title": format!("card {canned_title}"), "body": format!("Your card {canned_body} is blocked, {{{{customer_name}}}}.") }),
    )
    .await;
    assert_eq!(status, 201, "canned response: {body}");
    let (kb_title, kb_body, kb_tag) = (
        staff_pan(&mut secrets, dotted),
        staff_pan(&mut secrets, hidden),
        staff_pan(&mut secrets, wide),
    );
    let (status, body) = post(
        &app,
        "/api/v1/knowledge/articles",
        &supervisor,
        json!({
            "locale": "en",
            "title": format!("Test card {kb_title}"),
            "body": format!("Use the test card {kb_body} in the sandbox."),
            "intents": ["card_payment_not_recognised"],
            "tags": [format!("card {kb_tag}")],
        }),
    )
    .await;
    assert_eq!(status, 201, "article: {body}");
    let name = staff_pan(&mut secrets, dotted);
    let (status, user) = post(
        &app,
        "/api/v1/users",
        &admin,
        json!({ "email": "casey@joxai.local", "display_name": format!("Casey {name}"), "role": "agent", "password": "a long and unusual passphrase 42" }),
    )
    .await;
    assert_eq!(status, 201, "user: {user}");
    let renamed = staff_pan(&mut secrets, wide);
    let (status, body) = call(
        &app,
        "PATCH",
        &format!("/api/v1/users/{}", user["id"].as_str().expect("id")),
        Some(&admin),
        Some(json!({ "display_name": format!("Casey {renamed}") })),
    )
    .await;
    assert_eq!(status, 200, "user renamed: {body}");
    let rating = staff_pan(&mut secrets, hidden);
    let rated = app
        .http
        .post(app.url(&format!("/api/v1/chat/conversations/{conversation}/rating")))
        .bearer_auth(&token)
        .json(&json!({ "rating": 4, "comment": format!("thanks, card {rating}") }))
        .send()
        .await
        .expect("rating");
    assert!(
        rated.status().is_success(),
        "rating accepted: {}",
        rated.status()
    );

    ws.wait_event("the agent's reply", |f| is_message_from(f, "agent"))
        .await;
    wait_long(
        "the note and edits are stored",
        Duration::from_secs(20),
        || async {
            app.count(
                "SELECT count(*) FROM ticket_notes WHERE ticket_id = $1",
                &[&ticket],
            )
            .await
                == 1
        },
    )
    .await;
    ws.drain_for(Duration::from_secs(1)).await;
    staff_ws.drain_for(Duration::from_secs(1)).await;

    // ---- Postgres: every row of every table ----
    let tables = app
        .query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
            &[],
        )
        .await;
    assert!(tables.len() > 5, "the schema has its tables");
    for table in tables {
        let table: String = table.get(0);
        let dump = app
            .query(
                &format!("SELECT coalesce(string_agg(t::text, '|'), '') FROM \"{table}\" t"),
                &[],
            )
            .await;
        secrets.assert_absent(&format!("table {table}"), dump[0].get::<_, &str>(0));
    }
    // The masked forms are what was stored, and every staff field holds its mask.
    let ticket_row = app
        .query(
            "SELECT subject, category, tags::text FROM tickets WHERE id = $1",
            &[&ticket],
        )
        .await;
    for i in 0..3 {
        let field: String = ticket_row[0].get(i);
        assert!(
            field.contains("******"),
            "ticket field {i} stored masked: {field}"
        );
    }

    // ---- the bus, read back, and the JetStream store files on disk ----
    let topology = app.platform.bus.topology().clone();
    let streams = [
        topology.commands_stream(),
        topology.events_stream(),
        topology.dead_letter_stream(),
    ];
    for stream in &streams {
        for (subject, message) in raw_stream(&app.platform, stream).await {
            secrets.assert_absent(&format!("{stream} message on {subject}"), &message);
        }
    }
    match std::env::var("JOXAI_TEST_NATS_STORE") {
        Ok(store) => {
            // A word only this test typed proves the scan reads the records (the store is not compressed).
            let marker = format!("marker{}", Uuid::new_v4().simple());
            app.post_message(conversation, &token, "marker", &format!("just a {marker}"))
                .await;
            let files = || {
                let mut found = vec![];
                let mut dirs = vec![std::path::PathBuf::from(&store)];
                while let Some(dir) = dirs.pop() {
                    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                        let path = entry.path();
                        if path.is_dir() {
                            dirs.push(path);
                        } else if streams
                            .iter()
                            .any(|s| path.to_string_lossy().contains(s.as_str()))
                        {
                            found.push(path);
                        }
                    }
                }
                found
            };
            wait_long(
                "the store files hold the latest record",
                Duration::from_secs(20),
                || async {
                    files().iter().any(|f| {
                        std::fs::read(f)
                            .is_ok_and(|b| String::from_utf8_lossy(&b).contains(&marker))
                    })
                },
            )
            .await;
            for file in files() {
                // The server rewrites and removes its own files (index, compacted blocks) while we scan; a file
                // gone between the listing and the read holds nothing any more.
                let bytes = match std::fs::read(&file) {
                    Ok(bytes) => bytes,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => panic!("read store file {}: {e}", file.display()),
                };
                secrets.assert_absent(
                    &format!("store file {}", file.display()),
                    &String::from_utf8_lossy(&bytes),
                );
            }
        }
        Err(_) => eprintln!(
            "JOXAI_TEST_NATS_STORE is not set (make test sets it): the store files were not scanned"
        ),
    }

    // ---- the API, as the customer and as staff ----
    let transcript = app.transcript(conversation, &token).await;
    secrets.assert_absent(
        "the customer's transcript",
        &strings(&Value::Array(transcript)),
    );
    for path in [
        format!("/api/v1/tickets/{ticket}"),
        "/api/v1/tickets".to_owned(),
        format!("/api/v1/tickets/{ticket}/notes"),
        format!("/api/v1/tickets/{ticket}/history"),
        "/api/v1/conversations".to_owned(),
        format!("/api/v1/conversations/{conversation}"),
        "/api/v1/knowledge/articles".to_owned(),
        "/api/v1/canned-responses".to_owned(),
        "/api/v1/users".to_owned(),
        "/api/v1/customers".to_owned(),
    ] {
        let (status, body) = get(&app, &path, &admin).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        secrets.assert_absent(&format!("GET {path}"), &strings(&body));
    }

    // ---- every WebSocket frame, and every LLM request ----
    assert!(
        ws.seen.len() > 10,
        "the customer received the conversation ({} frames)",
        ws.seen.len()
    );
    for frame in &ws.seen {
        secrets.assert_absent("a frame the customer received", &strings(frame));
    }
    assert!(
        staff_ws.seen.len() > 10,
        "the supervisor received the desk's events ({} frames)",
        staff_ws.seen.len()
    );
    for frame in &staff_ws.seen {
        secrets.assert_absent("a frame the supervisor received", &strings(frame));
    }
    assert!(fake.calls() >= 1, "the model was asked at least once");
    for request in fake.requests.lock().expect("lock").iter() {
        secrets.assert_absent("an LLM request", &strings(request));
    }
    app.stop().await;
}

#[tokio::test]
async fn a_ticket_opened_on_the_first_part_of_a_split_card_number_never_holds_it_in_full() {
    let app = support::spawn_app().await;
    let (conversation, token) = app.start_session().await;
    let pan = random_pan(16);
    let first = format!(
        "I want to talk to a human, my card is {} {} {}",
        &pan[..4],
        &pan[4..8],
        &pan[8..12]
    );
    assert_eq!(
        app.post_message(conversation, &token, "first", &first)
            .await
            .status(),
        202
    );
    wait_long(
        "the ticket is opened on the first part",
        Duration::from_secs(20),
        || async {
            app.count(
                "SELECT count(*) FROM tickets WHERE conversation_id = $1",
                &[&conversation],
            )
            .await
                == 1
        },
    )
    .await;
    assert_eq!(
        app.post_message(conversation, &token, "second", &pan[12..])
            .await
            .status(),
        202
    );
    wait_long(
        "the second part is stored",
        Duration::from_secs(20),
        || async {
            app.count(
                "SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender = 'customer'",
                &[&conversation],
            )
            .await
                == 2
        },
    )
    .await;
    let mut secrets = Secrets {
        digits: vec![],
        phrases: vec![],
    };
    secrets.forbid_pan(&pan);
    let subject: String = app
        .query(
            "SELECT subject FROM tickets WHERE conversation_id = $1",
            &[&conversation],
        )
        .await[0]
        .get(0);
    let texts: Vec<String> = app
        .query("SELECT text FROM messages WHERE conversation_id = $1 AND sender = 'customer' ORDER BY created_at", &[&conversation])
        .await
        .iter()
        .map(|row| row.get(0))
        .collect();
    // Read together, as someone with the database would: the subject, then the later part.
    secrets.assert_absent(
        "the ticket subject read with the later part",
        &format!("{subject}\n{}", texts[1]),
    );
    secrets.assert_absent("the messages read together", &texts.join("\n"));
    app.stop().await;
}
