-- Settings the bank edits in the panel (system-wide), each staff member's own preferences, and the
-- emails JoxAI sends. Infrastructure and secrets stay in the environment (see the README).

-- One row: the whole document, validated by the application (`joxai_platform::settings`). A
-- document rather than columns so a new setting needs no migration; `version` grows by one on
-- every change, so a process can tell whether its copy is current.
CREATE TABLE system_settings (
    id              boolean PRIMARY KEY DEFAULT true CHECK (id),
    value           jsonb NOT NULL,
    version         bigint NOT NULL DEFAULT 1,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    updated_by      uuid REFERENCES users (id)
);

-- Every change, with what it was before and after: who changed the bank's greeting, and when.
CREATE TABLE settings_audit (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id        uuid NOT NULL REFERENCES users (id),
    version         bigint NOT NULL,
    before          jsonb,
    after           jsonb NOT NULL,
    at              timestamptz NOT NULL DEFAULT now()
);

-- A staff member's own preferences (panel language, which emails they get).
CREATE TABLE staff_preferences (
    user_id         uuid PRIMARY KEY REFERENCES users (id),
    value           jsonb NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- The address a customer left in the widget, per conversation. Never logged in full.
CREATE TABLE conversation_contacts (
    conversation_id uuid PRIMARY KEY,
    email           text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- One row per email to send. `dedup_key` (the event id, the kind and the recipient) makes a
-- redelivered event find its row instead of sending again.
CREATE TABLE emails (
    id              uuid PRIMARY KEY,
    dedup_key       text NOT NULL UNIQUE,
    event_id        uuid NOT NULL,
    kind            text NOT NULL,
    recipient       text NOT NULL,
    locale          text NOT NULL,
    subject         text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX emails_status_idx ON emails (status, created_at);
