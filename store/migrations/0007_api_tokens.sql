-- API tokens. Only a SHA-256 hash of each token's secret is kept: the secret is shown once, when
-- the token is created, and cannot be recovered from the database.

CREATE TABLE api_tokens (
    token_id     text PRIMARY KEY,
    secret_hash  text NOT NULL CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
    name         text NOT NULL,
    role         text NOT NULL
                 CHECK (role IN ('state_admin', 'district_coordinator', 'coach', 'auditor')),
    district     text,
    actor_id     text NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    -- Coordinators and coaches act for one district; state admins and auditors for none.
    CHECK ((role IN ('district_coordinator', 'coach')) = (district IS NOT NULL)),
    CHECK (expires_at > created_at)
);
CREATE INDEX api_tokens_actor ON api_tokens (actor_id);
