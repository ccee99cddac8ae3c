-- Rebuilds run page by page and resume from their checkpoint; the board is kept over time.

ALTER TABLE projection_checkpoints
    ADD COLUMN state text NOT NULL DEFAULT 'live' CHECK (state IN ('live', 'rebuilding')),
    ADD COLUMN rebuild_started_at timestamptz;

-- The outbox's delivery state, kept while the outbox is rebuilt, so nothing is sent twice.
CREATE TABLE outbox_kept_delivery (
    notification_id  text PRIMARY KEY,
    status           text NOT NULL,
    attempts         integer NOT NULL,
    next_attempt_at  timestamptz NOT NULL,
    last_error       text,
    sent_at          timestamptz
);

-- Each site's stage and status over time: one row per span, `until` open on the current one.
CREATE TABLE site_stage_history (
    stream_id      text NOT NULL,
    since_version  integer NOT NULL,
    initiative_id  text NOT NULL,
    site_id        text NOT NULL,
    cohort_id      text NOT NULL,
    region         text NOT NULL,
    district_id    text NOT NULL,
    stage          text,
    status         text NOT NULL,
    since          timestamptz NOT NULL,
    until          timestamptz,
    PRIMARY KEY (stream_id, since_version)
);
CREATE INDEX site_stage_history_board ON site_stage_history (initiative_id, since);

-- A store that already holds events fills the new projection by a rebuild (resumable).
INSERT INTO projection_checkpoints (name, state, rebuild_started_at)
SELECT 'stage_history',
       CASE WHEN EXISTS (SELECT 1 FROM events) THEN 'rebuilding' ELSE 'live' END,
       CASE WHEN EXISTS (SELECT 1 FROM events) THEN now() END;
