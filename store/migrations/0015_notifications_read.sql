-- Notifications people read (issue 16, part 5): each reader's own read state, the task and site a
-- notification concerns, team mail addresses, and the claim that makes a mail go out once.

-- The task a notification concerns (TaskAssigned, reminders, overdue, escalations); refilled by a
-- rebuild like every outbox column, backfilled here from the events.
ALTER TABLE outbox ADD COLUMN task_id text;
UPDATE outbox o SET task_id = e.payload ->> 'task_id' FROM events e WHERE e.event_id = o.event_id;

-- A dispatcher's claim on a row (fencing token) and the moment it began handing the row to the
-- mail server. A claim that finds `sending_since` set knows the previous holder stopped in the
-- middle of a send: its retry is an uncertain one (store/outbox.py).
ALTER TABLE outbox ADD COLUMN claim_token text, ADD COLUMN sending_since timestamptz;

-- The in-app channel keeps what the pages link to, so reading it never needs the outbox (which a
-- rebuild empties for a while). One `read_at` per row could not say who read it: dropped for the
-- per-reader table below.
ALTER TABLE notification_feed
    ADD COLUMN event_id text, ADD COLUMN stream_id text, ADD COLUMN task_id text,
    DROP COLUMN read_at;
UPDATE notification_feed f SET event_id = o.event_id, stream_id = o.stream_id, task_id = o.task_id
FROM outbox o WHERE o.notification_id = f.notification_id;
CREATE INDEX notification_feed_stream ON notification_feed (stream_id);

-- Who has read what: one row per reader and notification. A reader is named as a person is
-- (today a token's actor id), so marking a team's notification read marks it for that reader only.
CREATE TABLE notification_reads (
    notification_id  text NOT NULL,
    reader           text NOT NULL,
    read_at          timestamptz NOT NULL,
    PRIMARY KEY (reader, notification_id)
);

-- Where a recipient's mail goes: 'state-team', 'district:<district>' or 'coach:<site>' (the
-- outbox's recipients) to one address. A recipient without one is told in the application only.
CREATE TABLE notification_addresses (
    recipient   text PRIMARY KEY,
    email       text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL
);
