-- The desk follows the bank's settings (`joxai_platform::settings`): capacity and SLA targets.

-- A staff member's own capacity is now optional: NULL means the bank's default capacity
-- (`assignment.default_capacity`, edited in the panel), so changing the default applies to everyone
-- who has no capacity of their own. 5 was the column's default (and the settings' default), so rows
-- holding exactly 5 are treated as never having chosen one.
ALTER TABLE users ALTER COLUMN capacity DROP DEFAULT, ALTER COLUMN capacity DROP NOT NULL;
UPDATE users SET capacity = NULL WHERE capacity = 5;

-- Each ticket's SLA due times, set by the ticket worker from the bank's targets for its priority when
-- the ticket is opened, and again when its priority changes. Stored rather than computed on read, so
-- a later change of the targets does not move what was already promised to a customer.
ALTER TABLE tickets ADD COLUMN first_response_due_at timestamptz, ADD COLUMN resolution_due_at timestamptz;
-- Tickets from before: the targets the product had built in until now.
UPDATE tickets SET
    first_response_due_at = created_at + CASE priority WHEN 'urgent' THEN interval '15 minutes' WHEN 'high' THEN interval '1 hour'
                                                       WHEN 'normal' THEN interval '4 hours' ELSE interval '8 hours' END,
    resolution_due_at = created_at + CASE priority WHEN 'urgent' THEN interval '4 hours' WHEN 'high' THEN interval '8 hours'
                                                   WHEN 'normal' THEN interval '24 hours' ELSE interval '72 hours' END;
