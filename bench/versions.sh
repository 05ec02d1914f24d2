#!/usr/bin/env bash
# versions.sh [BASE]: the memo-hit path of fib(n) of this work tree against
# the release BASE (default: the last commit of version 1.0), side by side
# in one run ("make bench-versions").
#
# A memo hit must stay as cheap as it was before version 1.1 made the
# functions read the tables by identity, without privileges, with a fresh
# snapshot and with every digit checked.  Both libraries are built and
# installed into private, relocated copies of this machine's PostgreSQL
# (PostgreSQL finds its share and lib directories relative to its binaries,
# so a copy works in place), each copy runs a cluster, and the two are
# measured in turns: per call in the server, SELECT count(fib(:n + 0 * i))
# FROM generate_series(1, K) minus the same query without fib, divided by K,
# for ROUNDS rounds; the medians and their ratio are what to read.
#
# Writes bench/results/versions.md and prints it.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BASE=${1:-$(git log -1 --format=%H -S"default_version = '1.1'" -- pg_fib.control)^}
ROUNDS=${ROUNDS:-21}
HIT_NS=${HIT_NS:-"10000 100000 627177"}
PG_CONFIG=${PG_CONFIG:-pg_config}
PYTHON=/usr/bin/python3

# shellcheck source=../deploy/pgcluster.sh
source deploy/pgcluster.sh
# shellcheck source=lib.sh
source bench/lib.sh
WORK=$(mktemp -d /tmp/pg_fib-versions.XXXXXX)
chmod 755 "$WORK"
cleanup() {
    local side
    for side in base head; do
        pgcluster_stop "$WORK/$side/cluster"
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

declare -A PORTS
for side in base head; do
    mkdir -p "$WORK/$side/src"
    if [ "$side" = base ]; then
        git archive "$BASE" | tar -x -C "$WORK/$side/src"
    else
        git ls-files -z | tar --null -T - -c | tar -x -C "$WORK/$side/src"
    fi
    config=$(private_postgres "$WORK/$side/pg")
    make -s -C "$WORK/$side/src" PG_CONFIG="$config" >/dev/null
    make -s -C "$WORK/$side/src" PG_CONFIG="$config" install >/dev/null
    chmod -R a+rX "$WORK/$side"
    (
        PG_CONFIG=$config
        # shellcheck source=../deploy/pgcluster.sh
        source "$ROOT/deploy/pgcluster.sh"
        port=$(pgcluster_free_port)
        pgcluster_init "$WORK/$side/cluster" "$port" \
            "shared_preload_libraries = 'pg_fib'" "pg_fib.workers = 1" >/dev/null
        pgcluster_start "$WORK/$side/cluster"
        echo "$port" >"$WORK/$side/port"
    )
    PORTS[$side]=$(cat "$WORK/$side/port")
done

mkdir -p bench/results
BASE_NAME=$(git log -1 --format='%h (%s)' "$BASE")
"$PYTHON" - "$WORK" "${PORTS[base]}" "${PORTS[head]}" "$ROUNDS" "$BASE_NAME" $HIT_NS <<'PY' | tee bench/results/versions.md
import statistics, sys, time
import psycopg

work, base_port, head_port, rounds, base_name = sys.argv[1:6]
ns = [int(n) for n in sys.argv[6:]]
rounds = int(rounds)
conns = {side: psycopg.connect(host=f"{work}/{side}/cluster", port=int(port), user="postgres",
                               dbname="postgres", autocommit=True)
         for side, port in (("base", base_port), ("head", head_port))}

# Memoize each n: a first fib(n) computes it and hands it to the keeper.
for conn in conns.values():
    conn.execute("CREATE EXTENSION pg_fib")
    for n in ns:
        conn.execute("SELECT fib(%s) IS NOT NULL", (n,))
for conn in conns.values():
    for n in ns:
        deadline = time.monotonic() + 60
        while conn.execute("SELECT count(*) FROM fib_memo WHERE n = %s", (n,)).fetchone()[0] == 0:
            if time.monotonic() > deadline:
                sys.exit(f"F({n}) was not memoized")
            time.sleep(0.1)

def calls(n):
    return 2000 if n <= 10000 else 500 if n <= 100000 else 100

def per_call(conn, n, k):
    def run(sql):
        t0 = time.perf_counter()
        conn.execute(sql, (n, k), prepare=True).fetchone()
        return time.perf_counter() - t0
    with_fib = run("SELECT count(fib(%s + 0 * i)) FROM generate_series(1, %s) AS i")
    without = run("SELECT count(%s + 0 * i) FROM generate_series(1, %s) AS i")
    return (with_fib - without) / k * 1e6

print(f"Memo hit, fib(n) per call in the server: {base_name} against this tree, "
      f"medians of {rounds} rounds taken in turns.\n")
print("| n | K | base (us) | this tree (us) | this tree / base |")
print("|---:|---:|---:|---:|---:|")
for n in ns:
    k = calls(n)
    times = {side: [] for side in conns}
    for _ in range(rounds):
        for side, conn in conns.items():
            times[side].append(per_call(conn, n, k))
    base, head = statistics.median(times["base"]), statistics.median(times["head"])
    print(f"| {n} | {k} | {base:.2f} | {head:.2f} | {head / base:.2f} |")
PY
