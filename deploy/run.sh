#!/usr/bin/env bash
# run.sh starts, stops and reports the whole stack on loopback, as
# "make run", "make stop" and "make status" do:
#   PostgreSQL with pg_fib and pg_cron (cluster in run/pg, data kept),
#   REPLICAS hot standbys of it (run/replica1, ...: pg_basebackup -R),
#   Gunicorn serving web/ as role fib_web, Nginx in front of it.
#
# run/ is git-ignored.  Started by root, the servers run as postgres and
# Gunicorn's workers as www-data: when those users cannot reach the
# repository (a checkout in /root, say), run is a link to
# /var/lib/pg_fib-run/<checkout's name>-<hash of its path>, and the app runs
# from a copy of web/ and deploy/gunicorn.conf.py made there at each start
# (only start makes that directory: nginx-conf, status and stop leave no trace).
#
#   deploy/run.sh start    install what is missing, build and install the
#                          extension, start what is not running (harmless twice)
#   deploy/run.sh stop     stop what start started, by pid
#   deploy/run.sh status   say what runs
#   deploy/run.sh nginx-conf PREFIX LISTEN UPSTREAM RATE BURST [CONN]
#   deploy/run.sh api-docs DIR  fill DIR with the API's documentation (/api/docs/)
#                          print deploy/nginx.conf filled in (the tests use it)
#
# Environment: PORT (Nginx, default 8080), GUNICORN_PORT (default PORT+1),
# PGPORT (default 25432, fixed when the cluster is created), FIB_WEB_MAX_N
# (pg_fib.max_n of role fib_web, default 100000000), RATE and BURST (Nginx's
# limit_req per client address, default 50r/s and 100), REPLICAS (read
# replicas to run, on ports PGPORT+1, ...; default: as many as the last
# start ran, 0 the first time; REPLICAS=0 stops them and keeps their data),
# PG_CONFIG.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUN=$ROOT/run
APP=$ROOT
# reachable: the servers' users can reach the checkout.
reachable() {
    runuser -u postgres -- test -x "$ROOT" 2>/dev/null &&
        runuser -u www-data -- test -r "$ROOT/web/__init__.py" 2>/dev/null
}
if [ -L "$RUN" ]; then
    RUN=$(readlink -f "$RUN")
    APP=$RUN/app
elif [ "${1:-}" = start ] && [ "$(id -u)" -eq 0 ] && [ ! -d "$RUN" ] && ! reachable; then
    STATE=/var/lib/pg_fib-run/$(basename "$ROOT")-$(printf %s "$ROOT" | md5sum | cut -c1-12)
    mkdir -p "$STATE"
    chmod 755 /var/lib/pg_fib-run "$STATE"
    ln -s "$STATE" "$RUN"
    RUN=$STATE
    APP=$STATE/app
fi
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

# nginx_conf PREFIX LISTEN UPSTREAM RATE BURST [CONN] prints the filled
# template (CONN: requests under way per client address, default $CONN or
# 32; the API's documentation is read from PREFIX/api-docs, see api_docs).
nginx_conf() {
    local user=""
    if [ "$(id -u)" -eq 0 ]; then
        user="user www-data;"
    fi
    sed -e "s|@PREFIX@|$1|g" -e "s|@LISTEN@|$2|g" -e "s|@UPSTREAM@|$3|g" \
        -e "s|@RATE@|$4|g" -e "s|@BURST@|$5|g" -e "s|@CONN@|${6:-${CONN:-32}}|g" \
        -e "s|@USER@|$user|g" -e "s|@DOCS@|$1/api-docs|g" \
        "$ROOT/deploy/nginx.conf"
}

# api_docs DIR fills DIR with the API's documentation page (deploy/api-docs)
# and the Swagger UI files it uses (npm/, deploy/install-npm.sh), which
# Nginx serves at /api/docs/.
api_docs() {
    local dir=$1 swagger=$ROOT/npm/node_modules/swagger-ui-dist
    if [ ! -f "$swagger/swagger-ui-bundle.js" ]; then
        echo "run.sh: $swagger is missing: run deploy/install-npm.sh" >&2
        return 1
    fi
    mkdir -p "$dir"
    cp "$ROOT"/deploy/api-docs/* "$swagger/swagger-ui-bundle.js" "$swagger/swagger-ui.css" "$dir/"
    chmod -R a+rX "$dir"
}

# alive PIDFILE: the pid in PIDFILE runs.
alive() {
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

pg_running() {
    [ -f "$RUN/pg/data/postmaster.pid" ] &&
        pg_as_owner "$PG_BINDIR/pg_ctl" --pgdata="$RUN/pg/data" status >/dev/null 2>&1
}

# restrict_access DIR: the cluster in DIR lets a superuser in on its socket
# only, in a directory only its owner (and root) can enter, and on
# loopback TCP only fib_web (the app) and replication from the socket.
restrict_access() {
    chmod 700 "$1"
    printf '%s\n' "# Written by deploy/run.sh at every start." \
        "local all all trust" \
        "local replication all trust" \
        "host postgres fib_web 127.0.0.1/32 trust" |
        pg_as_owner tee "$1/data/pg_hba.conf" >/dev/null
}

# replica_running DIR: the standby in DIR runs.
replica_running() {
    [ -f "$1/data/postmaster.pid" ] &&
        pg_as_owner "$PG_BINDIR/pg_ctl" --pgdata="$1/data" status >/dev/null 2>&1
}

# start_replicas COUNT starts COUNT hot standbys of the primary, making
# those that do not exist yet, stops the others, and sets REPLICA_URLS (a
# JSON list of their connection strings as fib_web) for the app.
start_replicas() {
    local count=$1 primary_port dir port i
    primary_port=$(cat "$RUN/pg.port")
    REPLICA_URLS=
    for dir in "$RUN"/replica*; do
        [ -d "$dir" ] || continue
        i=${dir##*/replica}
        if [ "$i" -gt "$count" ] && replica_running "$dir"; then
            pgcluster_stop "$dir"
        fi
    done
    for i in $(seq 1 "$count"); do
        dir=$RUN/replica$i
        port=$((primary_port + i))
        if [ ! -d "$dir/data" ]; then
            mkdir -p "$dir"
            [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
            pg_as_owner "$PG_BINDIR/pg_basebackup" --pgdata="$dir/data" --host="$RUN/pg" \
                --port="$primary_port" --username=postgres --write-recovery-conf \
                --checkpoint=fast --wal-method=stream
            # The primary's postgresql.conf came along: the standby's own
            # port and socket directory override it.
            printf '%s\n' "port = $port" "unix_socket_directories = '$dir'" |
                pg_as_owner tee -a "$dir/data/postgresql.conf" >/dev/null
        fi
        restrict_access "$dir"
        if ! replica_running "$dir"; then
            pgcluster_start "$dir"
        else
            pg_as_owner "$PG_BINDIR/pg_ctl" --pgdata="$dir/data" reload >/dev/null
        fi
        REPLICA_URLS+="${REPLICA_URLS:+, }\"host=127.0.0.1 port=$port dbname=postgres user=fib_web\""
    done
    REPLICA_URLS="[$REPLICA_URLS]"
    echo "$count" >"$RUN/replicas"
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
            "max_worker_processes = 16" \
            "log_line_prefix = '%m [%p] %q%u@%d %a: '" \
            "log_min_duration_statement = 500"
    fi
    restrict_access "$RUN/pg"
    if ! pg_running; then
        pgcluster_start "$RUN/pg"
    else
        pg_as_owner "$PG_BINDIR/pg_ctl" --pgdata="$RUN/pg/data" reload >/dev/null
    fi
    psql_su <<SQL
CREATE EXTENSION IF NOT EXISTS pg_fib;
ALTER EXTENSION pg_fib UPDATE;
CREATE EXTENSION IF NOT EXISTS pg_cron;
\\i $ROOT/deploy/fib_web.sql
ALTER ROLE fib_web SET pg_fib.max_n = $FIB_WEB_MAX_N;
SELECT fib_schedule_maintenance() AS maintenance_job \\gset
SQL
    start_replicas "${REPLICAS:-$(cat "$RUN/replicas" 2>/dev/null || echo 0)}"

    # The app's environment and address; Gunicorn is restarted when they
    # changed (another set of replicas, another PORT).
    local app_env
    app_env="FIB_WEB_DATABASE_URL=host=127.0.0.1 port=$(cat "$RUN/pg.port") dbname=postgres user=fib_web
FIB_WEB_REPLICA_URLS=$REPLICA_URLS
GUNICORN_BIND=127.0.0.1:$GUNICORN_PORT"
    if alive "$RUN/gunicorn.pid" && [ "$app_env" != "$(cat "$RUN/gunicorn.env" 2>/dev/null)" ]; then
        stop_gunicorn
    fi
    if ! alive "$RUN/gunicorn.pid"; then
        # Started as root, Gunicorn's workers (the app) run as www-data.
        local as_user=()
        if [ "$(id -u)" -eq 0 ]; then
            as_user=(--user www-data --group www-data)
        fi
        echo "$app_env" >"$RUN/gunicorn.env"
        if [ "$APP" != "$ROOT" ]; then
            rm -rf "$APP"
            mkdir -p "$APP/deploy"
            cp -R "$ROOT/web" "$APP/web"
            cp "$ROOT/deploy/gunicorn.conf.py" "$APP/deploy/"
            chmod -R a+rX "$APP"
        fi
        cd "$APP"
        FIB_WEB_DATABASE_URL="host=127.0.0.1 port=$(cat "$RUN/pg.port") dbname=postgres user=fib_web" \
        FIB_WEB_REPLICA_URLS=$REPLICA_URLS \
        GUNICORN_BIND="127.0.0.1:$GUNICORN_PORT" GUNICORN_PIDFILE="$RUN/gunicorn.pid" \
            setsid nohup gunicorn --config deploy/gunicorn.conf.py "${as_user[@]}" 'web:create_app()' \
            >>"$RUN/gunicorn.log" 2>&1 </dev/null &
        cd "$ROOT"
        for _ in $(seq 50); do
            alive "$RUN/gunicorn.pid" && break
            sleep 0.1
        done
    fi

    mkdir -p "$RUN/nginx"
    echo "$PORT" >"$RUN/port"
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
    if [ "$APP" != "$ROOT" ]; then
        echo "state: $RUN (the servers' users cannot reach $ROOT)"
    fi
    echo "stop:  make stop"
}

# stop_gunicorn stops Gunicorn gracefully and waits for it (at most 30 s).
stop_gunicorn() {
    if alive "$RUN/gunicorn.pid"; then
        kill -TERM "$(cat "$RUN/gunicorn.pid")"
    fi
    for _ in $(seq 300); do
        alive "$RUN/gunicorn.pid" || break
        sleep 0.1
    done
}

stop() {
    # shellcheck source=pgcluster.sh
    source deploy/pgcluster.sh
    if alive "$RUN/nginx/nginx.pid"; then
        kill -QUIT "$(cat "$RUN/nginx/nginx.pid")"
    fi
    stop_gunicorn
    for _ in $(seq 100); do
        alive "$RUN/nginx/nginx.pid" || break
        sleep 0.1
    done
    local dir
    for dir in "$RUN"/replica*; do
        [ -d "$dir" ] && pgcluster_stop "$dir"
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
    local dir
    for dir in "$RUN"/replica*; do
        [ -d "$dir/data" ] || continue
        if replica_running "$dir"; then
            echo "${dir##*/}: running, hot standby on 127.0.0.1:$(($(cat "$RUN/pg.port") + ${dir##*/replica}))"
        else
            echo "${dir##*/}: stopped"
            [ "${dir##*/replica}" -gt "$(cat "$RUN/replicas" 2>/dev/null || echo 0)" ] || rc=3
        fi
    done
    if alive "$RUN/gunicorn.pid"; then
        echo "gunicorn: running, pid $(cat "$RUN/gunicorn.pid") (log $RUN/gunicorn.log)"
    else
        echo "gunicorn: stopped"; rc=3
    fi
    if alive "$RUN/nginx/nginx.pid"; then
        echo "nginx:    running, pid $(cat "$RUN/nginx/nginx.pid") on http://127.0.0.1:$(cat "$RUN/port" 2>/dev/null || echo "$PORT")/"
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
    api-docs) shift; api_docs "$@" ;;
    *) echo "usage: $0 start|stop|status|nginx-conf PREFIX LISTEN UPSTREAM RATE BURST" >&2; exit 2 ;;
esac
