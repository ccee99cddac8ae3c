-- Audit reads by actor and by time window, across every stream.

CREATE INDEX events_actor ON events ((actor ->> 'id'), occurred_at);
CREATE INDEX events_occurred ON events (occurred_at);
