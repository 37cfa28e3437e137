-- JoxAI schema, first version. Postgres is the system of record: the bus carries commands and events,
-- these tables hold the truth. Every command id is a uniqueness key here, which is what makes
-- redelivered commands harmless.

CREATE TABLE users (
    id              uuid PRIMARY KEY,
    email           text NOT NULL,
    display_name    text NOT NULL,
    -- argon2id PHC string; the password itself is never stored.
    password_hash   text NOT NULL,
    role            text NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent')),
    active          boolean NOT NULL DEFAULT true,
    availability    text NOT NULL DEFAULT 'offline' CHECK (availability IN ('online', 'away', 'offline')),
    capacity        integer NOT NULL DEFAULT 5 CHECK (capacity BETWEEN 0 AND 100),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE customers (
    id              uuid PRIMARY KEY,
    -- The bank's own reference, only for customers the bank's page vouched for (signed).
    external_ref    text UNIQUE,
    display_name    text,
    verified        boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE conversations (
    id                  uuid PRIMARY KEY,
    customer_id         uuid NOT NULL REFERENCES customers (id),
    status              text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    -- Who answers now. The ticket worker flips it to 'agent' on escalation; bot replies are only
    -- stored while it is 'bot' (checked under a row lock in the same transaction).
    owner               text NOT NULL DEFAULT 'bot' CHECK (owner IN ('bot', 'agent')),
    assigned_agent_id   uuid REFERENCES users (id),
    locale              text NOT NULL DEFAULT 'en',
    channel             text NOT NULL DEFAULT 'widget',
    rating              smallint CHECK (rating BETWEEN 1 AND 5),
    rating_comment      text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    last_message_at     timestamptz
);
CREATE INDEX conversations_customer_idx ON conversations (customer_id);
CREATE INDEX conversations_status_idx ON conversations (status, owner, updated_at DESC);

CREATE TABLE messages (
    -- The id of the command that created the message: a redelivered command inserts nothing.
    id                  uuid PRIMARY KEY,
    conversation_id     uuid NOT NULL REFERENCES conversations (id),
    sender              text NOT NULL CHECK (sender IN ('customer', 'bot', 'agent', 'system')),
    author_id           uuid REFERENCES users (id),
    -- Already redacted: no full card number or CVV is ever stored.
    text                text NOT NULL,
    client_message_id   text,
    in_reply_to         uuid,
    intent              text,
    confidence          real,
    created_at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX messages_conversation_idx ON messages (conversation_id, created_at, id);
CREATE UNIQUE INDEX messages_client_id_key ON messages (conversation_id, client_message_id)
    WHERE client_message_id IS NOT NULL;
-- At most one bot answer per customer message, whatever retries or races happen.
CREATE UNIQUE INDEX messages_one_bot_reply_key ON messages (in_reply_to) WHERE sender = 'bot';

CREATE SEQUENCE ticket_number_seq;

CREATE TABLE tickets (
    id                  uuid PRIMARY KEY,
    number              text NOT NULL UNIQUE,
    conversation_id     uuid REFERENCES conversations (id),
    subject             text NOT NULL,
    status              text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'resolved', 'closed')),
    priority            text NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    reason              text NOT NULL,
    assignee_id         uuid REFERENCES users (id),
    -- The command that opened the ticket.
    source_command_id   uuid NOT NULL UNIQUE,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    first_response_at   timestamptz,
    resolved_at         timestamptz,
    closed_at           timestamptz
);
-- Exactly one active ticket per conversation, however many escalations race.
CREATE UNIQUE INDEX tickets_one_active_per_conversation ON tickets (conversation_id)
    WHERE status IN ('open', 'in_progress');
CREATE INDEX tickets_queue_idx ON tickets (status, priority, created_at);
CREATE INDEX tickets_assignee_idx ON tickets (assignee_id, status);

-- Append-only audit of every ticket change. Never updated, never deleted.
CREATE TABLE ticket_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id       uuid NOT NULL REFERENCES tickets (id),
    command_id      uuid NOT NULL,
    kind            text NOT NULL,
    actor           text NOT NULL,
    data            jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (command_id, kind)
);
CREATE INDEX ticket_events_ticket_idx ON ticket_events (ticket_id, id);

CREATE FUNCTION ticket_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ticket_events is append-only';
END $$;
CREATE TRIGGER ticket_events_no_update BEFORE UPDATE OR DELETE ON ticket_events
    FOR EACH ROW EXECUTE FUNCTION ticket_events_append_only();

-- Messages a worker gave up on: inspect, then replay or discard.
CREATE TABLE dead_letters (
    id                  uuid PRIMARY KEY,
    worker              text NOT NULL,
    subject             text NOT NULL,
    message_id          text,
    stream_sequence     bigint NOT NULL,
    payload             text NOT NULL,
    headers             jsonb NOT NULL DEFAULT '{}',
    error               text NOT NULL,
    deliveries          bigint NOT NULL,
    status              text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'replayed', 'discarded')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    resolved_at         timestamptz,
    UNIQUE (worker, stream_sequence)
);
CREATE INDEX dead_letters_status_idx ON dead_letters (status, created_at DESC);
