-- More emails: SLA warnings for staff, the resolution and transcript for customers, unsubscribing,
-- and resending a failed email from the panel.

-- An email not sent on purpose is `skipped`, with the reason (`unsubscribed`): the admin sees why.
ALTER TABLE emails DROP CONSTRAINT IF EXISTS emails_status_check;
ALTER TABLE emails ADD CONSTRAINT emails_status_check CHECK (status IN ('pending', 'sent', 'failed', 'skipped'));
-- The rendered email (card data already masked), so an admin's resend sends exactly what failed. NULL
-- on rows written before this migration: those cannot be resent.
ALTER TABLE emails ADD COLUMN body_text text, ADD COLUMN body_html text,
    ADD COLUMN skip_reason text, ADD COLUMN resends integer NOT NULL DEFAULT 0;

-- Addresses that asked for no more emails (from the link in every customer email). Lower-cased.
CREATE TABLE email_unsubscribes (
    email           text PRIMARY KEY,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- The SLA warnings already announced: one per ticket and target (`first_response`, `resolution`),
-- written by the ticket worker after it published the warning event.
CREATE TABLE sla_warnings (
    ticket_id       uuid NOT NULL REFERENCES tickets (id),
    target          text NOT NULL CHECK (target IN ('first_response', 'resolution')),
    due_at          timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticket_id, target)
);

-- The customers' open chat sockets, kept by the notifier: a row per socket, `seen_at` renewed while it
-- is open, `disconnected_at` set when it closes. The email worker reads it to tell whether a customer
-- saw an agent's reply in the chat (then no email is sent). Rows last seen more than a day ago are
-- deleted by the ticket worker's periodic watch.
CREATE TABLE customer_presence (
    socket_id       uuid PRIMARY KEY,
    conversation_id uuid NOT NULL,
    connected_at    timestamptz NOT NULL DEFAULT now(),
    seen_at         timestamptz NOT NULL DEFAULT now(),
    disconnected_at timestamptz
);
CREATE INDEX customer_presence_conversation_idx ON customer_presence (conversation_id);
CREATE INDEX customer_presence_seen_idx ON customer_presence (seen_at);
