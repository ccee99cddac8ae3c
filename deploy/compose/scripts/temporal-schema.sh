#!/bin/sh
# Create or upgrade Temporal's two schemas (persistence and visibility) in temporal-db.
# Idempotent: `create` tolerates an existing database, update-schema applies only what is new.
set -eu
tool() { temporal-sql-tool --plugin postgres12 --ep temporal-db -u temporal -p 5432 "$@"; }
for db in temporal temporal_visibility; do
    tool --db "$db" create || true
done
tool --db temporal setup-schema -v 0.0 || true
tool --db temporal update-schema -d /etc/temporal/schema/postgresql/v12/temporal/versioned
tool --db temporal_visibility setup-schema -v 0.0 || true
tool --db temporal_visibility update-schema -d /etc/temporal/schema/postgresql/v12/visibility/versioned
