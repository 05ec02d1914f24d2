# db-bootstrap.sh: what makes a PostgreSQL 15 cluster pg_fib's database,
# in one place for both clusters that are made from it: "make run"'s
# (deploy/run.sh, in run/pg) and the "db" container's
# (docker/db-entrypoint.sh).  Sourced by both; it only defines, so it can be
# sourced before PostgreSQL is installed.
#
#   DB_BOOTSTRAP_SETTINGS  the server's settings, for pgcluster_init
#                          (deploy/pgcluster.sh) when the cluster is made
#   db_bootstrap_setup     the extensions, role fib_web, its pg_fib.max_n,
#                          the maintenance job (at every start)
#   db_bootstrap_fib_web_password  fib_web's password (and connection limit)
#
# The functions run their SQL with psql_su, which the caller defines: psql
# as superuser postgres on database postgres of the cluster being set up,
# with -X -q -v ON_ERROR_STOP=1.  What differs stays with each caller:
# pg_hba.conf, the addresses it listens on, where the password comes from,
# role replicator (the container's replica logs in over the network).
#
# Environment: FIB_WEB_MAX_N (pg_fib.max_n of role fib_web, default
# 100000000).
# shellcheck shell=bash

DB_BOOTSTRAP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FIB_WEB_MAX_N=${FIB_WEB_MAX_N:-100000000}

# pg_fib's compute worker and pg_cron (for the maintenance job) loaded at
# start; the log says who ran what (%a, the app's application_name) and
# which statements took 500 ms or more.
# shellcheck disable=SC2034  # (used by the scripts that source this file)
DB_BOOTSTRAP_SETTINGS=(
    "shared_preload_libraries = 'pg_fib, pg_cron'"
    "pg_fib.workers = 1"
    "cron.database_name = 'postgres'"
    "cron.use_background_workers = on"
    "max_worker_processes = 16"
    "log_line_prefix = '%m [%p] %q%u@%d %a: '"
    "log_min_duration_statement = 500"
)

# db_bootstrap_setup creates or updates both extensions and role fib_web
# (deploy/fib_web.sql), sets fib_web's pg_fib.max_n and schedules
# fib_maintain() with pg_cron; harmless to run at every start.
db_bootstrap_setup() {
    psql_su <<SQL
CREATE EXTENSION IF NOT EXISTS pg_fib;
ALTER EXTENSION pg_fib UPDATE;
CREATE EXTENSION IF NOT EXISTS pg_cron;
\\i $DB_BOOTSTRAP_DIR/fib_web.sql
ALTER ROLE fib_web SET pg_fib.max_n = $FIB_WEB_MAX_N;
SELECT fib_schedule_maintenance() AS maintenance_job \\gset
SQL
}

# db_bootstrap_fib_web_password PASSWORD [LIMIT] gives role fib_web
# PASSWORD (SCRAM) and, when LIMIT is given, that CONNECTION LIMIT.  The
# password goes by the environment (not psql's command line, which every
# user can read) into a psql variable, and the statement is kept out of
# the server's log.
db_bootstrap_fib_web_password() {
    local -a limit=()
    [ -z "${2:-}" ] || limit=(-v "limit=$2")
    PG_FIB_WEB_PASSWORD=$1 psql_su "${limit[@]}" <<'SQL'
\getenv fib_web_password PG_FIB_WEB_PASSWORD
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET log_min_error_statement = panic;
SET password_encryption = 'scram-sha-256';
ALTER ROLE fib_web PASSWORD :'fib_web_password';
\if :{?limit}
ALTER ROLE fib_web CONNECTION LIMIT :limit;
\endif
SQL
}
