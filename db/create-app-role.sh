#!/bin/sh
# Run once on an empty data directory (the postgres image's
# /docker-entrypoint-initdb.d): the service's own login role, users_app, with
# the password in APP_DB_PASSWORD. It gets no right here: `manage migrate`
# (DATABASE_APP_ROLE=users_app), run as the tables' owner, grants it read and
# write on the tables and nothing else (no CREATE, DROP or ALTER). Sourced by
# the entrypoint; the password is read by psql from the environment, never
# put on a command line.
if [ -n "${APP_DB_PASSWORD:-}" ]; then
  psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres <<'SQL'
\getenv app_password APP_DB_PASSWORD
CREATE ROLE users_app LOGIN PASSWORD :'app_password';
SQL
  echo "created role users_app"
else
  echo "APP_DB_PASSWORD is not set: no role users_app (the service connects as the owner)"
fi
