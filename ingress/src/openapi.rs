//! The OpenAPI 3.1 document and the interactive docs page.
//!
//! [`ROUTES`] is the one table of every route with who may call it (`x-roles`); the document is
//! generated from it, and a test checks it against what the router really serves and iterates it
//! for the role × route matrix. Schemas are written by hand next to the wire types' names, small
//! enough to review and precise enough to generate the frontends' TypeScript types.

use axum::Json;
use axum::response::Html;
use serde_json::{Value, json};

pub const ANYONE: &[&str] = &["anonymous", "customer", "agent", "supervisor", "admin"];
pub const CUSTOMER: &[&str] = &["customer"];
pub const STAFF: &[&str] = &["agent", "supervisor", "admin"];
pub const SUPERVISOR: &[&str] = &["supervisor", "admin"];
pub const ADMIN: &[&str] = &["admin"];

/// The query parameters of list routes: (path, [(name, schema type)]).
const QUERIES: &[(&str, &[(&str, &str)])] = &[
    (
        "/api/v1/tickets",
        &[
            ("status", "string"),
            ("priority", "string"),
            ("assignee_id", "uuid"),
            ("unassigned", "boolean"),
            ("q", "string"),
            ("sort", "string"),
            ("cursor", "string"),
            ("limit", "integer"),
        ],
    ),
    (
        "/api/v1/conversations",
        &[
            ("status", "string"),
            ("owner", "string"),
            ("customer_id", "uuid"),
            ("from", "date-time"),
            ("to", "date-time"),
            ("cursor", "string"),
            ("limit", "integer"),
        ],
    ),
    (
        "/api/v1/users",
        &[
            ("role", "string"),
            ("active", "boolean"),
            ("cursor", "string"),
            ("limit", "integer"),
        ],
    ),
    (
        "/api/v1/customers",
        &[
            ("q", "string"),
            ("verified", "boolean"),
            ("cursor", "string"),
            ("limit", "integer"),
        ],
    ),
    (
        "/api/v1/canned-responses",
        &[("q", "string"), ("cursor", "string"), ("limit", "integer")],
    ),
    (
        "/api/v1/knowledge/articles",
        &[
            ("locale", "string"),
            ("q", "string"),
            ("intent", "string"),
            ("active", "boolean"),
            ("cursor", "string"),
            ("limit", "integer"),
        ],
    ),
    (
        "/api/v1/analytics/summary",
        &[("from", "date-time"), ("to", "date-time")],
    ),
    (
        "/api/v1/dead-letters",
        &[
            ("status", "string"),
            ("cursor", "string"),
            ("limit", "integer"),
        ],
    ),
    (
        "/api/v1/emails",
        &[
            ("status", "string"),
            ("cursor", "string"),
            ("limit", "integer"),
        ],
    ),
    (
        "/api/v1/unsubscribe",
        &[("token", "string"), ("lang", "string")],
    ),
];

fn query_parameter(name: &str, kind: &str) -> Value {
    let schema = match kind {
        "uuid" => uuid(),
        "date-time" => time(),
        "boolean" => json!({ "type": "boolean" }),
        "integer" => json!({ "type": "integer" }),
        _ => string(),
    };
    json!({ "name": name, "in": "query", "required": false, "schema": schema })
}

/// One route: method, path, who may call it, summary, request schema, success status and schema.
pub struct RouteDoc {
    pub method: &'static str,
    pub path: &'static str,
    pub roles: &'static [&'static str],
    pub summary: &'static str,
    pub request: Option<&'static str>,
    pub status: u16,
    pub response: Option<&'static str>,
}

const fn r(
    method: &'static str,
    path: &'static str,
    roles: &'static [&'static str],
    summary: &'static str,
    request: Option<&'static str>,
    status: u16,
    response: Option<&'static str>,
) -> RouteDoc {
    RouteDoc {
        method,
        path,
        roles,
        summary,
        request,
        status,
        response,
    }
}

pub const ROUTES: &[RouteDoc] = &[
    r(
        "POST",
        "/api/v1/auth/login",
        ANYONE,
        "Sign in (throttled per account and address)",
        Some("LoginRequest"),
        200,
        Some("LoginResponse"),
    ),
    r(
        "POST",
        "/api/v1/auth/refresh",
        ANYONE,
        "Rotate the refresh token",
        Some("RefreshRequest"),
        200,
        Some("LoginResponse"),
    ),
    r(
        "POST",
        "/api/v1/auth/logout",
        STAFF,
        "End the session (access token stops working at once)",
        None,
        204,
        None,
    ),
    r(
        "POST",
        "/api/v1/auth/password",
        STAFF,
        "Change one's password; other sessions end",
        Some("ChangePasswordRequest"),
        204,
        None,
    ),
    r(
        "GET",
        "/api/v1/auth/me",
        STAFF,
        "Who am I",
        None,
        200,
        Some("User"),
    ),
    r(
        "PUT",
        "/api/v1/me/availability",
        STAFF,
        "Set one's availability",
        Some("AvailabilityRequest"),
        200,
        Some("User"),
    ),
    r(
        "POST",
        "/api/v1/chat/sessions",
        ANYONE,
        "Open a chat session",
        Some("StartSessionRequest"),
        201,
        Some("StartSessionResponse"),
    ),
    r(
        "POST",
        "/api/v1/chat/conversations/{id}/messages",
        CUSTOMER,
        "Send a message",
        Some("PostMessageRequest"),
        202,
        Some("Accepted"),
    ),
    r(
        "GET",
        "/api/v1/chat/conversations/{id}/messages",
        CUSTOMER,
        "The transcript (no internal notes)",
        None,
        200,
        Some("Transcript"),
    ),
    r(
        "POST",
        "/api/v1/chat/conversations/{id}/escalate",
        CUSTOMER,
        "Ask for a person",
        None,
        202,
        None,
    ),
    r(
        "POST",
        "/api/v1/chat/conversations/{id}/rating",
        CUSTOMER,
        "Rate the conversation (CSAT, once)",
        Some("RatingRequest"),
        200,
        Some("RatingResponse"),
    ),
    r(
        "POST",
        "/api/v1/chat/conversations/{id}/typing",
        CUSTOMER,
        "The customer is typing (ephemeral)",
        None,
        202,
        None,
    ),
    r(
        "POST",
        "/api/v1/chat/conversations/{id}/close",
        CUSTOMER,
        "End the chat (then ask for the rating)",
        None,
        200,
        Some("ChatClosed"),
    ),
    r(
        "POST",
        "/api/v1/chat/conversations/{id}/follow-up",
        CUSTOMER,
        "Write again after the conversation ended: a new conversation linked to it",
        None,
        201,
        Some("StartSessionResponse"),
    ),
    r(
        "PUT",
        "/api/v1/chat/conversations/{id}/contact",
        CUSTOMER,
        "Leave (or, with null, forget) the email address for replies, the resolution and transcripts",
        Some("ContactRequest"),
        200,
        Some("Contact"),
    ),
    r(
        "POST",
        "/api/v1/chat/conversations/{id}/transcript-email",
        CUSTOMER,
        "Email me this conversation (409 without an address)",
        None,
        202,
        Some("Contact"),
    ),
    r(
        "GET",
        "/api/v1/tickets",
        STAFF,
        "List tickets (agents: queue and own)",
        None,
        200,
        Some("TicketPage"),
    ),
    r(
        "POST",
        "/api/v1/tickets",
        STAFF,
        "Open a ticket manually",
        Some("CreateTicketRequest"),
        201,
        Some("Ticket"),
    ),
    r(
        "GET",
        "/api/v1/tickets/{id}",
        STAFF,
        "A ticket with its transcript",
        None,
        200,
        Some("TicketDetail"),
    ),
    r(
        "PATCH",
        "/api/v1/tickets/{id}",
        STAFF,
        "Update subject, category, tags, priority (agents: own)",
        Some("UpdateTicketRequest"),
        200,
        Some("Ticket"),
    ),
    r(
        "POST",
        "/api/v1/tickets/{id}/assign",
        STAFF,
        "Assign or unassign (agents: take from queue or release own)",
        Some("AssignRequest"),
        200,
        Some("Ticket"),
    ),
    r(
        "POST",
        "/api/v1/tickets/{id}/status",
        STAFF,
        "Change status (state machine)",
        Some("StatusRequest"),
        200,
        Some("Ticket"),
    ),
    r(
        "POST",
        "/api/v1/tickets/{id}/messages",
        STAFF,
        "Reply to the customer",
        Some("ReplyRequest"),
        202,
        Some("Accepted"),
    ),
    r(
        "GET",
        "/api/v1/tickets/{id}/notes",
        STAFF,
        "Internal notes",
        None,
        200,
        Some("NotePage"),
    ),
    r(
        "POST",
        "/api/v1/tickets/{id}/notes",
        STAFF,
        "Add an internal note (agents: own)",
        Some("NoteRequest"),
        201,
        Some("Note"),
    ),
    r(
        "GET",
        "/api/v1/tickets/{id}/history",
        STAFF,
        "The ticket's audit history",
        None,
        200,
        Some("TicketEventPage"),
    ),
    r(
        "POST",
        "/api/v1/tickets/{id}/typing",
        STAFF,
        "The agent is typing (ephemeral)",
        None,
        202,
        None,
    ),
    r(
        "GET",
        "/api/v1/conversations",
        SUPERVISOR,
        "List conversations",
        None,
        200,
        Some("ConversationPage"),
    ),
    r(
        "GET",
        "/api/v1/conversations/{id}",
        STAFF,
        "A conversation with its transcript (agents: queue and own)",
        None,
        200,
        Some("ConversationDetail"),
    ),
    r(
        "POST",
        "/api/v1/conversations/{id}/take-over",
        SUPERVISOR,
        "Take the conversation from the bot",
        None,
        200,
        Some("Conversation"),
    ),
    r(
        "POST",
        "/api/v1/conversations/{id}/hand-back",
        STAFF,
        "Hand the conversation back to the bot (agents: own)",
        None,
        200,
        Some("Conversation"),
    ),
    r(
        "POST",
        "/api/v1/conversations/{id}/close",
        STAFF,
        "Close the conversation (agents: own)",
        None,
        200,
        Some("Conversation"),
    ),
    r(
        "GET",
        "/api/v1/users",
        SUPERVISOR,
        "List staff",
        None,
        200,
        Some("UserPage"),
    ),
    r(
        "POST",
        "/api/v1/users",
        ADMIN,
        "Create a staff account",
        Some("CreateUserRequest"),
        201,
        Some("User"),
    ),
    r(
        "GET",
        "/api/v1/users/{id}",
        SUPERVISOR,
        "A staff account",
        None,
        200,
        Some("User"),
    ),
    r(
        "PATCH",
        "/api/v1/users/{id}",
        ADMIN,
        "Update role, name, active, capacity",
        Some("UpdateUserRequest"),
        200,
        Some("User"),
    ),
    r(
        "POST",
        "/api/v1/users/{id}/password",
        ADMIN,
        "Reset a password; the user's sessions end",
        Some("ResetPasswordRequest"),
        204,
        None,
    ),
    r(
        "GET",
        "/api/v1/customers",
        SUPERVISOR,
        "Search customers by name or reference",
        None,
        200,
        Some("CustomerPage"),
    ),
    r(
        "GET",
        "/api/v1/customers/{id}",
        SUPERVISOR,
        "A customer with their conversations and tickets",
        None,
        200,
        Some("CustomerProfile"),
    ),
    r(
        "GET",
        "/api/v1/canned-responses",
        STAFF,
        "List canned responses",
        None,
        200,
        Some("CannedResponsePage"),
    ),
    r(
        "POST",
        "/api/v1/canned-responses",
        SUPERVISOR,
        "Create a canned response",
        Some("CannedResponseRequest"),
        201,
        Some("CannedResponse"),
    ),
    r(
        "GET",
        "/api/v1/canned-responses/{id}",
        STAFF,
        "A canned response",
        None,
        200,
        Some("CannedResponse"),
    ),
    r(
        "PUT",
        "/api/v1/canned-responses/{id}",
        SUPERVISOR,
        "Replace a canned response",
        Some("CannedResponseRequest"),
        200,
        Some("CannedResponse"),
    ),
    r(
        "DELETE",
        "/api/v1/canned-responses/{id}",
        SUPERVISOR,
        "Delete a canned response",
        None,
        204,
        None,
    ),
    r(
        "POST",
        "/api/v1/canned-responses/{id}/render",
        STAFF,
        "Fill a canned response's placeholders for a ticket (agents: queue and own)",
        Some("RenderRequest"),
        200,
        Some("RenderedResponse"),
    ),
    r(
        "GET",
        "/api/v1/knowledge/articles",
        STAFF,
        "List knowledge-base articles",
        None,
        200,
        Some("ArticlePage"),
    ),
    r(
        "POST",
        "/api/v1/knowledge/articles",
        SUPERVISOR,
        "Create an article (plain text)",
        Some("ArticleRequest"),
        201,
        Some("Article"),
    ),
    r(
        "GET",
        "/api/v1/knowledge/articles/{id}",
        STAFF,
        "An article",
        None,
        200,
        Some("Article"),
    ),
    r(
        "PUT",
        "/api/v1/knowledge/articles/{id}",
        SUPERVISOR,
        "Replace an article",
        Some("ArticleRequest"),
        200,
        Some("Article"),
    ),
    r(
        "DELETE",
        "/api/v1/knowledge/articles/{id}",
        SUPERVISOR,
        "Delete an article",
        None,
        204,
        None,
    ),
    r(
        "GET",
        "/api/v1/analytics/summary",
        SUPERVISOR,
        "Dashboard figures over a time range",
        None,
        200,
        Some("AnalyticsSummary"),
    ),
    r(
        "GET",
        "/api/v1/me/preferences",
        STAFF,
        "My own preferences",
        None,
        200,
        Some("Preferences"),
    ),
    r(
        "PUT",
        "/api/v1/me/preferences",
        STAFF,
        "Save my own preferences",
        Some("Preferences"),
        200,
        Some("Preferences"),
    ),
    r(
        "GET",
        "/api/v1/settings",
        ADMIN,
        "The bank's settings with their version",
        None,
        200,
        Some("StoredSettings"),
    ),
    r(
        "PUT",
        "/api/v1/settings",
        ADMIN,
        "Replace the bank's settings (validated, audited, applied live)",
        Some("PutSettings"),
        200,
        Some("StoredSettings"),
    ),
    r(
        "GET",
        "/api/v1/settings/audit",
        ADMIN,
        "The last 100 settings changes",
        None,
        200,
        Some("SettingsAudit"),
    ),
    r(
        "GET",
        "/api/v1/settings/public",
        ANYONE,
        "The public part the widget themes itself with",
        None,
        200,
        Some("PublicSettings"),
    ),
    r(
        "GET",
        "/api/v1/dead-letters",
        ADMIN,
        "List dead letters",
        None,
        200,
        Some("DeadLetterPage"),
    ),
    r(
        "GET",
        "/api/v1/dead-letters/{id}",
        ADMIN,
        "A dead letter with its payload",
        None,
        200,
        Some("DeadLetter"),
    ),
    r(
        "POST",
        "/api/v1/dead-letters/{id}/replay",
        ADMIN,
        "Republish to the original subject",
        None,
        200,
        Some("DeadLetter"),
    ),
    r(
        "POST",
        "/api/v1/dead-letters/{id}/discard",
        ADMIN,
        "Discard",
        None,
        200,
        Some("DeadLetter"),
    ),
    r(
        "GET",
        "/api/v1/emails",
        ADMIN,
        "List emails (recipients masked); status=failed for the ones to resend",
        None,
        200,
        Some("EmailPage"),
    ),
    r(
        "POST",
        "/api/v1/emails/{id}/resend",
        ADMIN,
        "Send a failed email again (409 unless it failed)",
        None,
        202,
        Some("Email"),
    ),
    r(
        "GET",
        "/api/v1/unsubscribe",
        ANYONE,
        "The unsubscribe link of customer emails: records it and answers with a page (text/html)",
        None,
        200,
        None,
    ),
    r(
        "GET",
        "/api/v1/openapi.json",
        ANYONE,
        "This document",
        None,
        200,
        None,
    ),
    r(
        "GET",
        "/api/v1/docs",
        ANYONE,
        "Interactive API documentation",
        None,
        200,
        None,
    ),
];

fn s(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}
fn string() -> Value {
    json!({ "type": "string" })
}
fn uuid() -> Value {
    json!({ "type": "string", "format": "uuid" })
}
fn time() -> Value {
    json!({ "type": "string", "format": "date-time" })
}
fn nullable(v: Value) -> Value {
    json!({ "oneOf": [v, { "type": "null" }] })
}
fn enumeration(values: &[&str]) -> Value {
    json!({ "type": "string", "enum": values })
}
fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": properties })
}
fn page_of(item: &str) -> Value {
    object(
        &["items", "next_cursor"],
        json!({ "items": { "type": "array", "items": s(item) }, "next_cursor": nullable(string()) }),
    )
}

fn schemas() -> Value {
    let status = enumeration(&["open", "in_progress", "resolved", "closed"]);
    let priority = enumeration(&["low", "normal", "high", "urgent"]);
    let role = enumeration(&["admin", "supervisor", "agent"]);
    let availability = enumeration(&["online", "away", "offline"]);
    let mut ticket_props = json!({
        "id": uuid(), "number": string(), "conversation_id": nullable(uuid()), "customer_id": nullable(uuid()),
        "subject": string(), "status": status, "priority": priority, "reason": string(), "category": nullable(string()),
        "tags": { "type": "array", "items": string() }, "assignee_id": nullable(uuid()), "assignee_name": nullable(string()),
        "created_at": time(), "updated_at": time(), "first_response_at": nullable(time()), "resolved_at": nullable(time()),
        "closed_at": nullable(time()), "sla": s("Sla"),
    });
    let ticket = object(
        &[
            "id",
            "number",
            "subject",
            "status",
            "priority",
            "reason",
            "tags",
            "created_at",
            "updated_at",
            "sla",
        ],
        ticket_props.clone(),
    );
    ticket_props["messages"] = json!({ "type": "array", "items": s("Message") });
    ticket_props["conversation_status"] = enumeration(&["open", "closed"]);
    let mut conversation_props = json!({
        "id": uuid(), "customer_id": uuid(), "customer_name": nullable(string()), "verified": { "type": "boolean" },
        "status": enumeration(&["open", "closed"]), "owner": enumeration(&["bot", "agent"]), "assigned_agent_id": nullable(uuid()),
        "locale": string(), "channel": string(), "rating": nullable(json!({ "type": "integer" })), "rating_comment": nullable(string()),
        "ticket_id": nullable(uuid()), "created_at": time(), "updated_at": time(), "last_message_at": nullable(time()),
        "last_customer_message": nullable(string()),
    });
    let conversation = object(
        &["id", "customer_id", "status", "owner", "created_at"],
        conversation_props.clone(),
    );
    conversation_props["messages"] = json!({ "type": "array", "items": s("Message") });
    let user = object(
        &[
            "id",
            "email",
            "display_name",
            "role",
            "active",
            "availability",
            "capacity",
            "effective_capacity",
            "open_tickets",
            "created_at",
        ],
        json!({ "id": uuid(), "email": string(), "display_name": string(), "role": role, "active": { "type": "boolean" },
                "availability": availability, "capacity": nullable(json!({ "type": "integer" })), "effective_capacity": { "type": "integer" }, "open_tickets": { "type": "integer" }, "created_at": time() }),
    );
    let customer_fields = json!({ "id": uuid(), "external_ref": nullable(string()), "display_name": nullable(string()),
        "verified": { "type": "boolean" }, "created_at": time(), "conversation_count": { "type": "integer" },
        "last_conversation_at": nullable(time()) });
    let customer = object(
        &["id", "verified", "created_at", "conversation_count"],
        customer_fields.clone(),
    );
    let mut customer_props = customer_fields;
    customer_props["conversations"] = json!({ "type": "array", "items": s("Conversation") });
    customer_props["tickets"] = json!({ "type": "array", "items": s("Ticket") });
    let counts = json!({ "type": "object", "additionalProperties": { "type": "integer" } });
    let number = json!({ "type": "number" });
    let durations = object(
        &["median", "p90", "count"],
        json!({ "median": nullable(number.clone()), "p90": nullable(number.clone()), "count": { "type": "integer" } }),
    );
    let target_met = object(
        &["met", "counted", "rate"],
        json!({ "met": { "type": "integer" }, "counted": { "type": "integer" }, "rate": nullable(number.clone()) }),
    );
    let volume = |key: &str, format: Value| {
        json!({ "type": "array", "items": object(&[key, "conversations", "messages"], json!({ key: format,
            "conversations": { "type": "integer" }, "messages": { "type": "integer" } })) })
    };
    let analytics = object(
        &[
            "from",
            "to",
            "tickets",
            "tickets_by_status",
            "tickets_by_priority",
            "first_response_seconds",
            "resolution_seconds",
            "sla",
            "conversations",
            "escalated_conversations",
            "escalation_rate",
            "escalation_reasons",
            "top_intents",
            "csat",
            "volume_per_hour",
            "volume_per_day",
        ],
        json!({ "from": time(), "to": time(), "tickets": { "type": "integer" }, "tickets_by_status": counts, "tickets_by_priority": counts,
            "first_response_seconds": durations, "resolution_seconds": durations,
            "sla": object(&["first_response", "resolution"], json!({ "first_response": target_met.clone(), "resolution": target_met })),
            "conversations": { "type": "integer" },
            "escalated_conversations": { "type": "integer" }, "escalation_rate": number, "escalation_reasons": counts,
            "top_intents": { "type": "array", "items": object(&["intent", "count"], json!({ "intent": string(), "count": { "type": "integer" } })) },
            "csat": object(&["average", "count", "distribution"], json!({ "average": nullable(number.clone()), "count": { "type": "integer" }, "distribution": counts })),
            "volume_per_hour": volume("hour", time()), "volume_per_day": volume("day", json!({ "type": "string", "format": "date" })) }),
    );
    json!({
        "Error": object(&["code", "message"], json!({ "code": string(), "message": string(),
            "fields": { "type": "array", "items": object(&["field", "message"], json!({ "field": string(), "message": string() })) } })),
        "LoginRequest": object(&["email", "password"], json!({ "email": string(), "password": string() })),
        "RefreshRequest": object(&["refresh_token"], json!({ "refresh_token": string() })),
        "ChangePasswordRequest": object(&["current_password", "new_password"], json!({ "current_password": string(), "new_password": string() })),
        "LoginResponse": object(&["access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in", "user"], json!({
            "access_token": string(), "token_type": string(), "expires_in": { "type": "integer" }, "refresh_token": string(),
            "refresh_expires_in": { "type": "integer" }, "user": s("User") })),
        "User": user,
        "UserPage": page_of("User"),
        "AvailabilityRequest": object(&["availability"], json!({ "availability": availability })),
        "CreateUserRequest": object(&["email", "display_name", "role", "password"], json!({ "email": string(), "display_name": string(),
            "role": role, "password": string(), "capacity": { "type": "integer", "minimum": 0, "maximum": 100 } })),
        "UpdateUserRequest": object(&[], json!({ "display_name": string(), "role": role, "active": { "type": "boolean" },
            "capacity": { "type": "integer", "minimum": 0, "maximum": 100 } })),
        "ResetPasswordRequest": object(&["password"], json!({ "password": string() })),
        "StartSessionRequest": object(&[], json!({ "locale": enumeration(&["en", "es"]), "identity": object(&["customer_ref", "issued_at", "signature"],
            json!({ "customer_ref": string(), "display_name": string(), "issued_at": { "type": "integer" }, "signature": string() })) })),
        "StartSessionResponse": object(&["conversation_id", "token", "expires_in", "verified"], json!({ "conversation_id": uuid(),
            "token": string(), "expires_in": { "type": "integer" }, "verified": { "type": "boolean" } })),
        "PostMessageRequest": object(&["client_message_id", "text"], json!({ "client_message_id": string(), "text": string() })),
        "Accepted": object(&["message_id"], json!({ "message_id": uuid() })),
        "Message": object(&["id", "conversation_id", "sender", "text", "created_at"], json!({ "id": uuid(), "conversation_id": uuid(),
            "sender": enumeration(&["customer", "bot", "agent", "system"]), "text": string(), "client_message_id": string(),
            "in_reply_to": uuid(), "intent": string(), "confidence": { "type": "number" }, "author_id": uuid(), "author_name": string(),
            "created_at": time() })),
        "Transcript": object(&["conversation_id", "status", "owner", "agent", "rating", "ticket_number", "messages"], json!({ "conversation_id": uuid(),
            "status": enumeration(&["open", "closed"]), "owner": enumeration(&["bot", "agent"]),
            "agent": nullable(object(&["id", "name"], json!({ "id": uuid(), "name": string() }))),
            "rating": nullable(json!({ "type": "integer" })), "ticket_number": nullable(string()),
            "messages": { "type": "array", "items": s("Message") } })),
        "ChatClosed": object(&["conversation_id", "status"], json!({ "conversation_id": uuid(), "status": enumeration(&["closed"]) })),
        "Customer": customer,
        "CustomerPage": page_of("Customer"),
        "CustomerProfile": object(&["id", "verified", "created_at", "conversation_count", "conversations", "tickets"], customer_props),
        "CannedResponse": object(&["id", "title", "body", "created_at", "updated_at"], json!({ "id": uuid(), "title": string(), "body": string(),
            "created_by": nullable(uuid()), "created_at": time(), "updated_at": time() })),
        "CannedResponsePage": page_of("CannedResponse"),
        "CannedResponseRequest": object(&["title", "body"], json!({ "title": { "type": "string", "maxLength": 200 },
            "body": { "type": "string", "maxLength": 4000 } })),
        "RenderRequest": object(&["ticket_id"], json!({ "ticket_id": uuid() })),
        "RenderedResponse": object(&["canned_response_id", "ticket_id", "text"], json!({ "canned_response_id": uuid(), "ticket_id": uuid(), "text": string() })),
        "Article": object(&["id", "slug", "locale", "title", "body", "intents", "tags", "active", "updated_at"], json!({ "id": uuid(),
            "slug": string(), "locale": enumeration(&["en", "es"]), "title": string(), "body": string(),
            "intents": { "type": "array", "items": string() }, "tags": { "type": "array", "items": string() },
            "active": { "type": "boolean" }, "updated_at": time() })),
        "ArticlePage": page_of("Article"),
        "ArticleRequest": object(&["locale", "title", "body"], json!({ "slug": { "type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$" },
            "locale": enumeration(&["en", "es"]), "title": { "type": "string", "maxLength": 200 }, "body": { "type": "string", "maxLength": 4000 },
            "intents": { "type": "array", "items": string() }, "tags": { "type": "array", "items": string() }, "active": { "type": "boolean" } })),
        "AnalyticsSummary": analytics,
        "RatingRequest": object(&["rating"], json!({ "rating": { "type": "integer", "minimum": 1, "maximum": 5 }, "comment": string() })),
        "RatingResponse": object(&["conversation_id", "rating"], json!({ "conversation_id": uuid(), "rating": { "type": "integer" }, "comment": nullable(string()) })),
        "Sla": object(&["first_response_due_at", "resolution_due_at", "first_response_breached", "resolution_breached", "breached"], json!({
            "first_response_due_at": time(), "resolution_due_at": time(), "first_response_breached": { "type": "boolean" },
            "resolution_breached": { "type": "boolean" }, "breached": { "type": "boolean" } })),
        "Ticket": ticket,
        "TicketDetail": object(&["id", "number", "subject", "status", "priority", "messages"], ticket_props),
        "TicketPage": page_of("Ticket"),
        "CreateTicketRequest": object(&["subject"], json!({ "subject": string(), "priority": priority, "category": string(),
            "tags": { "type": "array", "items": string() }, "conversation_id": uuid(), "customer_id": uuid() })),
        "UpdateTicketRequest": object(&[], json!({ "subject": string(), "category": string(), "tags": { "type": "array", "items": string() },
            "priority": priority, "expected_updated_at": time() })),
        "AssignRequest": object(&["assignee_id"], json!({ "assignee_id": nullable(uuid()) })),
        "StatusRequest": object(&["status"], json!({ "status": status, "expected_updated_at": time() })),
        "ReplyRequest": object(&["text"], json!({ "text": string(), "client_message_id": string() })),
        "NoteRequest": object(&["text"], json!({ "text": string() })),
        "Note": object(&["id", "ticket_id", "author_id", "author_name", "text", "created_at"], json!({ "id": uuid(), "ticket_id": uuid(),
            "author_id": uuid(), "author_name": string(), "text": string(), "created_at": time() })),
        "NotePage": page_of("Note"),
        "TicketEvent": object(&["id", "kind", "actor", "data", "created_at"], json!({ "id": { "type": "integer" }, "kind": string(),
            "actor": string(), "data": { "type": "object" }, "created_at": time() })),
        "TicketEventPage": page_of("TicketEvent"),
        "Conversation": conversation,
        "ConversationDetail": object(&["id", "customer_id", "status", "owner", "messages"], conversation_props),
        "ConversationPage": page_of("Conversation"),
        "DeadLetter": object(&["id", "worker", "subject", "stream_sequence", "error", "deliveries", "status", "replays", "created_at"], json!({
            "id": uuid(), "worker": string(), "subject": string(), "message_id": nullable(string()), "stream_sequence": { "type": "integer" },
            "error": string(), "deliveries": { "type": "integer" }, "status": enumeration(&["pending", "replayed", "discarded"]),
            "replays": { "type": "integer" }, "created_at": time(), "resolved_at": nullable(time()), "payload": string(), "headers": { "type": "object" } })),
        "DeadLetterPage": page_of("DeadLetter"),
        "Email": object(&["id", "kind", "recipient", "locale", "subject", "status", "attempts", "created_at", "resends"], json!({
            "id": uuid(), "kind": enumeration(&["ticket_assigned", "urgent_in_queue", "sla_warning", "agent_reply", "customer_resolution", "customer_transcript"]),
            "recipient": string(), "locale": string(), "subject": string(), "status": enumeration(&["pending", "sent", "failed", "skipped"]),
            "attempts": { "type": "integer" }, "last_error": nullable(string()), "created_at": time(), "resends": { "type": "integer" },
            "skip_reason": nullable(string()) })),
        "EmailPage": page_of("Email"),
        "ContactRequest": object(&["email"], json!({ "email": nullable(string()) })),
        "Contact": object(&["conversation_id", "email"], json!({ "conversation_id": uuid(), "email": nullable(string()) })),
        "Settings": object(&["profile", "hours", "sla", "assignment", "escalation"], json!({
            "sla_warning_minutes": { "type": "integer", "minimum": 1, "maximum": 1440 },
            "profile": object(&["name", "primary_colour", "accent_colour", "texts"], json!({ "name": string(), "primary_colour": string(),
                "accent_colour": string(), "logo_url": nullable(string()), "texts": { "type": "object", "additionalProperties": s("LocalTexts") } })),
            "hours": object(&["utc_offset", "weekly", "holidays"], json!({ "utc_offset": string(), "time_zone": string(),
                "weekly": { "type": "object", "additionalProperties": object(&["opens", "closes"], json!({ "opens": string(), "closes": string() })) },
                "holidays": { "type": "array", "items": { "type": "string", "format": "date" } } })),
            "sla": { "type": "object", "additionalProperties": object(&["first_response_minutes", "resolution_minutes"],
                json!({ "first_response_minutes": { "type": "integer" }, "resolution_minutes": { "type": "integer" } })) },
            "assignment": object(&["auto_assign", "default_capacity"], json!({ "auto_assign": { "type": "boolean" }, "default_capacity": { "type": "integer" } })),
            "escalation": object(&["low_confidence_threshold", "intent_routes"], json!({ "low_confidence_threshold": { "type": "number" },
                "intent_routes": { "type": "object", "additionalProperties": enumeration(&["bot", "low", "normal", "high", "urgent"]) } })) })),
        "LocalTexts": object(&["greeting", "out_of_scope", "after_hours"], json!({ "greeting": string(), "out_of_scope": string(), "after_hours": string() })),
        "StoredSettings": object(&["version", "updated_at", "settings"], json!({ "version": { "type": "integer" }, "updated_at": nullable(time()), "settings": s("Settings") })),
        "PutSettings": object(&["settings"], json!({ "version": { "type": "integer" }, "settings": s("Settings") })),
        "SettingsAudit": { "type": "array", "items": object(&["version", "actor_id", "actor_name", "at", "after"], json!({ "version": { "type": "integer" },
            "actor_id": uuid(), "actor_name": string(), "at": time(), "before": nullable(s("Settings")), "after": s("Settings") })) },
        "PublicSettings": object(&["name", "primary_colour", "accent_colour", "texts", "open_now"], json!({ "name": string(), "primary_colour": string(),
            "accent_colour": string(), "logo_url": nullable(string()), "texts": { "type": "object", "additionalProperties": s("LocalTexts") },
            "open_now": { "type": "boolean" } })),
        "Preferences": object(&[], json!({ "language": enumeration(&["en", "es"]), "desktop_notifications": { "type": "boolean" },
            "email": object(&[], json!({ "ticket_assigned": { "type": "boolean" }, "urgent_in_queue": { "type": "boolean" },
                "sla_warning": { "type": "boolean" } })) })),
    })
}

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": s("Error") } } })
}

/// The OpenAPI 3.1 document, built from [`ROUTES`].
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for route in ROUTES {
        let mut op = json!({
            "summary": route.summary,
            "operationId": format!("{}_{}", route.method.to_lowercase(), route.path.trim_start_matches("/api/v1/").replace(['/', '{', '}', '-', '.'], "_")),
            "x-roles": route.roles,
            "responses": {},
        });
        let anonymous = route.roles.contains(&"anonymous");
        if !anonymous {
            op["security"] = json!([{ "bearer": [] }]);
        }
        if route.path.contains("{id}") {
            op["parameters"] =
                json!([{ "name": "id", "in": "path", "required": true, "schema": uuid() }]);
        }
        if route.method == "GET"
            && let Some((_, params)) = QUERIES.iter().find(|(path, _)| *path == route.path)
        {
            op["parameters"] = params
                .iter()
                .map(|(name, kind)| query_parameter(name, kind))
                .collect();
        }
        if let Some(request) = route.request {
            op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": s(request) } } });
        }
        let ok = match route.response {
            Some(schema) => {
                json!({ "description": "success", "content": { "application/json": { "schema": s(schema) } } })
            }
            None => json!({ "description": "success" }),
        };
        let responses = op["responses"]
            .as_object_mut()
            .expect("responses is an object");
        responses.insert(route.status.to_string(), ok);
        if route.request.is_some() || route.path.contains("{id}") {
            responses.insert("202".into(), json!({ "description": "accepted: the change is applied shortly and pushed over the WebSocket" }));
        }
        responses.insert("400".into(), error_response("malformed request"));
        if !anonymous {
            responses.insert(
                "401".into(),
                error_response("missing, invalid, expired or revoked token"),
            );
            responses.insert(
                "403".into(),
                error_response("the caller's role may not do this"),
            );
        }
        responses.insert(
            "404".into(),
            error_response("not found, or outside the caller's scope"),
        );
        responses.insert(
            "409".into(),
            error_response("conflict: stale update, invalid transition, duplicate"),
        );
        responses.insert("422".into(), error_response("invalid fields"));
        responses.insert("429".into(), error_response("too many requests"));
        responses.insert(
            "503".into(),
            error_response("a dependency is unavailable; retry"),
        );
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[route.method.to_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "JoxAI API", "version": "1.0.0",
                  "description": "Customer chat and agent desk API. Errors are {code, message} (+ fields on 422). x-roles lists who may call each operation. Every text field a person types (customer or staff) is stored and returned with card numbers masked to their first six and last four digits, IBANs to country, check digits and last four, and security codes as ***." },
        "servers": [{ "url": "/" }],
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } },
            "schemas": schemas(),
        },
    })
}

/// `GET /api/v1/openapi.json` — anyone.
pub async fn openapi_json() -> Json<Value> {
    static DOC: std::sync::LazyLock<Value> = std::sync::LazyLock::new(document);
    Json(DOC.clone())
}

/// `GET /api/v1/docs` — anyone: a self-contained page (no CDN: banks' networks block them, and a
/// script from elsewhere would see the tokens typed into it) that lists every operation and can
/// call it with a bearer token.
/// The API explorer. It may not be framed by any page (no clickjacking of a signed-in operator's
/// token field), like the panel.
pub async fn docs_page() -> impl axum::response::IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_SECURITY_POLICY,
                "frame-ancestors 'none'",
            ),
            (axum::http::header::X_FRAME_OPTIONS, "DENY"),
        ],
        Html(DOCS_HTML),
    )
}

const DOCS_HTML: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>JoxAI API</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1b1f24}header{padding:12px 20px;background:#0b3d5c;color:#fff}
main{padding:12px 20px;max-width:1100px}details{border:1px solid #d0d7de;border-radius:6px;margin:6px 0}
summary{cursor:pointer;padding:8px;display:flex;gap:10px;align-items:center}.m{font-weight:700;width:60px}
.GET{color:#1a7f37}.POST{color:#0969da}.PUT,.PATCH{color:#9a6700}.DELETE{color:#cf222e}.roles{margin-left:auto;color:#57606a;font-size:12px}
.body{padding:8px 12px;border-top:1px solid #d0d7de}textarea,input{font:12px monospace;width:100%;box-sizing:border-box}
pre{background:#f6f8fa;padding:8px;overflow:auto;max-height:300px}button{margin-top:6px}
</style></head><body>
<header><strong>JoxAI API</strong> — <a style="color:#9cd" href="/api/v1/openapi.json">openapi.json</a></header>
<main><label>Bearer token <input id="token" placeholder="paste an access or customer token"></label><div id="ops">Loading…</div></main>
<script>
const esc = s => String(s).replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
fetch('/api/v1/openapi.json').then(r => r.json()).then(doc => {
  const ops = document.getElementById('ops'); ops.textContent = '';
  for (const [path, methods] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(methods)) {
    const M = method.toUpperCase(), d = document.createElement('details');
    const ref = op.requestBody && op.requestBody.content['application/json'].schema.$ref;
    const schema = ref ? doc.components.schemas[ref.split('/').pop()] : null;
    d.innerHTML = `<summary><span class="m ${M}">${M}</span><code>${esc(path)}</code> ${esc(op.summary)}<span class="roles">${esc(op['x-roles'].join(', '))}</span></summary>
      <div class="body">${schema ? `<div>Body schema</div><pre>${esc(JSON.stringify(schema, null, 2))}</pre>` : ''}
      <label>Path <input class="p" value="${esc(path)}"></label>
      ${M !== 'GET' ? '<label>Body <textarea class="b" rows="4">{}</textarea></label>' : ''}
      <button>Send</button><pre class="out"></pre></div>`;
    d.querySelector('button').onclick = async () => {
      const headers = {'content-type': 'application/json'}, token = document.getElementById('token').value.trim();
      if (token) headers.authorization = 'Bearer ' + token;
      const b = d.querySelector('.b');
      const res = await fetch(d.querySelector('.p').value, {method: M, headers, body: b ? b.value : undefined});
      d.querySelector('.out').textContent = res.status + ' ' + res.statusText + '\n' + await res.text();
    };
    ops.appendChild(d);
  }
});
</script></body></html>"#;
