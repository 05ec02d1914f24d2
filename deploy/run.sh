#!/usr/bin/env bash
# run.sh starts, stops and reports the whole stack on loopback, as
# "make run", "make stop" and "make status" do:
#   PostgreSQL with pg_fib and pg_cron (cluster in run/pg, data kept),
#   Gunicorn serving web/ as role fib_web, Nginx in front of it.
#
#   deploy/run.sh start    install what is missing, build and install the
#                          extension, start what is not running (harmless twice)
#   deploy/run.sh stop     stop what start started, by pid
#   deploy/run.sh status   say what runs
#   deploy/run.sh nginx-conf PREFIX LISTEN UPSTREAM RATE BURST
#                          print deploy/nginx.conf filled in (the tests use it)
#
# Environment: PORT (Nginx, default 8080), GUNICORN_PORT (default PORT+1),
# PGPORT (default 25432, fixed when the cluster is created), FIB_WEB_MAX_N
# (pg_fib.max_n of role fib_web, default 100000000), RATE and BURST (Nginx's
# limit_req per client address, default 50r/s and 100), PG_CONFIG.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUN=$ROOT/run
PORT=${PORT:-8080}
GUNICORN_PORT=${GUNICORN_PORT:-$((PORT + 1))}
RATE=${RATE:-50r/s}
BURST=${BURST:-100}
FIB_WEB_MAX_N=${FIB_WEB_MAX_N:-100000000}
export PG_CONFIG=${PG_CONFIG:-pg_config}

SUDO=
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
fi

# nginx_conf PREFIX LISTEN UPSTREAM RATE BURST prints the filled template.
nginx_conf() {
    local user=""
    if [ "$(id -u)" -eq 0 ]; then
        user="user www-data;"
    fi
    sed -e "s|@PREFIX@|$1|g" -e "s|@LISTEN@|$2|g" -e "s|@UPSTREAM@|$3|g" \
        -e "s|@RATE@|$4|g" -e "s|@BURST@|$5|g" -e "s|@USER@|$user|g" \
        "$ROOT/deploy/nginx.conf"
}

# alive PIDFILE: the pid in PIDFILE runs.
alive() {
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

pg_running() {
    [ -f "$RUN/pg/data/postmaster.pid" ] &&
        pg_as_owner "$PG_BINDIR/pg_ctl" --pgdata="$RUN/pg/data" status >/dev/null 2>&1
}

psql_su() {
    "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN/pg" -p "$(cat "$RUN/pg.port")" \
        -U postgres -d postgres "$@"
}

start() {
    deploy/install-deps.sh
    make --silent PG_CONFIG="$PG_CONFIG"
    $SUDO make --silent install PG_CONFIG="$PG_CONFIG" >/dev/null
    # shellcheck source=pgcluster.sh
    source deploy/pgcluster.sh
    mkdir -p "$RUN"

    if [ ! -d "$RUN/pg/data" ]; then
        echo "${PGPORT:-25432}" >"$RUN/pg.port"
        pgcluster_init "$RUN/pg" "$(cat "$RUN/pg.port")" \
            "shared_preload_libraries = 'pg_fib, pg_cron'" \
            "pg_fib.workers = 1" \
            "cron.database_name = 'postgres'" \
            "cron.use_background_workers = on" \
            "max_worker_processes = 16"
    fi
    if ! pg_running; then
        pgcluster_start "$RUN/pg"
    fi
    psql_su <<SQL
CREATE EXTENSION IF NOT EXISTS pg_fib;
ALTER EXTENSION pg_fib UPDATE;
CREATE EXTENSION IF NOT EXISTS pg_cron;
\\i $ROOT/deploy/fib_web.sql
ALTER ROLE fib_web SET pg_fib.max_n = $FIB_WEB_MAX_N;
SELECT fib_schedule_maintenance() AS maintenance_job \\gset
SQL

    if ! alive "$RUN/gunicorn.pid"; then
        # Started as root, Gunicorn's workers (the app) run as www-data.
        local as_user=()
        if [ "$(id -u)" -eq 0 ]; then
            as_user=(--user www-data --group www-data)
        fi
        FIB_WEB_DATABASE_URL="host=127.0.0.1 port=$(cat "$RUN/pg.port") dbname=postgres user=fib_web" \
        GUNICORN_BIND="127.0.0.1:$GUNICORN_PORT" GUNICORN_PIDFILE="$RUN/gunicorn.pid" \
            setsid nohup gunicorn --config deploy/gunicorn.conf.py "${as_user[@]}" 'web:create_app()' \
            >>"$RUN/gunicorn.log" 2>&1 </dev/null &
        for _ in $(seq 50); do
            alive "$RUN/gunicorn.pid" && break
            sleep 0.1
        done
    fi

    mkdir -p "$RUN/nginx"
    nginx_conf "$RUN/nginx" "127.0.0.1:$PORT" "127.0.0.1:$GUNICORN_PORT" "$RATE" "$BURST" \
        >"$RUN/nginx/nginx.conf"
    if [ "$(id -u)" -eq 0 ]; then
        mkdir -p "$RUN/nginx/cache"
        chown www-data: "$RUN/nginx/cache"
    fi
    if alive "$RUN/nginx/nginx.pid"; then
        nginx -q -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" -s reload
    else
        nginx -q -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf"
    fi

    for _ in $(seq 100); do
        if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz"; then
            break
        fi
        sleep 0.1
    done
    status || true
    echo
    echo "pg_fib runs at http://127.0.0.1:$PORT/"
    echo "psql:  $PG_BINDIR/psql -h $RUN/pg -p $(cat "$RUN/pg.port") -U postgres postgres"
    echo "stop:  make stop"
}

stop() {
    # shellcheck source=pgcluster.sh
    source deploy/pgcluster.sh
    if alive "$RUN/nginx/nginx.pid"; then
        kill -QUIT "$(cat "$RUN/nginx/nginx.pid")"
    fi
    if alive "$RUN/gunicorn.pid"; then
        kill -TERM "$(cat "$RUN/gunicorn.pid")"
    fi
    for _ in $(seq 100); do
        alive "$RUN/gunicorn.pid" || alive "$RUN/nginx/nginx.pid" || break
        sleep 0.1
    done
    pgcluster_stop "$RUN/pg"
    echo "stopped"
}

status() {
    # shellcheck source=pgcluster.sh
    source deploy/pgcluster.sh
    local rc=0
    if pg_running; then
        echo "postgres: running on 127.0.0.1:$(cat "$RUN/pg.port") (data in $RUN/pg/data)"
    else
        echo "postgres: stopped"; rc=3
    fi
    if alive "$RUN/gunicorn.pid"; then
        echo "gunicorn: running, pid $(cat "$RUN/gunicorn.pid") (log $RUN/gunicorn.log)"
    else
        echo "gunicorn: stopped"; rc=3
    fi
    if alive "$RUN/nginx/nginx.pid"; then
        echo "nginx:    running, pid $(cat "$RUN/nginx/nginx.pid") on http://127.0.0.1:$PORT/"
    else
        echo "nginx:    stopped"; rc=3
    fi
    return $rc
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    nginx-conf) shift; nginx_conf "$@" ;;
    *) echo "usage: $0 start|stop|status|nginx-conf PREFIX LISTEN UPSTREAM RATE BURST" >&2; exit 2 ;;
esac
