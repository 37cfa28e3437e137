-- A customer who writes again after their conversation ended does so in a new conversation, which the
-- bot answers. It remembers the conversation it follows and that conversation's latest ticket, so staff
-- who later handle it see the case it continues.
ALTER TABLE conversations
    ADD COLUMN follows_conversation_id uuid REFERENCES conversations (id),
    ADD COLUMN follows_ticket_id uuid REFERENCES tickets (id);
