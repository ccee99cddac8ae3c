-- Notifications decided by events, delivered at least once by a dispatcher; channels dedupe.

CREATE TABLE outbox (
    notification_id  text PRIMARY KEY,
    event_id         text NOT NULL,
    stream_id        text NOT NULL,
    recipient        text NOT NULL,
    subject          text NOT NULL,
    body             text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    last_error       text,
    created_at       timestamptz NOT NULL,
    sent_at          timestamptz
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';

-- The in-app channel: what each recipient sees in the application.
CREATE TABLE notification_feed (
    notification_id  text PRIMARY KEY,
    recipient        text NOT NULL,
    subject          text NOT NULL,
    body             text NOT NULL,
    delivered_at     timestamptz NOT NULL DEFAULT now(),
    read_at          timestamptz
);
CREATE INDEX notification_feed_recipient ON notification_feed (recipient, delivered_at DESC);
