#!/bin/sh
# Runs once, when the postgres container first initialises its volume (docker-entrypoint-initdb.d),
# as the superuser. Creates the two roles of ADR 13 and the database:
#   earlyhelp      owns the database and everything in it; only the `migrate` service connects as it
#   earlyhelp_app  what web, worker and beat connect as; owns nothing. `manage.py grant_app_role`,
#                  run by `migrate` after each migration, gives it its privileges.
# On a server you run yourself, run the same SQL as a superuser (see the README).
set -e
if [ -z "$DATABASE_OWNER_PASSWORD" ] || [ -z "$DATABASE_APP_PASSWORD" ]; then
    echo "earlyhelp: set DATABASE_OWNER_PASSWORD and DATABASE_APP_PASSWORD in .env" >&2
    exit 1
fi
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner_password="$DATABASE_OWNER_PASSWORD" -v app_password="$DATABASE_APP_PASSWORD" <<'SQL'
CREATE ROLE earlyhelp LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
CREATE ROLE earlyhelp_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
CREATE DATABASE earlyhelp OWNER earlyhelp;
REVOKE ALL ON DATABASE earlyhelp FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE earlyhelp TO earlyhelp_app;
\connect earlyhelp
-- PostgreSQL 15+ already keeps PUBLIC from creating objects in the public schema; older ones do not.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
