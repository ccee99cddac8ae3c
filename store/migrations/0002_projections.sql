-- Read models derived from the events; each can be truncated and rebuilt from the events table.

CREATE TABLE projection_checkpoints (
    name        text PRIMARY KEY,
    position    bigint NOT NULL DEFAULT 0,
    rebuilt_at  timestamptz
);
INSERT INTO projection_checkpoints (name) VALUES ('sites'), ('tasks'), ('outbox'), ('scores');

-- The stage board: one row per site rollout.
CREATE TABLE sites (
    stream_id         text PRIMARY KEY,
    initiative_id     text NOT NULL,
    site_id           text NOT NULL,
    name              text NOT NULL,
    kind              text NOT NULL,
    region            text NOT NULL,
    district          text,
    district_id       text GENERATED ALWAYS AS (coalesce(district, site_id)) STORED,
    cohort_id         text NOT NULL,
    stage             text,
    status            text NOT NULL,
    stage_entered_at  timestamptz,
    updated_at        timestamptz NOT NULL,
    UNIQUE (initiative_id, site_id)
);
CREATE INDEX sites_board ON sites (initiative_id, stage, status);

-- The task inbox.
CREATE TABLE tasks (
    task_id        text PRIMARY KEY,
    stream_id      text NOT NULL,
    initiative_id  text NOT NULL,
    site_id        text NOT NULL,
    district_id    text NOT NULL,
    workflow_id    text,
    kind           text NOT NULL,
    title          text NOT NULL,
    stage          text NOT NULL,
    assignee_role  text NOT NULL,
    instrument     text,
    ref            text,
    due            date NOT NULL,
    status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed', 'withdrawn')),
    reminded       boolean NOT NULL DEFAULT false,
    overdue        boolean NOT NULL DEFAULT false,
    escalated      boolean NOT NULL DEFAULT false,
    escalated_to   text,
    assigned_at    timestamptz NOT NULL,
    completed_at   timestamptz,
    completed_by   text
);
CREATE INDEX tasks_inbox ON tasks (district_id, status, due);
CREATE INDEX tasks_stream ON tasks (stream_id);

-- Capacity scores over time, per driver and overall.
CREATE TABLE driver_scores (
    stream_id      text NOT NULL,
    assessment_id  text NOT NULL,
    driver         text NOT NULL,
    percent        double precision NOT NULL,
    stage          text NOT NULL,
    occurred_at    timestamptz NOT NULL,
    PRIMARY KEY (stream_id, assessment_id, driver)
);

-- Fidelity over time: counts and the share meeting the criterion, never names.
CREATE TABLE fidelity_scores (
    stream_id      text NOT NULL,
    assessment_id  text NOT NULL,
    stage          text NOT NULL,
    percent        double precision NOT NULL,
    assessed       integer NOT NULL,
    meeting        integer NOT NULL,
    occurred_at    timestamptz NOT NULL,
    PRIMARY KEY (stream_id, assessment_id)
);
