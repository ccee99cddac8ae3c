#!/bin/sh
# Run once by the postgres image, on app-db's first start (/docker-entrypoint-initdb.d), as its
# superuser over the container's socket: the event store's two roles and its database.
#   rollout_owner  owns the database and everything in it; runs the migrations (service migrate)
#   rollout_app    the workers and the API: may connect; the owner's migrations grant it exactly
#                  what the code does (store/privileges.py): append and read events, never change them
# The same as store/roles.py does for `rollout up`'s local PostgreSQL.
set -eu
psql -v ON_ERROR_STOP=1 --username postgres --dbname postgres \
     -v owner_password="$OWNER_DB_PASSWORD" -v app_password="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE rollout_owner WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'owner_password';
CREATE ROLE rollout_app WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'app_password';
CREATE DATABASE rollout OWNER rollout_owner;
REVOKE ALL ON DATABASE rollout FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE rollout TO rollout_owner;
GRANT CONNECT ON DATABASE rollout TO rollout_app;
\connect rollout
ALTER SCHEMA public OWNER TO rollout_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
SQL
