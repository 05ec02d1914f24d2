#!/usr/bin/env bash
# web.sh: the web front's benchmark ("make bench-web"), wrk through Nginx,
# then where the time of one request goes (bench/web_profile.py).
#
#   bench/web.sh           the rounds below, then the breakdown
#   bench/web.sh profile   the breakdown only ("make bench-web-profile")
#
# Gunicorn apps, each its own process group with deploy/gunicorn.conf.py,
# behind one Nginx made from deploy/nginx.conf
# (bench/web_nginx.py: a server block per app, limit_req raised out of the
# way, Nginx's cache skipped by requests carrying X-Bypass-Cache):
#   api   pg_fib's web front, web:create_app(), as deployed
#         (deploy/gunicorn.conf.py's defaults: 2 sync workers)
#   bare  a bare Flask route answering a constant JSON body (bench/web_bare.py),
#         4 sync workers: the baseline the goals are stated against
#   bare_gthread  the same route under the api's worker class and count
#         (the name is historical: deploy/gunicorn.conf.py's defaults)
#   old   the old stack's cached path, Flask + a SQLAlchemy session +
#         psycopg2 reading a table by n (bench/web_old.py), 4 sync workers
#         as it shipped
# The variants take turns, ROUNDS rounds of SECONDS_PER_RUN each (wrk,
# THREADS threads, CONNECTIONS connections, bench/cycle.lua asking for
# each n of a range in turn, so that many rows are measured, not one):
#   bare, bare_gthread   GET /bare/<n>
#   old      GET /old/calculate/<n>, n in MEMO_LO..MEMO_HI (9000..10999)
#   memo     GET /api/v1/fib/<n>, n in MEMO_LO..MEMO_HI, all memoized
#   inline   GET /api/v1/fib/<n>, n in INLINE_LO..INLINE_HI (1000..4999),
#            below pg_fib.memo_min_n: computed inside the query each time
#   cached   GET /api/v1/fib/<n>, n in MEMO_LO..MEMO_HI, from Nginx's cache
#   memo64, bare64   memo and bare with LATENCY_CONNECTIONS (64) connections
# all but cached with the cache bypassed.  With ALTERNATIVES=1, each round
# also runs what bench/web_profile.py's tables cannot say in one process:
#   floor, floor_tagged   bench/web_floor.py: the bare route plus one
#            prepared psycopg2 statement (the ceiling of any app of this shape)
#   floor_wsgi, floor_wsgi_gthread   the same as floor_tagged without
#            Flask (a WSGI function), under sync and gthread workers
#   memo_nobuffer         memo through a server with proxy_buffering off
#   memo_gthread, bare_gthread   pg_fib's app and the bare route under
#            Gunicorn's gthread workers (4 x 2 threads), which keep Nginx's
#            upstream connections alive (sync workers close each one), and
#            memo_gthread_nokeepalive through a server without keep-alive
#   bare_2k  the bare route answering a constant as long as a memo hit's
# With WORKER_CLASSES=1, memo against a second pg_fib Gunicorn restarted
# with each worker class and count (sync 2, 4, 8; gthread 4x2, 2x4, the
# latter two also without keep-alive), which is how
# deploy/gunicorn.conf.py's was chosen.  Every run also records the CPU
# time, the kernel's part of it and the context switches of each process
# tree (Nginx, each Gunicorn, PostgreSQL by part, wrk: bench/web_wrk.py).
#
# Environment: ROUNDS (5), SECONDS_PER_RUN (3), THREADS (2), CONNECTIONS
# (32), LATENCY_CONNECTIONS (64), ALTERNATIVES and WORKER_CLASSES (0 or 1),
# PROFILE (1: append the breakdown; PROFILE_ROUNDS, PROFILE_ROUND_SECONDS:
# see bench/web_profile.py), PG_CONFIG.
#
# Writes bench/results/web.md (the profile alone: web_profile.md) and the
# runs' raw figures (web-runs.jsonl), and prints the report.  Servers
# listen on free loopback ports below 32768 and are stopped on exit.
set -euo pipefail

cd "$(dirname "$0")/.."
MODE=${1:-all}
ROUNDS=${ROUNDS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-3}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
LATENCY_CONNECTIONS=${LATENCY_CONNECTIONS:-64}
ALTERNATIVES=${ALTERNATIVES:-0}
WORKER_CLASSES=${WORKER_CLASSES:-0}
PROFILE=${PROFILE:-1}
MEMO_LO=9000 MEMO_HI=10999
INLINE_LO=1000 INLINE_HI=4999
case "$MODE" in all|profile) ;; *) echo "usage: $0 [profile]" >&2; exit 2 ;; esac

# shellcheck source=lib.sh
source bench/lib.sh
bench_install
mkdir -p bench/results

# shellcheck source=../deploy/pgcluster.sh
source deploy/pgcluster.sh
WORK=$(mktemp -d /tmp/pg_fib-bench-web.XXXXXX)
chmod 755 "$WORK"
APPS=()

# stop_app NAME stops the Gunicorn of NAME (its master, by the pid in its
# pidfile; the master stops its workers), at most 30 s, then what is left
# of its process group (setsid made it, with the master's pid): a worker
# whose master died first, or everything after the 30 s.
stop_app() {
    local pidfile=$WORK/$1.pid pid
    [ -s "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL -- "-$pid" 2>/dev/null || true
    else
        kill -TERM -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

cleanup() {
    if [ -s "$WORK/nginx/nginx.pid" ]; then
        kill -QUIT "$(cat "$WORK/nginx/nginx.pid")" 2>/dev/null || true
    fi
    local app
    for app in "${APPS[@]}"; do
        stop_app "$app"
    done
    pgcluster_stop "$WORK/cluster"
    rm -rf "$WORK"
}
trap cleanup EXIT

PGPORT_=$(pgcluster_free_port)
pgcluster_init "$WORK/cluster" "$PGPORT_" "shared_preload_libraries = 'pg_fib'" \
    "max_connections = 200"
pgcluster_start "$WORK/cluster"
PSQL=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$WORK/cluster" -p "$PGPORT_" -U postgres
      -d postgres)
"${PSQL[@]}" -c "CREATE EXTENSION pg_fib" -f deploy/fib_web.sql
# The memo hits' values, memoized as the app's clients would have them: a
# value computed inline at n >= pg_fib.memo_min_n is posted to the keeper,
# and a worker stores it.  The old stack's table holds the same values.
"${PSQL[@]}" <<SQL
SELECT count(fib_text(n)) FROM generate_series($MEMO_LO, $MEMO_HI) AS n;
CREATE ROLE fib_old LOGIN;
CREATE TABLE old_fib (n integer PRIMARY KEY, value text NOT NULL);
INSERT INTO old_fib SELECT n, fib_text(n) FROM generate_series($MEMO_LO, $MEMO_HI) AS n;
GRANT SELECT ON old_fib TO fib_old;
SQL
memoized() {
    "${PSQL[@]}" -At -c "SELECT count(*) FROM fib_memo WHERE n BETWEEN $MEMO_LO AND $MEMO_HI"
}
for i in $(seq 600); do
    [ "$(memoized)" -eq $((MEMO_HI - MEMO_LO + 1)) ] && break
    if [ "$i" -eq 600 ]; then
        echo "web.sh: F($MEMO_LO..$MEMO_HI) were not memoized within 120 s" >&2
        exit 1
    fi
    if [ $((i % 10)) -eq 0 ]; then  # posts the keeper could not take: ask again
        "${PSQL[@]}" -c "SELECT count(fib_text(g.n)) FROM generate_series($MEMO_LO, $MEMO_HI) AS g(n)
                         WHERE NOT EXISTS (SELECT FROM fib_memo AS m WHERE m.n = g.n)" >/dev/null
    fi
    sleep 0.2
done
"${PSQL[@]}" -c "ANALYZE"

export FIB_WEB_DATABASE_URL="host=127.0.0.1 port=$PGPORT_ dbname=postgres user=fib_web"
export BENCH_OLD_DATABASE_URL="postgresql+psycopg2://fib_old@127.0.0.1:$PGPORT_/postgres"
export BENCH_FLOOR_DATABASE_URL=$FIB_WEB_DATABASE_URL
unset PROMETHEUS_MULTIPROC_DIR  # each Gunicorn has its own (start_app)

RESULT=bench/results/web.md
if [ "$MODE" = profile ]; then
    /usr/bin/python3 bench/web_profile.py "$MEMO_LO" "$INLINE_LO" | tee "$WORK/profile.md"
    cp "$WORK/profile.md" bench/results/web_profile.md
    exit 0
fi

# start_app NAME PORT APP [VAR=VALUE...] starts APP (a Gunicorn app
# spec) as NAME on 127.0.0.1:PORT with deploy/gunicorn.conf.py and the
# environment's VAR=VALUE (GUNICORN_WORKERS=2, ...), in a process group of
# its own, and waits until it answers.  The access log is formatted as in
# production and written to /dev/null; the metrics' directory is in $WORK,
# so that none outlives the benchmark (Gunicorn's on_exit hook, which
# removes the one it makes itself, does not run when the master fails
# while its workers stop).
start_app() {
    local name=$1 port=$2 app=$3
    shift 3
    stop_app "$name"
    env GUNICORN_BIND="127.0.0.1:$port" GUNICORN_PIDFILE="$WORK/$name.pid" \
        PROMETHEUS_MULTIPROC_DIR="$WORK/metrics-$name" "$@" \
        setsid gunicorn --config deploy/gunicorn.conf.py --access-logfile /dev/null "$app" \
        >>"$WORK/$name.log" 2>&1 </dev/null &
    case " ${APPS[*]:-} " in *" $name "*) ;; *) APPS+=("$name") ;; esac
    for _ in $(seq 300); do
        # Any answer (a 404 too) says a worker is up.
        if [ -s "$WORK/$name.pid" ] &&
            curl -sS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "web.sh: gunicorn $name did not start" >&2
    cat "$WORK/$name.log" >&2
    return 1
}

# Twenty-one distinct free ports on loopback, in PG_FIB_TEST_PORTS
# (deploy/free_ports.py): the Gunicorns' (..._G) and Nginx's servers'.
FREE_PORTS=$(/usr/bin/python3 deploy/free_ports.py 21)
read -r API_G BARE_G OLD_G FLOOR_G API_GT_G BARE_GT_G ALT_G WSGI_G WSGI_GT_G \
        API BARE OLD FLOOR NOBUF API_GT API_GT_NK BARE_GT ALT ALT_NK WSGI WSGI_GT <<<"$FREE_PORTS"
SYNC4=(GUNICORN_WORKER_CLASS=sync GUNICORN_WORKERS=4 GUNICORN_THREADS=1)
GTHREAD=(GUNICORN_WORKER_CLASS=gthread GUNICORN_WORKERS=4 GUNICORN_THREADS=2)
start_app api "$API_G" 'web:create_app()'
start_app bare "$BARE_G" 'bench.web_bare:create_app()' "${SYNC4[@]}"
start_app bare_gthread "$BARE_GT_G" 'bench.web_bare:create_app()'
start_app old "$OLD_G" 'bench.web_old:create_app()' "${SYNC4[@]}"
SERVERS=("api=127.0.0.1:$API=127.0.0.1:$API_G" "bare=127.0.0.1:$BARE=127.0.0.1:$BARE_G"
         "bare_gthread=127.0.0.1:$BARE_GT=127.0.0.1:$BARE_GT_G"
         "old=127.0.0.1:$OLD=127.0.0.1:$OLD_G")
if [ "$ALTERNATIVES" = 1 ]; then
    start_app floor "$FLOOR_G" 'bench.web_floor:create_app()' "${SYNC4[@]}"
    start_app api_gthread "$API_GT_G" 'web:create_app()' "${GTHREAD[@]}"
    start_app floor_wsgi "$WSGI_G" 'bench.web_floor:create_wsgi()'
    start_app floor_wsgi_gthread "$WSGI_GT_G" 'bench.web_floor:create_wsgi()' "${GTHREAD[@]}"
    SERVERS+=("floor=127.0.0.1:$FLOOR=127.0.0.1:$FLOOR_G"
              "nobuf=127.0.0.1:$NOBUF=127.0.0.1:$API_G=nobuffer"
              "api_gthread=127.0.0.1:$API_GT=127.0.0.1:$API_GT_G"
              "api_gthread_nk=127.0.0.1:$API_GT_NK=127.0.0.1:$API_GT_G=nokeepalive"
              "floor_wsgi=127.0.0.1:$WSGI=127.0.0.1:$WSGI_G"
              "floor_wsgi_gthread=127.0.0.1:$WSGI_GT=127.0.0.1:$WSGI_GT_G")
fi
if [ "$WORKER_CLASSES" = 1 ]; then
    SERVERS+=("alt=127.0.0.1:$ALT=127.0.0.1:$ALT_G"
              "alt_nk=127.0.0.1:$ALT_NK=127.0.0.1:$ALT_G=nokeepalive")
fi

mkdir -p "$WORK/nginx/cache"
if [ "$(id -u)" -eq 0 ]; then
    chown www-data: "$WORK/nginx/cache"
fi
deploy/run.sh nginx-conf "$WORK/nginx" 127.0.0.1:1 127.0.0.1:1 1000000r/s 1000000 65535 |
    /usr/bin/python3 bench/web_nginx.py "${SERVERS[@]}" >"$WORK/nginx/nginx.conf"
nginx -q -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"

BYPASS="X-Bypass-Cache: 1"
# Each path answers what it should before it is measured.
curl -fsS "http://127.0.0.1:$API/api/v1/fib/$MEMO_LO" -H "$BYPASS" | grep -q '"source":"memo"'
curl -fsS "http://127.0.0.1:$API/api/v1/fib/$INLINE_HI" -H "$BYPASS" |
    grep -q '"source":"computed"'
curl -fsS "http://127.0.0.1:$BARE/bare/$MEMO_LO" -H "$BYPASS" | grep -q '"value":"2178309"'
curl -fsS "http://127.0.0.1:$OLD/old/calculate/$MEMO_HI" -H "$BYPASS" |
    grep -q "existing Fibonacci number of"
if [ "$ALTERNATIVES" = 1 ]; then
    for route in floor floor_tagged; do
        curl -fsS "http://127.0.0.1:$FLOOR/$route/$MEMO_LO" -H "$BYPASS" | grep -q '"value":"'
    done
    for port in "$WSGI" "$WSGI_GT"; do
        curl -fsS "http://127.0.0.1:$port/wsgi/$MEMO_LO" -H "$BYPASS" | grep -q '"value": "'
    done
    curl -fsS "http://127.0.0.1:$BARE/bare2k/$MEMO_LO" -H "$BYPASS" | grep -q '"value":"1111'
fi
# Nginx's cache holds every value the cached variant asks for.
/usr/bin/python3 - "$API" "$MEMO_LO" "$MEMO_HI" <<'PY'
import http.client, sys
port, lo, hi = map(int, sys.argv[1:])
conn = http.client.HTTPConnection("127.0.0.1", port)
for n in (*range(lo, hi + 1), lo):
    conn.request("GET", f"/api/v1/fib/{n}")
    response = conn.getresponse()
    response.read()
    assert response.status == 200, (n, response.status)
assert response.getheader("X-Cache-Status") == "HIT", response.getheader("X-Cache-Status")
PY

OUT=$WORK/runs.jsonl
GROUPS_=(--group "nginx=$WORK/nginx/nginx.pid" --group "postgres=$WORK/cluster/data/postmaster.pid")

# measure VARIANT ROUND PORT PREFIX LO HI [CONNECTIONS [HEADER]]: one wrk run.
measure() {
    local variant=$1 round=$2 port=$3 prefix=$4 lo=$5 hi=$6 conns=${7:-$CONNECTIONS}
    local header=${8-$BYPASS} groups=("${GROUPS_[@]}") app
    for app in "${APPS[@]}"; do
        [ -s "$WORK/$app.pid" ] && groups+=(--group "$app=$WORK/$app.pid")
    done
    /usr/bin/python3 bench/web_wrk.py run "$OUT" "$variant" "$round" "http://127.0.0.1:$port" \
        "$prefix" "$lo" "$hi" --connections "$conns" --threads "$THREADS" \
        --seconds "$SECONDS_PER_RUN" ${header:+--header "$header"} "${groups[@]}"
}

# warm PORT PREFIX LO HI: one unmeasured second, so that every worker has
# booted, connected and prepared its statements.
warm() {
    wrk -t "$THREADS" -c "$CONNECTIONS" -d 1s -s bench/cycle.lua -H "$BYPASS" \
        "http://127.0.0.1:$1" -- "$2" "$3" "$4" >/dev/null
}

VARIANTS=(
    "bare $BARE /bare/ $MEMO_LO $MEMO_HI"
    "bare_gthread $BARE_GT /bare/ $MEMO_LO $MEMO_HI"
    "old $OLD /old/calculate/ $MEMO_LO $MEMO_HI"
    "memo $API /api/v1/fib/ $MEMO_LO $MEMO_HI"
    "inline $API /api/v1/fib/ $INLINE_LO $INLINE_HI"
    "cached $API /api/v1/fib/ $MEMO_LO $MEMO_HI $CONNECTIONS -"
    "memo64 $API /api/v1/fib/ $MEMO_LO $MEMO_HI $LATENCY_CONNECTIONS"
    "bare64 $BARE /bare/ $MEMO_LO $MEMO_HI $LATENCY_CONNECTIONS"
)
if [ "$ALTERNATIVES" = 1 ]; then
    VARIANTS+=(
        "floor $FLOOR /floor/ $MEMO_LO $MEMO_HI"
        "floor_tagged $FLOOR /floor_tagged/ $MEMO_LO $MEMO_HI"
        "memo_nobuffer $NOBUF /api/v1/fib/ $MEMO_LO $MEMO_HI"
        "memo_gthread $API_GT /api/v1/fib/ $MEMO_LO $MEMO_HI"
        "memo_gthread_nokeepalive $API_GT_NK /api/v1/fib/ $MEMO_LO $MEMO_HI"
        "bare_2k $BARE /bare2k/ $MEMO_LO $MEMO_HI"
        "floor_wsgi $WSGI /wsgi/ $MEMO_LO $MEMO_HI"
        "floor_wsgi_gthread $WSGI_GT /wsgi/ $MEMO_LO $MEMO_HI"
    )
fi
for spec in "${VARIANTS[@]}"; do
    set -- $spec
    warm "$2" "$3" "$4" "$5"
done

# Worker classes and counts of the second pg_fib Gunicorn (WORKER_CLASSES=1).
WORKER_CONFIGS=("sync 4" "sync 2" "sync 8" "gthread 4 2" "gthread 2 4")

for round in $(seq "$ROUNDS"); do
    echo "web.sh: round $round of $ROUNDS" >&2
    # Each round starts one variant further, so that none is always first.
    n=${#VARIANTS[@]}
    for i in $(seq 0 $((n - 1))); do
        spec=${VARIANTS[$(((i + round) % n))]}
        set -- $spec
        if [ "${7:-}" = - ]; then
            measure "$1" "$round" "$2" "$3" "$4" "$5" "$6" ""
        else
            measure "$1" "$round" "$2" "$3" "$4" "$5" "${6:-$CONNECTIONS}"
        fi
    done
    if [ "$WORKER_CLASSES" = 1 ]; then
        for config in "${WORKER_CONFIGS[@]}"; do
            set -- $config
            name="workers-$1-$2${3:+-$3}"
            start_app alt "$ALT_G" 'web:create_app()' GUNICORN_WORKER_CLASS="$1" \
                GUNICORN_WORKERS="$2" GUNICORN_THREADS="${3:-1}"
            warm "$ALT" /api/v1/fib/ "$MEMO_LO" "$MEMO_HI"
            measure "$name" "$round" "$ALT" /api/v1/fib/ "$MEMO_LO" "$MEMO_HI"
            if [ "$1" = gthread ]; then
                measure "$name-nokeepalive" "$round" "$ALT_NK" /api/v1/fib/ "$MEMO_LO" "$MEMO_HI"
            fi
        done
        stop_app alt
    fi
done

/usr/bin/python3 bench/web_wrk.py report "$OUT" \
    "Web front: wrk through Nginx ($ROUNDS rounds of $SECONDS_PER_RUN s, $THREADS threads, $CONNECTIONS connections unless said)" \
    >"$RESULT"
cp "$OUT" bench/results/web-runs.jsonl
if [ "$PROFILE" = 1 ]; then
    # The servers stop first: the breakdown runs in one process, alone.
    if [ -s "$WORK/nginx/nginx.pid" ]; then
        kill -QUIT "$(cat "$WORK/nginx/nginx.pid")" 2>/dev/null || true
    fi
    for app in "${APPS[@]}"; do
        stop_app "$app"
    done
    echo >>"$RESULT"
    /usr/bin/python3 bench/web_profile.py "$MEMO_LO" "$INLINE_LO" "$OUT" >>"$RESULT"
fi
cat "$RESULT"
