-- Trainer bookings for PD sessions: the shared resource that concurrent sites compete for.

CREATE TABLE pd_bookings (
    session_id     text PRIMARY KEY,
    initiative_id  text NOT NULL,
    site_id        text NOT NULL,
    trainer_id     text NOT NULL,
    day            date NOT NULL,
    title          text NOT NULL,
    hours          double precision NOT NULL,
    capacity       integer NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pd_bookings_trainer_day ON pd_bookings (initiative_id, trainer_id, day);
