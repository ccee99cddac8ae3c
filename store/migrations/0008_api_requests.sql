-- Every API request that could change something (any method but GET, HEAD and OPTIONS), with who
-- made it and how it ended. Never the token, never the body.

CREATE TABLE api_requests (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    token_id     text,
    actor_id     text,
    role         text,
    district     text,
    method       text NOT NULL,
    path         text NOT NULL,
    status       integer NOT NULL
);
CREATE INDEX api_requests_actor ON api_requests (actor_id, at);
CREATE INDEX api_requests_at ON api_requests (at);
