#!/usr/bin/env bash
# db-entrypoint.sh: PostgreSQL with pg_fib in the "db" and "replica"
# containers of docker-compose.yml, data on the volume /var/lib/pg_fib.
#
#   db-entrypoint.sh primary   create the cluster on first start, with the
#                              settings and the SQL of "make run"
#                              (deploy/db-bootstrap.sh), then run the server
#                              in the foreground
#   db-entrypoint.sh replica   on first start, copy the primary with
#                              pg_basebackup -R (a hot standby), then run it
#
# The cluster is made by deploy/pgcluster.sh with the settings of
# deploy/db-bootstrap.sh and set up by its SQL, as deploy/run.sh's;
# test/deploy/test_compose.py checks that both use it.  What only a
# container needs: TCP on every address of the container (listen_addresses
# = '*'), passwords for the connections from other containers
# (scram-sha-256 in pg_hba.conf; inside the container, on the socket and
# loopback, trust as make run), and role replicator for the replica.
#
# Environment: FIB_WEB_PASSWORD, REPLICATION_PASSWORD (required),
# FIB_WEB_MAX_N (pg_fib.max_n of role fib_web, default in
# deploy/db-bootstrap.sh), PGPORT
# (default 25432, as make run), PRIMARY_HOST and PRIMARY_PORT (replica:
# default db and PGPORT).  test/deploy/test_db_entrypoint.py runs this
# script on the host, outside any container, with PG_FIB_DATA (instead of
# /var/lib/pg_fib) and LISTEN_ADDRESSES (instead of '*') set.
set -euo pipefail

cd "$(dirname "$0")/.."
RUN=${PG_FIB_DATA:-/var/lib/pg_fib}
PGPORT=${PGPORT:-25432}
LISTEN_ADDRESSES=${LISTEN_ADDRESSES:-*}
PRIMARY_HOST=${PRIMARY_HOST:-db}
PRIMARY_PORT=${PRIMARY_PORT:-$PGPORT}
export PG_CONFIG=${PG_CONFIG:-pg_config}
: "${REPLICATION_PASSWORD:?set REPLICATION_PASSWORD}"

# shellcheck source=../deploy/pgcluster.sh
source deploy/pgcluster.sh
# shellcheck source=../deploy/db-bootstrap.sh
source deploy/db-bootstrap.sh

# The setup below runs on a server that listens on no TCP address and on a
# socket of another port, so that the health check (port PGPORT) passes
# only once the real server runs.
SETUP_PORT=$((PGPORT - 1))

psql_su() {
    "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN/pg" -p "$SETUP_PORT" \
        -U postgres -d postgres "$@"
}

primary() {
    : "${FIB_WEB_PASSWORD:?set FIB_WEB_PASSWORD}"
    if [ ! -s "$RUN/pg/data/PG_VERSION" ]; then
        pgcluster_init "$RUN/pg" "$PGPORT" "${DB_BOOTSTRAP_SETTINGS[@]}" \
            "listen_addresses = '*'"
        printf '%s\n' "# Other containers: fib_web (the web front) and the replica." \
            "host all fib_web all scram-sha-256" \
            "host replication replicator all scram-sha-256" |
            pg_as_owner tee -a "$RUN/pg/data/pg_hba.conf" >/dev/null
    fi
    pg_as_owner "$PG_BINDIR/pg_ctl" --pgdata="$RUN/pg/data" --log="$RUN/pg/setup.log" \
        -o "-c listen_addresses='' -p $SETUP_PORT" --wait --silent start
    db_bootstrap_setup
    # Passwords set on every start, so that changing them in the
    # environment changes them here.
    db_bootstrap_fib_web_password "$FIB_WEB_PASSWORD"
    psql_su -v replication_password="$REPLICATION_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE replicator LOGIN REPLICATION'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'replicator') \gexec
ALTER ROLE replicator PASSWORD :'replication_password';
SQL
    pg_as_owner "$PG_BINDIR/pg_ctl" --pgdata="$RUN/pg/data" --mode=fast --wait --silent stop
    serve
}

replica() {
    if [ ! -s "$RUN/pg/data/PG_VERSION" ]; then
        mkdir -p "$RUN/pg"
        chown postgres: "$RUN/pg"
        rm -rf "$RUN/pg/data"
        export PGPASSWORD=$REPLICATION_PASSWORD
        until pg_as_owner "$PG_BINDIR/pg_basebackup" --pgdata="$RUN/pg/data" \
            --host="$PRIMARY_HOST" --port="$PRIMARY_PORT" --username=replicator \
            --write-recovery-conf --checkpoint=fast --wal-method=stream; do
            echo "db-entrypoint: waiting for the primary $PRIMARY_HOST:$PRIMARY_PORT" >&2
            rm -rf "$RUN/pg/data"
            sleep 2
        done
        unset PGPASSWORD
    fi
    serve
}

# serve runs the server in the foreground as postgres, as the container's
# process 1 (setpriv execs it: the server gets docker stop's signal).  The
# port, the addresses and the socket's directory are given again on the
# command line because a replica's postgresql.conf is its primary's.
serve() {
    exec setpriv --reuid=postgres --regid=postgres --init-groups \
        "$PG_BINDIR/postgres" -D "$RUN/pg/data" -p "$PGPORT" \
        -c "listen_addresses=$LISTEN_ADDRESSES" -c "unix_socket_directories=$RUN/pg"
}

case "${1:-primary}" in
    primary) primary ;;
    replica) replica ;;
    *) exec "$@" ;;
esac
