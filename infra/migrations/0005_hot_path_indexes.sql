-- Two index changes for the chat-turn hot path, each found by profiling `make bench`.
--
-- 1. The "one bot answer per question" unique index was partial on `sender = 'bot'` alone, so the
--    planner could use it for any query about a conversation's bot messages (the classifier's
--    history, the ticket worker's recent replies): it AND-ed a scan of the WHOLE index — every bot
--    answer ever stored — with the conversation's own rows, a cost that grew with the table. With
--    `in_reply_to IS NOT NULL` in the predicate, only lookups by `in_reply_to` (which imply it) can
--    use the index. Uniqueness is unchanged: every bot answer has `in_reply_to`, and NULLs never
--    conflicted anyway.
DROP INDEX messages_one_bot_reply_key;
CREATE UNIQUE INDEX messages_one_bot_reply_key ON messages (in_reply_to)
    WHERE sender = 'bot' AND in_reply_to IS NOT NULL;

-- 2. Every stored message touches its conversation (last_message_at, updated_at, status): twice
--    per chat turn. With updated_at in an index, each touch was a non-HOT update — a new row version
--    plus a new entry in every index of the table — so busy conversations bloated their indexes.
--    The desk lists conversations newest first by created_at (filtered by status and owner), so the
--    status index orders by created_at instead, and no index covers a column the touch changes: the
--    touch becomes a HOT update (same page, no index work). Pages keep a fifth free for those updates.
DROP INDEX conversations_status_idx;
CREATE INDEX conversations_status_idx ON conversations (status, owner, created_at DESC, id DESC);
ALTER TABLE conversations SET (fillfactor = 80);
