#!/usr/bin/env bash
# about.sh: the cost of fib_digits(n), fib_leading(n, k) and fib_trailing(n, k)
# per call inside the server ("make bench-about"; "make bench" runs it too).
#
# Per call: SELECT count(f(:n::bigint + 0 * i)) FROM generate_series(1, K) AS i,
# minus the same query with f(x) = x, divided by K, through pgbench -M
# prepared (n is a parameter, so nothing is folded at plan time; the
# functions are IMMUTABLE).  Two tables: against n (k = 20) from 10^2 to
# 9*10^18, where the time must grow with log n, not with n, and against k
# at n = 10^18.  The variants take turns for ROUNDS rounds of
# SECONDS_PER_RUN seconds each and the medians of every query's latency are
# compared: these machines are noisy.
#
# Writes bench/results/about.md and prints it.
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-1}
NS=${NS:-"100 1000 8000 8001 10000 100000 1000000 1000000000 1000000000000 1000000000000000 1000000000000000000 9000000000000000000"}
KS=${KS:-"20 100 1000 5000 10000"}
K_N=1000000000000000000

# shellcheck source=lib.sh
source bench/lib.sh
bench_install
mkdir -p bench/results

# shellcheck source=../deploy/pgcluster.sh
source deploy/pgcluster.sh
WORK=$(mktemp -d /tmp/pg_fib-about.XXXXXX)
chmod 755 "$WORK"
cleanup() {
    pgcluster_stop "$WORK/cluster"
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(pgcluster_free_port)
pgcluster_init "$WORK/cluster" "$PORT" "shared_preload_libraries = 'pg_fib'"
pgcluster_start "$WORK/cluster"
export PGHOST="$WORK/cluster" PGPORT="$PORT" PGUSER=postgres PGDATABASE=postgres
"$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pg_fib"

# calls K: how many calls one query makes for a digit count of k (0 for
# fib_digits), so that each query takes a few milliseconds.
calls() {
    local k=$1
    if [ "$k" -eq 0 ]; then echo 10000
    elif [ "$k" -le 20 ]; then echo 1000
    elif [ "$k" -le 100 ]; then echo 300
    elif [ "$k" -le 1000 ]; then echo 30
    else echo 3
    fi
}

# per_call NAME N K EXPR: the median per-call time, in microseconds, of
# EXPR (a function of x) over ROUNDS rounds, minus the floor's.
per_call() {
    local name=$1 n=$2 k=$3 expr=$4
    local count series
    count=$(calls "$k")
    series="FROM generate_series(1, $count) AS i"
    for round in $(seq "$ROUNDS"); do
        bench_sql "floor$count" "$n" "SELECT count(:n::bigint + 0 * i) $series" || return 1
        bench_sql "$name" "$n" "SELECT count(${expr//x/:n::bigint + 0 * i}) $series" || return 1
    done
    awk -v f="$(median_us "$WORK"/log-floor"$count"-"$n".*)" \
        -v v="$(median_us "$WORK"/log-"$name"-"$n".*)" -v c="$count" \
        'BEGIN { printf "%.2f", (v - f) / c }'
    rm -f "$WORK"/log-floor"$count"-"$n".* "$WORK"/log-"$name"-"$n".*
}

RESULT=bench/results/about.md
{
    echo "Per call inside the server, k = 20: SELECT count(f(:n::bigint + 0 * i)) FROM generate_series(1, K) AS i,"
    echo "minus the same query with f(x) = x, divided by K (K = $(calls 0) for fib_digits, $(calls 20) for the others):"
    echo
    echo "| n | bits of n | fib_digits(n) (us) | fib_leading(n, 20) (us) | fib_trailing(n, 20) (us) |"
    echo "|---:|---:|---:|---:|---:|"
} >"$RESULT"

for n in $NS; do
    bits=$(/usr/bin/python3 -c "print(($n).bit_length())")
    digits=$(per_call digits "$n" 0 "fib_digits(x)")
    leading=$(per_call leading "$n" 20 "fib_leading(x, 20)")
    trailing=$(per_call trailing "$n" 20 "fib_trailing(x, 20)")
    echo "| $n | $bits | $digits | $leading | $trailing |" >>"$RESULT"
done

{
    echo
    echo "Per call inside the server at n = 10^18, as above (K = $(calls 100) for k = 100, $(calls 1000) for k = 1000, $(calls 10000) above):"
    echo
    echo "| k | fib_leading(10^18, k) (us) | fib_trailing(10^18, k) (us) |"
    echo "|---:|---:|---:|"
} >>"$RESULT"

for k in $KS; do
    leading=$(per_call "leading$k" "$K_N" "$k" "fib_leading(x, $k)")
    trailing=$(per_call "trailing$k" "$K_N" "$k" "fib_trailing(x, $k)")
    echo "| $k | $leading | $trailing |" >>"$RESULT"
done

{
    echo
    echo "Medians of every query over $ROUNDS interleaved rounds of ${SECONDS_PER_RUN} s per variant;"
    echo "$(nproc) cores, $(uname -m), PostgreSQL $("$PG_BINDIR/postgres" --version | awk '{print $3}'),"
    echo "GMP $(/usr/bin/python3 -c 'import gmpy2; print(gmpy2.mp_version().split()[-1])'), MPFR $(dpkg-query -W -f='${Version}' libmpfr-dev | cut -d- -f1)."
} >>"$RESULT"
cat "$RESULT"
