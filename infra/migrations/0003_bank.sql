-- The demo core-banking system and the knowledge base.
--
-- JoxAI reads account data through the `CoreBanking` trait (workers/src/banking/); a bank plugs its
-- own systems in there. These bank_* tables back the demo adapter only, seeded by `joxai seed-demo`.
-- Amounts are integers in minor units (cents): never floating point for money.

CREATE TABLE bank_accounts (
    id                  uuid PRIMARY KEY,
    customer_ref        text NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('checking', 'savings', 'credit_card', 'loan')),
    name                text NOT NULL,
    number_last4        text NOT NULL,
    currency            char(3) NOT NULL,
    balance_minor       bigint NOT NULL,
    available_minor     bigint NOT NULL
);
CREATE INDEX bank_accounts_customer_idx ON bank_accounts (customer_ref);

CREATE TABLE bank_cards (
    id                      uuid PRIMARY KEY,
    customer_ref            text NOT NULL,
    account_id              uuid NOT NULL REFERENCES bank_accounts (id),
    kind                    text NOT NULL CHECK (kind IN ('debit', 'credit')),
    last4                   text NOT NULL,
    status                  text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked')),
    credit_limit_minor      bigint,
    statement_balance_minor bigint,
    payment_due_date        date,
    blocked_at              timestamptz,
    block_reason            text
);
CREATE INDEX bank_cards_customer_idx ON bank_cards (customer_ref);

CREATE TABLE bank_transactions (
    id              uuid PRIMARY KEY,
    account_id      uuid NOT NULL REFERENCES bank_accounts (id),
    posted_at       timestamptz NOT NULL,
    description     text NOT NULL,
    amount_minor    bigint NOT NULL,
    currency        char(3) NOT NULL,
    status          text NOT NULL DEFAULT 'posted' CHECK (status IN ('posted', 'pending'))
);
CREATE INDEX bank_transactions_account_idx ON bank_transactions (account_id, posted_at DESC);

CREATE TABLE bank_products (
    id              text PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('savings', 'loan')),
    name_en         text NOT NULL,
    name_es         text NOT NULL,
    -- Annual rate in basis points (325 = 3.25 %).
    rate_bps        integer NOT NULL,
    term_months     integer,
    min_amount_minor bigint NOT NULL DEFAULT 0,
    currency        char(3) NOT NULL DEFAULT 'EUR'
);

-- Bank FAQ articles the AI answers from; editable by supervisors through the API.
CREATE TABLE kb_articles (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL,
    locale      text NOT NULL CHECK (locale IN ('en', 'es')),
    title       text NOT NULL,
    body        text NOT NULL,
    -- The intents this article answers (the model's intent names).
    intents     text[] NOT NULL DEFAULT '{}',
    tags        text[] NOT NULL DEFAULT '{}',
    active      boolean NOT NULL DEFAULT true,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    search      tsvector GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || body)) STORED,
    UNIQUE (slug, locale)
);
CREATE INDEX kb_articles_search_idx ON kb_articles USING gin (search);
CREATE INDEX kb_articles_intents_idx ON kb_articles USING gin (intents);
