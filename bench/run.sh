#!/usr/bin/env bash
# run.sh: pg_fib's benchmarks, side by side in one run ("make bench").
#
# For each n, per-call time of SELECT fib(n) through pgbench -M prepared
# (n is a parameter, so nothing is folded at plan time), beside SELECT 1 (the
# floor of a query), pgmp's fib(n)::numeric, and GMP called directly by
# bench/gmp_direct.c (mpz_fib_ui + mpz_get_str, the physical limit).  The
# pgbench variants take turns for ROUNDS rounds of SECONDS each and the
# medians of every transaction's latency are compared: these machines are
# noisy, so ratios and medians, never one absolute time.
#
# pg_fib's memo is off here (pg_fib.memo_min_n above every n, for every
# session through PGOPTIONS), so that fib(n) computes F(n) at every call: this
# compares the computation.  bench/queue.sh measures the memo.
#
# Writes bench/results/core.md and prints it.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-2}
NS=${NS:-"90 1000 10000 100000 627177"}

# shellcheck source=lib.sh
source bench/lib.sh
bench_install
mkdir -p bench/results
cc -O2 -o bench/gmp_direct bench/gmp_direct.c -lgmp

# shellcheck source=../deploy/pgcluster.sh
source deploy/pgcluster.sh
WORK=$(mktemp -d /tmp/pg_fib-bench.XXXXXX)
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
export PGOPTIONS="-c pg_fib.memo_min_n=2000000000"
PSQL=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1)
"${PSQL[@]}" -c "CREATE EXTENSION pg_fib" \
    -c "CREATE SCHEMA pgmp" -c "CREATE EXTENSION pgmp SCHEMA pgmp"




RESULT=bench/results/core.md
{
    echo "Per query, through pgbench -M prepared (a round trip each):"
    echo
    echo "| n | GMP direct (us) | SELECT 1 (us) | pg_fib fib(n) (us) | pgmp fib(n)::numeric (us) | fib / (GMP + SELECT 1) | fib / pgmp |"
    echo "|---:|---:|---:|---:|---:|---:|---:|"
} >"$RESULT"

for n in $NS; do
    for round in $(seq "$ROUNDS"); do
        bench_sql floor "$n" "SELECT 1"
        bench_sql pgfib "$n" "SELECT fib(:n)"
        bench_sql pgmp "$n" "SELECT pgmp.fib(:n)::numeric"
    done
    gmp=$(bench/gmp_direct "$n" "$SECONDS_PER_RUN")
    floor=$(median_us "$WORK"/log-floor-"$n".*)
    pgfib=$(median_us "$WORK"/log-pgfib-"$n".*)
    pgmp=$(median_us "$WORK"/log-pgmp-"$n".*)
    awk -v n="$n" -v g="$gmp" -v f="$floor" -v p="$pgfib" -v m="$pgmp" 'BEGIN {
        printf "| %s | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f |\n", n, g, f, p, m, p / (g + f), p / m }' >>"$RESULT"
done

{
    echo
    echo "Per call inside the server: SELECT count(f(:n + 0 * i)) FROM generate_series(1, K) AS i,"
    echo "minus the same query with f(x) = x, divided by K; GMP direct as above:"
    echo
    echo "| n | K | GMP direct (us) | pg_fib fib(n) (us) | pgmp fib(n)::numeric (us) | fib / GMP | fib / pgmp |"
    echo "|---:|---:|---:|---:|---:|---:|---:|"
} >>"$RESULT"

for n in $NS; do
    k=$(calls_per_query "$n")
    series="FROM generate_series(1, $k) AS i"
    for round in $(seq "$ROUNDS"); do
        bench_sql loopfloor "$n" "SELECT count(:n + 0 * i) $series"
        bench_sql loopfib "$n" "SELECT count(fib(:n + 0 * i)) $series"
        bench_sql looppgmp "$n" "SELECT count(pgmp.fib(:n + 0 * i)::numeric) $series"
    done
    gmp=$(bench/gmp_direct "$n" "$SECONDS_PER_RUN")
    floor=$(median_us "$WORK"/log-loopfloor-"$n".*)
    pgfib=$(median_us "$WORK"/log-loopfib-"$n".*)
    pgmp=$(median_us "$WORK"/log-looppgmp-"$n".*)
    awk -v n="$n" -v k="$k" -v g="$gmp" -v f="$floor" -v p="$pgfib" -v m="$pgmp" 'BEGIN {
        pc = (p - f) / k; mc = (m - f) / k
        printf "| %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f |\n", n, k, g, pc, mc, pc / g, pc / mc }' >>"$RESULT"
done

{
    echo
    echo "Medians of every call over $ROUNDS interleaved rounds of ${SECONDS_PER_RUN} s per variant, the memo off"
    echo "(pg_fib.memo_min_n = 2000000000: fib(n) computes F(n) at every call);"
    echo "$(nproc) cores, $(uname -m), PostgreSQL $("$PG_BINDIR/postgres" --version | awk '{print $3}'), GMP $(/usr/bin/python3 -c 'import gmpy2; print(gmpy2.mp_version().split()[-1])')."
} >>"$RESULT"
cat "$RESULT"
