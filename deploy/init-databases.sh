#!/usr/bin/env bash
# Create lugh's two roles and two databases on one Postgres server. Idempotent.
#
#   role lugh_staging  owns database staging_lugh   password $STAGING_DB_PASSWORD
#   role lugh_prod     owns database prod_lugh      password $PROD_DB_PASSWORD
#
# CONNECT is revoked from PUBLIC on both databases, so each role can connect only to its
# own database (the owner keeps CONNECT): staging's role cannot open prod_lugh, and the
# reverse.
#
# Two ways to run it:
#  - mounted in the official postgres image's /docker-entrypoint-initdb.d/ (see
#    docker-compose.infra.yml): runs once, when the data directory is first created;
#  - by hand against an existing server, with the usual libpq variables or a URL:
#      STAGING_DB_PASSWORD=… PROD_DB_PASSWORD=… deploy/init-databases.sh postgres://postgres@host/postgres
#    (run again after changing a password: it sets the passwords every time).
#
# Names can be changed for tests: STAGING_DB_NAME, STAGING_DB_ROLE, PROD_DB_NAME, PROD_DB_ROLE.
# Needs psql 15 or newer (\getenv keeps the passwords off the command line).
set -euo pipefail

: "${STAGING_DB_PASSWORD:?set STAGING_DB_PASSWORD}"
: "${PROD_DB_PASSWORD:?set PROD_DB_PASSWORD}"
export STAGING_DB_PASSWORD PROD_DB_PASSWORD
export STAGING_DB_NAME="${STAGING_DB_NAME:-staging_lugh}" STAGING_DB_ROLE="${STAGING_DB_ROLE:-lugh_staging}"
export PROD_DB_NAME="${PROD_DB_NAME:-prod_lugh}" PROD_DB_ROLE="${PROD_DB_ROLE:-lugh_prod}"

for value in "$STAGING_DB_PASSWORD" "$PROD_DB_PASSWORD"; do
  if [[ $value == __*__ ]]; then
    echo "init-databases: a database password is still a placeholder; set it in .env.infra.local" >&2
    exit 1
  fi
done

psql_args=(-v ON_ERROR_STOP=1 --no-psqlrc -q)
if [[ -n ${POSTGRES_USER:-} && -z ${1:-} ]]; then
  # Inside the postgres image's init: the entrypoint's temporary server, as its superuser.
  psql_args+=(--username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-postgres}")
elif [[ -n ${1:-} ]]; then
  psql_args+=(--dbname "$1")
fi

psql "${psql_args[@]}" <<'SQL'
\getenv staging_password STAGING_DB_PASSWORD
\getenv prod_password PROD_DB_PASSWORD
\getenv staging_db STAGING_DB_NAME
\getenv staging_role STAGING_DB_ROLE
\getenv prod_db PROD_DB_NAME
\getenv prod_role PROD_DB_ROLE

-- Roles: create when missing, then (re)set the password every run.
SELECT format('CREATE ROLE %I LOGIN', :'staging_role')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'staging_role') \gexec
SELECT format('CREATE ROLE %I LOGIN', :'prod_role')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'prod_role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L',
              :'staging_role', :'staging_password') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L',
              :'prod_role', :'prod_password') \gexec

-- Databases, each owned by its role (CREATE DATABASE cannot run inside a DO block).
SELECT format('CREATE DATABASE %I OWNER %I', :'staging_db', :'staging_role')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'staging_db') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'prod_db', :'prod_role')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'prod_db') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'staging_db', :'staging_role') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'prod_db', :'prod_role') \gexec

-- Only the owner may connect (or create temp tables); PUBLIC gets neither.
SELECT format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', :'staging_db') \gexec
SELECT format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', :'prod_db') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM %I', :'staging_db', :'prod_role') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM %I', :'prod_db', :'staging_role') \gexec
SQL

echo "init-databases: $STAGING_DB_ROLE → $STAGING_DB_NAME, $PROD_DB_ROLE → $PROD_DB_NAME (CONNECT revoked from PUBLIC)"
