-- The agent desk: staff sessions and refresh tokens, login throttling, ticket fields for the desk,
-- internal notes, canned responses, the outcome of every desk command, and assignment fairness.

-- One row per sign-in (a refresh-token family). Access tokens carry its id (`sid`); revoking it ends
-- the session everywhere on the next request.
CREATE TABLE staff_sessions (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    revoked_reason  text
);
CREATE INDEX staff_sessions_user_idx ON staff_sessions (user_id) WHERE revoked_at IS NULL;

-- Refresh tokens, stored as SHA-256 of the token (the token is 256 random bits, so a fast hash is
-- enough: nothing to brute-force). A token is spent once; presenting a spent one revokes the family.
CREATE TABLE refresh_tokens (
    token_hash      text PRIMARY KEY,
    session_id      uuid NOT NULL REFERENCES staff_sessions (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    used_at         timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- Failed sign-ins, counted over a sliding window per account and per client address.
CREATE TABLE login_failures (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account         text NOT NULL,
    client_ip       text NOT NULL,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_account_idx ON login_failures (account, at);
CREATE INDEX login_failures_ip_idx ON login_failures (client_ip, at);

ALTER TABLE tickets
    ADD COLUMN category text,
    ADD COLUMN tags text[] NOT NULL DEFAULT '{}',
    -- Set for tickets opened for a customer without a conversation (a phone call, a branch visit).
    ADD COLUMN customer_id uuid REFERENCES customers (id);
CREATE INDEX tickets_updated_idx ON tickets (updated_at, id);
CREATE INDEX tickets_created_idx ON tickets (created_at, id);

-- Round-robin among equally loaded agents: the one assigned least recently goes first.
ALTER TABLE users ADD COLUMN last_assigned_at timestamptz;

-- Internal notes live apart from `messages`, so no customer transcript query can ever return one.
CREATE TABLE ticket_notes (
    id              uuid PRIMARY KEY,
    ticket_id       uuid NOT NULL REFERENCES tickets (id),
    author_id       uuid NOT NULL REFERENCES users (id),
    text            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX ticket_notes_ticket_idx ON ticket_notes (ticket_id, created_at);

CREATE TABLE canned_responses (
    id              uuid PRIMARY KEY,
    title           text NOT NULL,
    body            text NOT NULL,
    created_by      uuid REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- The outcome of every desk command, keyed by its id: a redelivered command finds its row and only
-- republishes the events recorded here (same ids, so JetStream drops them), and the ingress reads
-- the outcome to answer the HTTP request.
CREATE TABLE command_results (
    id              uuid PRIMARY KEY,
    kind            text NOT NULL,
    ok              boolean NOT NULL,
    error_code      text,
    error_message   text,
    result          jsonb NOT NULL DEFAULT '{}',
    events          jsonb NOT NULL DEFAULT '[]',
    created_at      timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE dead_letters ADD COLUMN replays integer NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN rated_at timestamptz;
