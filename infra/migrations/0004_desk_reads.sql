-- Indexes for the desk's newer reads: customer search and profile, canned responses, knowledge-base
-- lists (all keyset-paged newest first), and the analytics summary's time ranges.

CREATE INDEX customers_created_idx ON customers (created_at DESC, id DESC);
CREATE INDEX conversations_created_idx ON conversations (created_at, id);
CREATE INDEX conversations_rated_idx ON conversations (rated_at) WHERE rating IS NOT NULL;
CREATE INDEX messages_created_idx ON messages (created_at);
CREATE INDEX tickets_customer_idx ON tickets (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX canned_responses_updated_idx ON canned_responses (updated_at DESC, id DESC);
CREATE INDEX kb_articles_updated_idx ON kb_articles (updated_at DESC, id DESC);
