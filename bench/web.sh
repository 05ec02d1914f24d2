#!/usr/bin/env bash
# web.sh: the web front's benchmark ("make bench-web"), wrk through Nginx.
#
# One Gunicorn (deploy/gunicorn.conf.py) serves bench/web_app.py: pg_fib's
# app plus a constant Flask route and a replica of the old stack's cached
# path (SQLAlchemy session, a table queried by n); one Nginx from
# deploy/nginx.conf is in front, with limit_req raised out of the way.  The
# variants take turns for ROUNDS rounds of SECONDS each (wrk, THREADS
# threads, CONNECTIONS connections); the table gives the medians, and each
# ratio is the median of the ratios within a round (the machine is shared
# and noisy: variants side by side in the same round are what to compare):
#   const   GET /bench/const, cache bypassed
#   api     GET /api/v1/fib/N (memoized), cache bypassed
#   old     GET /old/calculate/N, cache bypassed
#   cached  GET /api/v1/fib/N from Nginx's cache
# Then the api variant under other worker classes and counts, taking turns
# the same way, which is how deploy/gunicorn.conf.py's choice was made.
#
# Writes bench/results/web.md and prints it.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
ROUNDS=${ROUNDS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-3}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-16}
N=${N:-10000}

# shellcheck source=lib.sh
source bench/lib.sh
bench_install
mkdir -p bench/results

# shellcheck source=../deploy/pgcluster.sh
source deploy/pgcluster.sh
WORK=$(mktemp -d /tmp/pg_fib-bench-web.XXXXXX)
chmod 755 "$WORK"
GUNICORN_PID=
cleanup() {
    if [ -s "$WORK/nginx/nginx.pid" ]; then
        kill -QUIT "$(cat "$WORK/nginx/nginx.pid")" 2>/dev/null || true
    fi
    if [ -n "$GUNICORN_PID" ]; then
        kill -TERM "$GUNICORN_PID" 2>/dev/null || true
        wait "$GUNICORN_PID" 2>/dev/null || true
    fi
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
# The old stack's table, holding the same value, and its role.
"${PSQL[@]}" <<SQL
CREATE ROLE fib_old LOGIN;
CREATE TABLE old_fib (n integer PRIMARY KEY, value text NOT NULL);
INSERT INTO old_fib SELECT $N, fib_text($N);
GRANT SELECT ON old_fib TO fib_old;
SELECT n, state FROM fib_wait($N);
SQL

GPORT=$(pgcluster_free_port)
PORT=$(pgcluster_free_port)
export FIB_WEB_DATABASE_URL="host=127.0.0.1 port=$PGPORT_ dbname=postgres user=fib_web"
export BENCH_OLD_DATABASE_URL="postgresql+psycopg2://fib_old@127.0.0.1:$PGPORT_/postgres"

# start_gunicorn [gunicorn options...] (re)starts the bench app.
start_gunicorn() {
    if [ -n "$GUNICORN_PID" ]; then
        kill -TERM "$GUNICORN_PID"
        wait "$GUNICORN_PID" 2>/dev/null || true
    fi
    GUNICORN_BIND="127.0.0.1:$GPORT" gunicorn --config deploy/gunicorn.conf.py \
        --access-logfile /dev/null "$@" 'bench.web_app:create_app()' >>"$WORK/gunicorn.log" 2>&1 &
    GUNICORN_PID=$!
    for _ in $(seq 100); do
        if curl -fsS -o /dev/null "http://127.0.0.1:$GPORT/bench/const" 2>/dev/null; then
            # The first worker answers while the others still import the
            # app: let them all boot, and warm their pools, unmeasured.
            sleep 2
            wrk -t "$THREADS" -c "$CONNECTIONS" -d 1s "$URL/api/v1/fib/$N" \
                -H "X-Bypass-Cache: 1" >/dev/null
            return 0
        fi
        sleep 0.1
    done
    echo "gunicorn did not start" >&2
    cat "$WORK/gunicorn.log" >&2
    return 1
}

mkdir -p "$WORK/nginx/cache"
if [ "$(id -u)" -eq 0 ]; then
    chown www-data: "$WORK/nginx/cache"
fi
deploy/run.sh nginx-conf "$WORK/nginx" "127.0.0.1:$PORT" "127.0.0.1:$GPORT" 1000000r/s 1000000 \
    >"$WORK/nginx/nginx.conf"
# No access log, and a request with the X-Bypass-Cache header skips the
# cache (the uncached variants): the benchmark's only changes.
sed -i -e 's|access_log .*;|access_log off;|' \
    -e 's|proxy_cache_valid 200 1y;|proxy_cache_valid 200 1y; proxy_cache_bypass $http_x_bypass_cache; proxy_no_cache $http_x_bypass_cache;|' \
    "$WORK/nginx/nginx.conf"
grep -q 'proxy_cache_bypass' "$WORK/nginx/nginx.conf"
nginx -q -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"
URL=http://127.0.0.1:$PORT
start_gunicorn

# Each path answers what it should before it is measured.
curl -fsS "$URL/api/v1/fib/$N" | grep -q '"value":"'
curl -fsS "$URL/old/calculate/$N" | grep -q "existing Fibonacci number of"
curl -fsS "$URL/api/v1/fib/$N" -o /dev/null  # warm Nginx's cache
curl -fsS -D - -o /dev/null "$URL/api/v1/fib/$N" | grep -q "X-Cache-Status: HIT"

# run_wrk NAME PATH [HEADER]: one wrk run; appends "rps p50_ms p99_ms" to
# $WORK/NAME.
run_wrk() {
    local name=$1 path=$2 header=${3:-}
    local args=(-t "$THREADS" -c "$CONNECTIONS" -d "${SECONDS_PER_RUN}s" --latency)
    if [ -n "$header" ]; then
        args+=(-H "$header")
    fi
    wrk "${args[@]}" "$URL$path" >"$WORK/wrk.out"
    if grep -q "Non-2xx" "$WORK/wrk.out"; then
        cat "$WORK/wrk.out" >&2
        echo "web.sh: $name answered errors" >&2
        return 1
    fi
    /usr/bin/python3 - "$WORK/wrk.out" >>"$WORK/$name" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p = {q: ms(*re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s)$", text, re.M).groups()) for q in ("50", "99")}
print(f"{rps:.1f} {p['50']:.3f} {p['99']:.3f}")
PY
}

BYPASS="X-Bypass-Cache: 1"
for _ in $(seq "$ROUNDS"); do
    run_wrk const /bench/const "$BYPASS"
    run_wrk api "/api/v1/fib/$N" "$BYPASS"
    run_wrk old "/old/calculate/$N" "$BYPASS"
    run_wrk cached "/api/v1/fib/$N"
done

# Worker classes and counts, the api variant, taking turns for ROUNDS
# rounds (Gunicorn restarted for each).
for _ in $(seq "$ROUNDS"); do
    for config in "sync 2" "sync 4" "sync 8" "gthread 2 4" "gthread 4 2"; do
        set -- $config
        name="workers-$1-$2${3:+-$3}"
        if [ "$1" = gthread ]; then
            start_gunicorn --worker-class gthread --workers "$2" --threads "$3"
        else
            start_gunicorn --worker-class sync --workers "$2"
        fi
        run_wrk "$name" "/api/v1/fib/$N" "$BYPASS"
    done
done

RESULT=bench/results/web.md
/usr/bin/python3 - "$WORK" "$N" "$ROUNDS" "$SECONDS_PER_RUN" "$THREADS" "$CONNECTIONS" >"$RESULT" <<'PY'
import statistics, sys
work, n, rounds, secs, threads, conns = sys.argv[1:]
def rounds_of(name):
    return [list(map(float, l.split())) for l in open(f"{work}/{name}")]
def load(name):
    return [statistics.median(col) for col in zip(*rounds_of(name))]
def ratio(a, b):
    """The median over rounds of requests/s of a / requests/s of b."""
    return statistics.median(x[0] / y[0] for x, y in zip(rounds_of(a), rounds_of(b)))
print(f"# Web front: wrk through Nginx (n = {n}, {rounds} rounds of {secs} s, "
      f"{threads} threads, {conns} connections; medians)\n")
const = load("const")
print("| variant | requests/s | p50 (ms) | p99 (ms) | vs constant Flask route | target |")
print("|---|---:|---:|---:|---:|---|")
labels = {
    "const": ("constant Flask route, cache bypassed", "-"),
    "api": (f"/api/v1/fib/{n} (memoized), cache bypassed", ">= 0.8x constant"),
    "old": (f"old stack's replica /old/calculate/{n} (SQLAlchemy), cache bypassed", "-"),
    "cached": (f"/api/v1/fib/{n} from Nginx's cache", ">= 10x constant"),
}
res = {k: load(k) for k in labels}
for k, (label, target) in labels.items():
    rps, p50, p99 = res[k]
    print(f"| {label} | {rps:.0f} | {p50:.2f} | {p99:.2f} | {ratio(k, 'const'):.2f} | {target} |")
print(f"\n/api/v1/fib/{n} vs the old stack's replica: {ratio('api', 'old'):.2f}x "
      "requests/s (target >= 3x).\n")
print(f"Worker class and count, /api/v1/fib/{n} with the cache bypassed, {rounds} rounds "
      "(the ratio: median within a round against sync 4):\n")
print("| workers | requests/s | p50 (ms) | p99 (ms) | vs sync 4 |")
print("|---|---:|---:|---:|---:|")
for name in ("workers-sync-2", "workers-sync-4", "workers-sync-8", "workers-gthread-2-4",
             "workers-gthread-4-2"):
    rps, p50, p99 = load(name)
    print(f"| {name[8:].replace('-', ' ')} | {rps:.0f} | {p50:.2f} | {p99:.2f} "
          f"| {ratio(name, 'workers-sync-4'):.2f} |")
print()
PY
/usr/bin/python3 bench/web_profile.py "$N" >>"$RESULT"
cat "$RESULT"
