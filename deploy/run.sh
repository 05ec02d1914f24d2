#!/usr/bin/env bash
# run.sh starts, stops and reports the whole stack on loopback, as
# "make run", "make stop" and "make status" do:
#   PostgreSQL with pg_fib and pg_cron (cluster in run/pg, data kept),
#   REPLICAS hot standbys of it (run/replica1, ...: pg_basebackup -R),
#   Gunicorn serving web/ as role fib_web on the Unix socket
#   run/gunicorn/gunicorn.sock, Nginx in front of it on PORT; supervisord
#   (deploy/supervisord.conf) keeps Gunicorn and Nginx running.
#
# run/ is git-ignored.  Started by root, the servers run as postgres and
# Gunicorn's workers and Nginx's as www-data: when those users cannot reach
# the repository (a checkout in /root, say), run is a link to
# /var/lib/pg_fib-run/<checkout's name>-<hash of its path> (only start makes
# that directory: nginx-conf, status and stop leave no trace).  The app
# always runs from a copy of web/ and deploy/gunicorn.conf.py in run/app,
# made whenever Gunicorn (re)starts: the code Gunicorn's workers import,
# also those it starts later, is the code its version names (app_version),
# whatever happens to the checkout meanwhile.
#
# fib_web logs in with a password (SCRAM) that start generates once into
# run/fib_web.pgpass, a libpq passfile only the app's user can read, named
# by the app's connection strings; its CONNECTION LIMIT is computed from
# Gunicorn's workers and the app's pool size (fib_web_connection_limit).
#
#   deploy/run.sh start    check that every port it needs is free (or
#                          already this stack's), install what is missing,
#                          build and install the extension, start what is
#                          not running (harmless twice); quiet on success,
#                          details in run/*.log; on failure exits non-zero
#                          with the reason and the log's last lines
#   deploy/run.sh stop     stop supervisord and everything under it, then
#                          the clusters
#   deploy/run.sh status   say what runs and how to connect; exit 3 when a
#                          part is down
#   deploy/run.sh nginx-conf PREFIX LISTEN UPSTREAM RATE BURST [CONN [UNCACHED]]
#                          print deploy/nginx.conf filled in (the tests use it)
#   deploy/run.sh api-docs DIR  fill DIR with the API's documentation page
#                          (Nginx's /api/docs/)
#
# Environment: PORT (Nginx, default 8080), PGPORT (default 25432, fixed when
# the cluster is created), REPLICAS (read replicas to run, on ports
# PGPORT+1, ...; default: as many as the last start ran, 0 the first time;
# REPLICAS=0 stops them and keeps their data), FIB_WEB_MAX_N (pg_fib.max_n
# of role fib_web, deploy/db-bootstrap.sh), RATE and BURST (Nginx's limit_req per
# client address, default 50r/s and 100), CONN (Nginx's limit_conn per client
# address, default 32), UNCACHED_CONN (of those, on the page, the old stack's
# routes and /get, which are never cached; default 2), PG_CONFIG.  Every other FIB_WEB_*
# and GUNICORN_* variable goes to the app (GUNICORN_WORKERS,
# FIB_WEB_POOL_MAX_SIZE, ...): start restarts Gunicorn when they change, or
# when the app's code does (app_version).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
# The server's settings and the setup SQL, shared with the db container.
# shellcheck source=deploy/db-bootstrap.sh
source "$ROOT/deploy/db-bootstrap.sh"
RUN=$ROOT/run
APP=$RUN/app
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
RATE=${RATE:-50r/s}
BURST=${BURST:-100}
export PG_CONFIG=${PG_CONFIG:-pg_config}
GUNICORN_SOCKET=$RUN/gunicorn/gunicorn.sock
PASSFILE=$RUN/fib_web.pgpass

SUDO=
# The user of Gunicorn's workers (the app), who alone reads the passfile
# and reaches Gunicorn's socket; Nginx's workers run as the same.
APP_USER=$(id -un)
APP_GROUP=$(id -gn)
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    APP_USER=www-data
    APP_GROUP=www-data
fi

# app_version prints the version of the app this checkout would serve, "v"
# and 12 hex digits: a hash of what copy_app copies (web/,
# deploy/gunicorn.conf.py), of the FIB_WEB_* settings start gives it
# (passthrough_env; not GUNICORN_*, which shape no answer) and of
# FIB_WEB_MAX_N (fib_web's pg_fib.max_n: which n /about links to a value).
# Nginx's cache keys start with it (@APP_VERSION@ in deploy/nginx.conf),
# and start gives it to Gunicorn's environment, so that a new version is
# both served (supervisord restarts Gunicorn, whose new sessions take the
# role's new pg_fib.max_n, when its environment changes) and never
# answered from the old one's cache.  (A new pg_fib changes no answer of
# the app's: values do not change.)
app_version() {
    (
        set -e  # in a command substitution, errexit is not inherited
        cd "$ROOT"
        # Not in the nginx container, which has deploy/ alone (its cache
        # goes with the container).
        if [ -d web ]; then
            find web -type f ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z |
                xargs -0 sha256sum
        fi
        sha256sum deploy/gunicorn.conf.py
        passthrough_env | grep '^FIB_WEB_' || true
        echo "FIB_WEB_MAX_N=$FIB_WEB_MAX_N"
    ) | sha256sum | sed -e 's/^\(.\{12\}\).*/v\1/'
}

# nginx_conf PREFIX LISTEN UPSTREAM RATE BURST [CONN [UNCACHED]] prints the
# filled template (CONN: requests under way per client address, default
# $CONN or 32; UNCACHED: of them on the routes answered afresh each time,
# the page, the old stack's routes and /get, default $UNCACHED_CONN or 2;
# the API's documentation is read from PREFIX/api-docs, see api_docs;
# the cache keys' version is app_version's).
nginx_conf() {
    local user="" version
    version=$(app_version)
    if [ "$(id -u)" -eq 0 ]; then
        user="user www-data;"
    fi
    sed -e "s|@PREFIX@|$1|g" -e "s|@LISTEN@|$2|g" -e "s|@UPSTREAM@|$3|g" \
        -e "s|@RATE@|$4|g" -e "s|@BURST@|$5|g" -e "s|@CONN@|${6:-${CONN:-32}}|g" \
        -e "s|@UNCACHED_CONN@|${7:-${UNCACHED_CONN:-2}}|g" \
        -e "s|@USER@|$user|g" -e "s|@DOCS@|$1/api-docs|g" -e "s|@APP_VERSION@|$version|g" \
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

# fail MESSAGE [LOG...] says what went wrong, shows the last lines of each
# LOG, and exits 1.
fail() {
    local log
    echo "make run: $1" >&2
    shift
    for log in "$@"; do
        [ -s "$log" ] || continue
        echo "--- last lines of $log:" >&2
        tail -n 15 "$log" >&2
    done
    exit 1
}

# running PID: the process runs (exists and is not a zombie, which a
# parent has yet to reap).
running() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# alive PIDFILE: the pid in PIDFILE runs.
alive() {
    [ -s "$1" ] && running "$(cat "$1")"
}

pg_running() {
    [ -f "$RUN/pg/data/postmaster.pid" ] &&
        pg_as_owner "$PG_BINDIR/pg_ctl" --pgdata="$RUN/pg/data" status >/dev/null 2>&1
}

# restrict_access DIR: the cluster in DIR lets a superuser in on its socket
# only, in a directory only its owner (and root) can enter; on loopback TCP
# only fib_web (the app), with its password, and replication from the socket.
restrict_access() {
    chmod 700 "$1"
    printf '%s\n' "# Written by deploy/run.sh at every start." \
        "local all all trust" \
        "local replication all trust" \
        "host postgres fib_web 127.0.0.1/32 scram-sha-256" |
        pg_as_owner tee "$1/data/pg_hba.conf" >/dev/null
}

# replica_running DIR: the standby in DIR runs.
replica_running() {
    [ -f "$1/data/postmaster.pid" ] &&
        pg_as_owner "$PG_BINDIR/pg_ctl" --pgdata="$1/data" status >/dev/null 2>&1
}

# pg_created: the primary's cluster exists, and with it its port.
pg_created() {
    [ -d "$RUN/pg/data" ] && [ -s "$RUN/pg.port" ]
}

# pg_port prints the primary's port: the cluster's own once it exists.
pg_port() {
    if pg_created; then
        cat "$RUN/pg.port"
    else
        echo "${PGPORT:-25432}"
    fi
}

# replica_count prints how many replicas start runs.
replica_count() {
    echo "${REPLICAS:-$(cat "$RUN/replicas" 2>/dev/null || echo 0)}"
}

# port_free PORT: no other socket listens on 127.0.0.1:PORT (bound as the
# servers bind, with SO_REUSEADDR, so connections closing do not count).
port_free() {
    /usr/bin/python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1"
}

# advice PART says how to give PART (Nginx, PostgreSQL, replicaN) another port.
advice() {
    local created=
    ! pg_created || created=1
    case $1 in
        Nginx) echo "set PORT to a free port" ;;
        PostgreSQL)
            if [ -n "$created" ]; then
                echo "the cluster in $RUN/pg was created on this port: stop the other program"
            else
                echo "set PGPORT to a free port"
            fi ;;
        replica*)
            if [ -n "$created" ]; then
                echo "${1} listens on the primary's port + ${1#replica}: run fewer REPLICAS"
            else
                echo "set PGPORT so that PGPORT+1 to PGPORT+REPLICAS are free too, or run fewer REPLICAS"
            fi ;;
    esac
}

# check_addresses checks, before anything starts, that every port start
# will listen on is a port, is used once, and is free or already this
# stack's; else it says which variable to change.
check_addresses() {
    local pgport count i name part port ours
    pgport=$(pg_port)
    count=$(replica_count)
    for name in PORT PGPORT REPLICAS; do
        if [ -n "${!name:-}" ] && ! [[ ${!name} =~ ^[0-9]+$ ]]; then
            fail "$name=${!name} is not a number"
        fi
    done
    if [ -n "${PGPORT:-}" ] && pg_created && [ "$PGPORT" != "$pgport" ]; then
        echo "make run: PGPORT=$PGPORT ignored: the cluster in $RUN/pg was created on port $pgport" >&2
    fi
    local -a parts=(Nginx PostgreSQL) ports=("$PORT" "$pgport")
    for i in $(seq 1 "$count"); do
        parts+=("replica$i")
        ports+=("$((pgport + i))")
    done
    local -A owner=()
    for i in "${!parts[@]}"; do
        part=${parts[$i]}
        port=${ports[$i]}
        if [ "$port" -lt 1024 ] || [ "$port" -gt 65535 ]; then
            fail "$part's port $port is not between 1024 and 65535: $(advice "$part")"
        fi
        if [ -n "${owner[$port]:-}" ]; then
            # Only Nginx's port can meet another (a replica's is above
            # the primary's).
            fail "port $port would be both ${owner[$port]}'s and $part's: set PORT to another port"
        fi
        owner[$port]=$part
    done
    for i in "${!parts[@]}"; do
        part=${parts[$i]}
        port=${ports[$i]}
        ours=
        case $part in
            Nginx) if nginx_ours && [ "$(cat "$RUN/port" 2>/dev/null)" = "$port" ]; then ours=1; fi ;;
            PostgreSQL) if pg_running; then ours=1; fi ;;
            replica*) if replica_running "$RUN/$part"; then ours=1; fi ;;
        esac
        if [ -z "$ours" ] && ! port_free "$port"; then
            fail "port $port on 127.0.0.1, for $part, is taken by another program: $(advice "$part")"
        fi
    done
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
                --checkpoint=fast --wal-method=stream >>"$RUN/setup.log" 2>&1 ||
                fail "could not copy the primary into $dir (pg_basebackup)" "$RUN/setup.log"
            # The primary's postgresql.conf came along: the standby's own
            # port and socket directory override it.
            printf '%s\n' "port = $port" "unix_socket_directories = '$dir'" |
                pg_as_owner tee -a "$dir/data/postgresql.conf" >/dev/null
        fi
        restrict_access "$dir"
        if ! replica_running "$dir"; then
            pgcluster_start "$dir" >>"$RUN/setup.log" 2>&1 ||
                fail "replica$i did not start" "$dir/server.log"
        else
            pg_as_owner "$PG_BINDIR/pg_ctl" --pgdata="$dir/data" reload >/dev/null
        fi
        REPLICA_URLS+="${REPLICA_URLS:+, }\"host=127.0.0.1 port=$port dbname=postgres user=fib_web passfile=$PASSFILE\""
    done
    REPLICA_URLS="[$REPLICA_URLS]"
    echo "$count" >"$RUN/replicas"
}

psql_su() {
    PGOPTIONS="-c client_min_messages=warning" \
        "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN/pg" -p "$(cat "$RUN/pg.port")" \
        -U postgres -d postgres "$@"
}

# passthrough_env prints NAME=VALUE for each FIB_WEB_* and GUNICORN_*
# variable of the caller's environment that goes to the app as it is.
passthrough_env() {
    local name
    for name in $(compgen -e | LC_ALL=C sort); do
        case $name in
            FIB_WEB_DATABASE_URL | FIB_WEB_REPLICA_URLS | FIB_WEB_MAX_N | FIB_WEB_APP_VERSION | \
                GUNICORN_BIND | GUNICORN_PIDFILE) ;;
            FIB_WEB_* | GUNICORN_*) echo "$name=${!name}" ;;
        esac
    done
}

# fib_web_connection_limit prints fib_web's CONNECTION LIMIT, where the
# numbers are known: each Gunicorn worker (deploy/gunicorn.conf.py, under
# the app's environment) has a pool of at most FIB_WEB_POOL_MAX_SIZE
# (web/__init__.py) connections per server; twice that, because during a
# reload (HUP) or after a master was killed a second set of workers opens
# its pools before the first has closed them, plus 2 for connections made
# outside the pools (an operator's psql as fib_web, a check).  The limit
# holds on each server: a replica counts its own connections.
fib_web_connection_limit() {
    local -a env
    mapfile -t env < <(passthrough_env)
    cd "$ROOT" && env -i PATH="$PATH" PYTHONDONTWRITEBYTECODE=1 "${env[@]}" /usr/bin/python3 -c '
import os, runpy, sys
sys.path.insert(0, os.getcwd())
workers = runpy.run_path("deploy/gunicorn.conf.py")["workers"]
from web import DEFAULTS
pool = int(os.environ.get("FIB_WEB_POOL_MAX_SIZE", DEFAULTS["POOL_MAX_SIZE"]))
print(2 * workers * pool + 2)'
}

# make_passfile writes fib_web's password, made once, into PASSFILE (mode
# 0600, owned by the app's user: libpq ignores a passfile others can read).
make_passfile() {
    if [ ! -s "$PASSFILE" ]; then
        local password
        password=$(head -c 30 /dev/urandom | base64 | tr -d '+/=\n')
        (umask 077 && printf '127.0.0.1:*:postgres:fib_web:%s\n' "$password" >"$PASSFILE")
    fi
    chmod 600 "$PASSFILE"
    [ "$(id -u)" -ne 0 ] || chown "$APP_USER:$APP_GROUP" "$PASSFILE"
}

# setup_database creates or updates the extensions and role fib_web
# (deploy/db-bootstrap.sh), and sets fib_web's password and connection limit.
setup_database() {
    db_bootstrap_setup >>"$RUN/setup.log" 2>&1 || fail "setting up the database failed" "$RUN/setup.log"
    local limit
    limit=$(fib_web_connection_limit) ||
        fail "could not compute fib_web's connection limit from deploy/gunicorn.conf.py and web/"
    make_passfile
    db_bootstrap_fib_web_password "$(cut -d: -f5 "$PASSFILE")" "$limit" >>"$RUN/setup.log" 2>&1 ||
        fail "could not set fib_web's password" "$RUN/setup.log"
}

# sv runs supervisorctl on this stack's supervisord.
sv() {
    supervisorctl -c "$RUN/supervisord.conf" "$@"
}

# supervisord_alive: this stack's supervisord runs.
supervisord_alive() {
    [ -f "$RUN/supervisord.conf" ] && alive "$RUN/supervisord.pid"
}

# program_state NAME prints the supervisor state of program NAME (RUNNING,
# BACKOFF, FATAL, ...), or STOPPED when supervisord does not run.
program_state() {
    if supervisord_alive; then
        # (supervisorctl status exits 3 when the program is not running.)
        { sv status "$1" 2>/dev/null || true; } | awk -v name="$1" '$1 == name { print $2 }' |
            grep . || echo UNKNOWN
    else
        echo STOPPED
    fi
}

# program_pid NAME prints the pid of program NAME when it runs.
program_pid() {
    supervisord_alive && sv pid "$1" 2>/dev/null | grep -E '^[1-9][0-9]*$'
}

# nginx_ours: this stack's Nginx master runs (under supervisord, or left by
# a supervisord that was killed or by an older make run: start stops it).
nginx_ours() {
    alive "$RUN/nginx/nginx.pid" &&
        tr '\0' ' ' <"/proc/$(cat "$RUN/nginx/nginx.pid")/cmdline" 2>/dev/null | grep -q "nginx: master"
}

# supervisord_conf prints deploy/supervisord.conf filled in, the app's
# environment (lines NAME=VALUE on stdin) as NAME='VALUE',...
supervisord_conf() {
    local line environment="" value conf
    while IFS= read -r line; do
        value=${line#*=}
        if [[ $value == *"'"* ]]; then
            fail "${line%%=*} contains a single quote, which supervisord's environment cannot carry"
        fi
        environment+="${environment:+,}${line%%=*}='$value'"
    done
    # supervisord expands %(name)s in its configuration.
    environment=${environment//%/%%}
    conf=$(<"$ROOT/deploy/supervisord.conf")
    conf=${conf//@RUN@/"$RUN"}
    conf=${conf//@ROOT@/"$ROOT"}
    conf=${conf//@APP@/"$APP"}
    conf=${conf//@APP_USER@/"$APP_USER"}
    conf=${conf//@APP_GROUP@/"$APP_GROUP"}
    conf=${conf//@GUNICORN_ENV@/"$environment"}
    printf '%s\n' "$conf"
}

# copy_app copies the app where Gunicorn runs it from, when that is not the
# checkout (only before Gunicorn starts: a running master's new workers
# would import the new files).
copy_app() {
    rm -rf "$APP"
    mkdir -p "$APP/deploy"
    cp -R "$ROOT/web" "$APP/web"
    cp "$ROOT/deploy/gunicorn.conf.py" "$APP/deploy/"
    chmod -R a+rX "$APP"
}

# stop_leftover PIDFILE SIGNAL WHAT: the process of PIDFILE, if it runs
# WHAT (its command line says so) without this stack's supervisord (left by
# a supervisord that was killed, or by a make run before supervisord), is
# sent SIGNAL and waited for (at most 40 s).
stop_leftover() {
    local pid
    alive "$1" || return 0
    pid=$(cat "$1")
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$3" || return 0
    kill -"$2" "$pid" 2>/dev/null || true
    for _ in $(seq 400); do
        running "$pid" || break
        sleep 0.1
    done
}

# start_web starts (or updates) supervisord with Gunicorn and Nginx.
start_web() {
    local -a app_env
    local version
    version=$(app_version)
    app_env=("FIB_WEB_APP_VERSION=$version"
             "FIB_WEB_DATABASE_URL=host=127.0.0.1 port=$(cat "$RUN/pg.port") dbname=postgres user=fib_web passfile=$PASSFILE"
             "FIB_WEB_REPLICA_URLS=$REPLICA_URLS"
             "GUNICORN_BIND=unix:$GUNICORN_SOCKET"
             "GUNICORN_PIDFILE=$RUN/gunicorn.pid"
             "PROMETHEUS_MULTIPROC_DIR=$RUN/metrics")
    mapfile -t -O "${#app_env[@]}" app_env < <(passthrough_env)

    # Gunicorn's socket, in a directory only the app's user (Nginx's
    # workers, Gunicorn's) and root can enter.
    mkdir -p "$RUN/gunicorn" "$RUN/nginx/cache"
    chmod 700 "$RUN/gunicorn"
    if [ "$(id -u)" -eq 0 ]; then
        chown "$APP_USER:$APP_GROUP" "$RUN/gunicorn"
        chown www-data: "$RUN/nginx/cache"
    fi
    # The API's documentation, which Nginx serves at /api/docs/ (@DOCS@ in
    # nginx_conf): made again at each start, in case deploy/api-docs changed.
    api_docs "$RUN/nginx/api-docs" 2>>"$RUN/setup.log" ||
        fail "the API's documentation could not be made" "$RUN/setup.log"

    # Nginx in the foreground under supervisord: the template's
    # "daemon on;" becomes "daemon off;".
    nginx_conf "$RUN/nginx" "127.0.0.1:$PORT" "unix:$GUNICORN_SOCKET" "$RATE" "$BURST" |
        sed -e 's/^daemon on;$/daemon off;/' >"$RUN/nginx/nginx.conf.new"
    grep -qx 'daemon off;' "$RUN/nginx/nginx.conf.new" ||
        fail "deploy/nginx.conf has no 'daemon on;' line to turn off"
    nginx -t -q -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf.new" >"$RUN/nginx-test.log" 2>&1 ||
        fail "Nginx refuses its configuration" "$RUN/nginx-test.log"
    local nginx_changed=1
    if cmp -s "$RUN/nginx/nginx.conf.new" "$RUN/nginx/nginx.conf"; then
        nginx_changed=
    fi
    mv "$RUN/nginx/nginx.conf.new" "$RUN/nginx/nginx.conf"
    echo "$PORT" >"$RUN/port"

    printf '%s\n' "${app_env[@]}" | supervisord_conf >"$RUN/supervisord.conf.new"
    if supervisord_alive; then
        if ! cmp -s "$RUN/supervisord.conf.new" "$RUN/supervisord.conf"; then
            # Another environment for the app (replicas, workers, ...):
            # supervisord restarts what changed.
            copy_app
            mv "$RUN/supervisord.conf.new" "$RUN/supervisord.conf"
            sv update >>"$RUN/setup.log" 2>&1 || fail "supervisorctl update failed" "$RUN/setup.log"
        else
            rm "$RUN/supervisord.conf.new"
        fi
        # Started again if stopped by hand or given up on (FATAL).
        case $(program_state gunicorn) in
            STOPPED | EXITED | FATAL) copy_app; sv start gunicorn >>"$RUN/setup.log" 2>&1 || true ;;
        esac
        case $(program_state nginx) in
            STOPPED | EXITED | FATAL) sv start nginx >>"$RUN/setup.log" 2>&1 || true ;;
            *) [ -z "$nginx_changed" ] || sv signal HUP nginx >>"$RUN/setup.log" 2>&1 ;;
        esac
    else
        stop_leftover "$RUN/gunicorn.pid" TERM gunicorn
        stop_leftover "$RUN/nginx/nginx.pid" QUIT "nginx: master"
        rm -f "$RUN/gunicorn.pid"
        copy_app
        mv "$RUN/supervisord.conf.new" "$RUN/supervisord.conf"
        # A clean environment: the programs get only what the
        # configuration gives them.
        env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
            supervisord -c "$RUN/supervisord.conf" >>"$RUN/supervisord.log" 2>&1 ||
            fail "supervisord did not start" "$RUN/supervisord.log"
    fi
}

# wait_until_serving waits until Gunicorn and then Nginx answer /healthz
# with 200 (at most 90 s each), or fails with what their logs say.
wait_until_serving() {
    local name url state code log deadline
    for name in gunicorn nginx; do
        if [ "$name" = gunicorn ]; then
            url=(--unix-socket "$GUNICORN_SOCKET" http://localhost/healthz)
            log=("$RUN/gunicorn.log")
        else
            url=("http://127.0.0.1:$PORT/healthz")
            log=("$RUN/nginx.log" "$RUN/nginx/error.log")
        fi
        code=
        deadline=$((SECONDS + 90))
        while [ "$SECONDS" -lt "$deadline" ]; do
            state=$(program_state "$name")
            if [ "$state" = FATAL ]; then
                fail "$name could not start (supervisord gave up)" "${log[@]}"
            fi
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${url[@]}" || true)
            [ "$code" != 200 ] || break
            sleep 0.5
        done
        if [ "$code" != 200 ]; then
            fail "$name does not serve /healthz (last answer: ${code:-none}, state $state)" "${log[@]}"
        fi
    done
}

start() {
    # The paths go into configuration files and command lines unquoted.
    case "$ROOT$RUN" in
        *[!A-Za-z0-9._/+-]*) fail "the path of the checkout ($ROOT) or of run/ ($RUN) has characters other than letters, digits and . _ / + -: move the checkout" ;;
    esac
    mkdir -p "$RUN"
    echo "== $(date -Is) make run" >>"$RUN/build.log"
    deploy/install-deps.sh >>"$RUN/build.log" 2>&1 ||
        fail "installing the packages failed" "$RUN/build.log"
    # shellcheck source=deploy/pgcluster.sh
    source "$ROOT/deploy/pgcluster.sh"
    check_addresses
    { make --silent PG_CONFIG="$PG_CONFIG" && $SUDO make --silent install PG_CONFIG="$PG_CONFIG"; } \
        >>"$RUN/build.log" 2>&1 || fail "building or installing pg_fib failed" "$RUN/build.log"
    # From here on in run/, which the servers' users can enter (their
    # programs complain of a working directory they cannot).
    cd "$RUN"

    echo "== $(date -Is) make run" >>"$RUN/setup.log"
    if [ ! -d "$RUN/pg/data" ]; then
        echo "${PGPORT:-25432}" >"$RUN/pg.port"
        pgcluster_init "$RUN/pg" "$(cat "$RUN/pg.port")" "${DB_BOOTSTRAP_SETTINGS[@]}"
    fi
    restrict_access "$RUN/pg"
    if ! pg_running; then
        pgcluster_start "$RUN/pg" >>"$RUN/setup.log" 2>&1 ||
            fail "PostgreSQL did not start" "$RUN/pg/server.log"
    else
        pg_as_owner "$PG_BINDIR/pg_ctl" --pgdata="$RUN/pg/data" reload >/dev/null
    fi
    setup_database
    start_replicas "$(replica_count)"
    start_web
    wait_until_serving

    status || fail "a part of the stack is not running"
    echo
    echo "pg_fib runs at http://127.0.0.1:$PORT/"
    echo "try:   curl http://127.0.0.1:$PORT/api/v1/fib/100"
    if [ "$RUN" != "$ROOT/run" ]; then
        echo "state: $RUN (the servers' users cannot reach $ROOT)"
    fi
    echo "stop:  make stop"
}

# stop_cluster DIR stops the cluster in DIR and waits until its postmaster
# has exited (pg_ctl returns once the pid file is gone, a moment before).
stop_cluster() {
    local pid
    pid=$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null || true)
    pgcluster_stop "$1"
    [ -n "$pid" ] || return 0
    for _ in $(seq 100); do
        running "$pid" || break
        sleep 0.1
    done
}

stop() {
    # shellcheck source=deploy/pgcluster.sh
    source "$ROOT/deploy/pgcluster.sh"
    # In run/, which the servers' users can enter.
    [ ! -d "$RUN" ] || cd "$RUN"
    if supervisord_alive; then
        sv stop all >/dev/null 2>&1 || true
        sv shutdown >/dev/null 2>&1 || true
        for _ in $(seq 600); do
            alive "$RUN/supervisord.pid" || break
            sleep 0.1
        done
    fi
    stop_leftover "$RUN/gunicorn.pid" TERM gunicorn
    stop_leftover "$RUN/nginx/nginx.pid" QUIT "nginx: master"
    local dir
    for dir in "$RUN"/replica*; do
        [ ! -d "$dir" ] || stop_cluster "$dir"
    done
    stop_cluster "$RUN/pg"
    echo "stopped"
}

status() {
    # shellcheck source=deploy/pgcluster.sh
    source "$ROOT/deploy/pgcluster.sh"
    local rc=0 pid
    if supervisord_alive; then
        echo "supervisord: running, pid $(cat "$RUN/supervisord.pid") (log $RUN/supervisord.log)"
    else
        echo "supervisord: stopped"; rc=3
    fi
    if pg_running; then
        echo "postgres: running on 127.0.0.1:$(cat "$RUN/pg.port") (data in $RUN/pg/data, log $RUN/pg/server.log)"
    else
        echo "postgres: stopped"; rc=3
    fi
    local dir
    for dir in "$RUN"/replica*; do
        [ -d "$dir/data" ] || continue
        if replica_running "$dir"; then
            echo "${dir##*/}: running, hot standby on 127.0.0.1:$(($(cat "$RUN/pg.port") + ${dir##*/replica})) (log $dir/server.log)"
        else
            echo "${dir##*/}: stopped"
            [ "${dir##*/replica}" -gt "$(cat "$RUN/replicas" 2>/dev/null || echo 0)" ] || rc=3
        fi
    done
    if pid=$(program_pid gunicorn); then
        echo "gunicorn: running, pid $pid on unix:$GUNICORN_SOCKET (log $RUN/gunicorn.log)"
    else
        echo "gunicorn: $(program_state gunicorn | tr '[:upper:]' '[:lower:]')"; rc=3
    fi
    if pid=$(program_pid nginx); then
        echo "nginx:    running, pid $pid on http://127.0.0.1:$(cat "$RUN/port" 2>/dev/null || echo "$PORT")/ (logs $RUN/nginx.log, $RUN/nginx/)"
    else
        echo "nginx:    $(program_state nginx | tr '[:upper:]' '[:lower:]')"; rc=3
    fi
    if pg_running; then
        echo "psql:     $PG_BINDIR/psql -h $RUN/pg -p $(cat "$RUN/pg.port") -U postgres postgres"
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
