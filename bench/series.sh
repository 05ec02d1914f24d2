#!/usr/bin/env bash
# series.sh: fib_series(first, last) against a value per row, side by side
# in one run ("make bench-series"; "make bench" runs it too).
#
# For each START, the time of one query that reads the 10,000 values
# F(START) .. F(START + 9999), four ways:
#   series     SELECT count(value) FROM fib_series(:n, :n + 9999)
#   empty      SELECT count(fib(n)) FROM generate_series(:n, :n + 9999) AS n,
#              in a database whose memo is empty (every fib(n) looks in the
#              memo, misses and computes F(n) on GMP)
#   memoized   the same query in a database whose memo holds every value
#              (every fib(n) is a memo read)
#   pgmp       SELECT count(pgmp.fib(n)::numeric) FROM generate_series(...)
# through pgbench -M prepared: the first n is a parameter, so nothing is
# folded at plan time, and count() makes every value be computed without
# sending it (the client's decimal output would otherwise cost more than any
# of them).
# fib_series runs in the database with the empty memo, so its first two
# values are computed too.  The variants take turns for ROUNDS rounds of at
# least SECONDS_PER_RUN seconds each (a query that takes longer runs once),
# and the medians of every query's time are compared: these machines are
# noisy.
#
# The memo of database "postgres" (pg_fib.database) is filled first, by the
# cluster's two workers (fib_request with pg_fib.sync_max_n = 0, so that
# values below it are queued too), and shared_buffers holds all of it: the
# memoized variant reads no disk.  The memo of database "empty" stays
# empty: no worker works there, and fib() hints nothing from there.
#
# Writes bench/results/series.md and prints it.
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-1}
STARTS=${STARTS:-"10000 100000 600000"}
COUNT=${COUNT:-10000}
FILL_TIMEOUT=${FILL_TIMEOUT:-1800}

# shellcheck source=lib.sh
source bench/lib.sh
bench_install
mkdir -p bench/results

# shellcheck source=../deploy/pgcluster.sh
source deploy/pgcluster.sh
WORK=$(mktemp -d /tmp/pg_fib-series.XXXXXX)
chmod 755 "$WORK"
cleanup() {
    local status=$?
    if [ "$status" -ne 0 ] && [ -f "$WORK/cluster/server.log" ]; then
        echo "== last lines of the server log" >&2
        tail -n 20 "$WORK/cluster/server.log" >&2 || true
    fi
    pgcluster_stop "$WORK/cluster"
    rm -rf "$WORK"
}
trap cleanup EXIT

# Room for every job and value at once: 10,000 values of F(600000) take
# 620 MB.  fsync is off: the cluster is thrown away, and filling the memo
# writes as much WAL.
PORT=$(pgcluster_free_port)
pgcluster_init "$WORK/cluster" "$PORT" "shared_preload_libraries = 'pg_fib'" \
    "pg_fib.workers = 2" "pg_fib.max_queued = 100000" "pg_fib.max_queued_per_role = 100000" \
    "pg_fib.memo_max_size = '8GB'" "shared_buffers = '2GB'" "fsync = off"
pgcluster_start "$WORK/cluster"
export PGHOST="$WORK/cluster" PGPORT="$PORT" PGUSER=postgres PGDATABASE=postgres
PSQL=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1)
"${PSQL[@]}" -c "CREATE EXTENSION pg_fib" -c "CREATE DATABASE empty"
"${PSQL[@]}" -d empty -c "CREATE EXTENSION pg_fib" \
    -c "CREATE SCHEMA pgmp" -c "CREATE EXTENSION pgmp SCHEMA pgmp"

# Fill the memo of "postgres" with every value the memoized variant reads.
echo "filling the memo with $COUNT values from each of: $STARTS" >&2
for start in $STARTS; do
    PGOPTIONS="-c pg_fib.sync_max_n=0" "${PSQL[@]}" \
        -c "SELECT count(fib_request(n)) FROM generate_series($start, $start + $COUNT - 1) AS n" >/dev/null
done
deadline=$(($(date +%s) + FILL_TIMEOUT))
for start in $STARTS; do
    while :; do
        stored=$("${PSQL[@]}" -A -t -c "SELECT count(*) FROM fib_memo WHERE n BETWEEN $start AND $start + $COUNT - 1")
        failed=$("${PSQL[@]}" -A -t -c "SELECT count(*) FROM fib_jobs WHERE state = 'failed'")
        if [ "$failed" -ne 0 ]; then
            echo "series.sh: $failed jobs failed while filling the memo" >&2
            exit 1
        fi
        [ "$stored" -eq "$COUNT" ] && break
        if [ "$(date +%s)" -gt "$deadline" ]; then
            echo "series.sh: the memo holds $stored of the $COUNT values from $start after ${FILL_TIMEOUT}s" >&2
            exit 1
        fi
        sleep 2
    done
done
# Warm shared_buffers with the memo and its TOAST table (md5 reads every
# value; length would not).
"${PSQL[@]}" -c "SELECT count(md5(value)) FROM fib_memo" >/dev/null

# The variants: name, database, query.  :n is the first n (bench_sql sets it).
LAST=":n + $COUNT - 1"
declare -A DB SQL
DB[series]=empty
SQL[series]="SELECT count(value) FROM fib_series(:n, $LAST)"
DB[empty]=empty
SQL[empty]="SELECT count(fib(n)) FROM generate_series(:n, $LAST) AS n"
DB[memoized]=postgres
SQL[memoized]="SELECT count(fib(n)) FROM generate_series(:n, $LAST) AS n"
DB[pgmp]=empty
SQL[pgmp]="SELECT count(pgmp.fib(n)::numeric) FROM generate_series(:n, $LAST) AS n"
VARIANTS="series empty memoized pgmp"

for start in $STARTS; do
    for round in $(seq "$ROUNDS"); do
        for variant in $VARIANTS; do
            echo "start $start, round $round: $variant" >&2
            PGDATABASE=${DB[$variant]} bench_sql "$variant" "$start" "${SQL[$variant]}"
        done
    done
done

RESULT=bench/results/series.md
{
    echo "Rows per second reading F(a) .. F(a + $((COUNT - 1))), one query per read; the ratios are fib_series's rate over each other's:"
    echo
    echo "| a | fib_series (rows/s) | fib(n), empty memo (rows/s) | fib(n), every value memoized (rows/s) | pgmp fib(n)::numeric (rows/s) | vs empty memo | vs memoized | vs pgmp |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$RESULT"
declare -A rate
for start in $STARTS; do
    for variant in $VARIANTS; do
        rate[$variant]=$(awk -v us="$(median_us "$WORK"/log-"$variant"-"$start".*)" -v c="$COUNT" \
            'BEGIN { printf "%.0f", c / (us / 1e6) }')
    done
    awk -v a="$start" -v s="${rate[series]}" -v e="${rate[empty]}" -v m="${rate[memoized]}" \
        -v p="${rate[pgmp]}" 'BEGIN {
        printf "| %s | %d | %d | %d | %d | %.1f | %.1f | %.1f |\n", a, s, e, m, p, s / e, s / m, s / p }' >>"$RESULT"
done
{
    echo
    echo "Medians of every query over $ROUNDS interleaved rounds of at least ${SECONDS_PER_RUN} s per variant"
    echo "(a query that takes longer runs once per round); fib_series in the database with the empty memo."
    echo "$(nproc) cores, $(uname -m), PostgreSQL $("$PG_BINDIR/postgres" --version | awk '{print $3}')."
} >>"$RESULT"
cat "$RESULT"
