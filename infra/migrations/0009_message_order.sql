-- A message's time is when its row was written, not when its transaction began. The ticket worker stores
-- many messages in one transaction (group commit); with now() they all shared one time, so "the question
-- before this one" fell back to comparing random ids and an answer could be stored ahead of an earlier
-- question's. clock_timestamp() keeps the order in which the statements ran.
ALTER TABLE messages ALTER COLUMN created_at SET DEFAULT clock_timestamp();
