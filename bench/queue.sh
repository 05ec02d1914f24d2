#!/usr/bin/env bash
# queue.sh: pg_fib's benchmarks of the job queue and the memo, side by side
# in one run ("make bench" runs it after bench/run.sh).
#
# The queue and the memo exist to make fib() cheap where computing is dear,
# so each figure is the cost they add beside the cost they save, measured
# in the same run:
#   1. queue overhead: the client-side time of fib_wait(n) for a fresh job
#      just above pg_fib.sync_max_n, minus the job's own compute_ms;
#   2. throughput: THROUGHPUT_JOBS fresh jobs requested at once, drained by
#      pg_fib.workers = 1 and by pg_fib.workers = 2 (two clusters);
#   3. F(10^7) and F(10^8) end to end through the queue against GMP called
#      directly by bench/gmp_direct.c (mpz_fib_ui + mpz_get_str);
#   4. a memo hit, SELECT fib(n), against the plain SELECT of its memo row,
#      per query through pgbench -M prepared;
#   5. fib(n) per call in the server with the default pg_fib.memo_min_n,
#      with recompute forced and with lookup forced, so that the default
#      threshold can be checked against the better of the two at every n;
#   6. a compute worker's claim with 10,000 jobs queued: the fair claim over
#      1,000 requesters and over one, beside the FIFO claim of the release
#      before the fair queue (CLAIM_BASE, built here), in two more clusters
#      with pg_stat_statements; see bench/claims.py.
# fib() is IMMUTABLE: n is always a parameter (pgbench \set, or :n + 0 * i),
# never a constant folded at plan time.  These machines are noisy: medians
# and ratios, never one absolute time alone; pgbench variants take turns for
# ROUNDS rounds of SECONDS_PER_RUN seconds each, pgbench and its backend on
# one CPU and pg_fib's background workers on another (see pin_cpus).
#
# It benchmarks the pg_fib that is installed ("make bench" installs it first,
# in bench/run.sh).  Writes bench/results/queue.md and prints it.
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-4}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-1}
LATENCY_JOBS=${LATENCY_JOBS:-100}
THROUGHPUT_JOBS=${THROUGHPUT_JOBS:-1000}
THROUGHPUT_TIMEOUT=${THROUGHPUT_TIMEOUT:-300}
CLAIM_ROUNDS=${CLAIM_ROUNDS:-5}
CLAIMS=${CLAIMS:-1000}
CLAIM_BASE=${CLAIM_BASE:-$(git log --reverse --format=%H -S"fib_jobs_claim_sql" -- pg_fib/jobs.c | head -n 1)^}
BIG_NS=${BIG_NS:-"10000000 100000000"}
BIG_RUNS=${BIG_RUNS:-3}
HIT_NS=${HIT_NS:-"10000 100000 627177"}
CHOICE_NS=${CHOICE_NS:-"1000 3000 5000 10000 50000 200000 627177"}
PYTHON=/usr/bin/python3
mapfile -t CPUS < <("$PYTHON" -c 'import os; print(*sorted(os.sched_getaffinity(0)), sep="\n")')
STARTED=$(date +%s)
BENCH_CPU=${CPUS[0]}     # bench_sql runs pgbench there; see pin_cpus

# shellcheck source=../deploy/pgcluster.sh
source deploy/pgcluster.sh
# shellcheck source=lib.sh
source bench/lib.sh
INSTALLED=$("$PG_CONFIG" --pkglibdir)/pg_fib.so
if [ ! -f "$INSTALLED" ]; then
    echo "queue.sh: pg_fib is not installed ($INSTALLED): run make bench, or make install first" >&2
    exit 1
fi
if [ -f pg_fib.so ] && ! cmp -s pg_fib.so "$INSTALLED"; then
    echo "queue.sh: warning: the installed $INSTALLED differs from ./pg_fib.so; benchmarking the installed one" >&2
fi
mkdir -p bench/results
cc -O2 -o bench/gmp_direct bench/gmp_direct.c -lgmp

WORK=$(mktemp -d /tmp/pg_fib-queue.XXXXXX)
chmod 755 "$WORK"
# cleanup stops every cluster, shows their logs' ends after a failure, and
# removes the temporary directory.
cleanup() {
    local status=$? cluster
    for cluster in w1 w2 claims-base claims-head; do
        if [ "$status" -ne 0 ] && [ -f "$WORK/$cluster/server.log" ]; then
            echo "== last lines of the server log of $cluster" >&2
            tail -n 20 "$WORK/$cluster/server.log" >&2 || true
        fi
        pgcluster_stop "$WORK/$cluster"
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# Two clusters that differ only in pg_fib.workers, both up for the whole run
# so that they are measured side by side; w1 also serves every other table.
declare -A PORTS
for workers in 1 2; do
    PORTS[w$workers]=$(pgcluster_free_port)
    pgcluster_init "$WORK/w$workers" "${PORTS[w$workers]}" \
        "shared_preload_libraries = 'pg_fib'" "pg_fib.workers = $workers"
    pgcluster_start "$WORK/w$workers"
done
export PGUSER=postgres PGDATABASE=postgres
PSQL=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1)

# use_cluster NAME points libpq (psql, pgbench, psycopg) at cluster NAME.
use_cluster() {
    export PGHOST="$WORK/$1" PGPORT="${PORTS[$1]}"
}

for cluster in w1 w2; do
    use_cluster "$cluster"
    "${PSQL[@]}" -c "CREATE EXTENSION pg_fib"
done
use_cluster w1
SYNC_MAX_N=$("${PSQL[@]}" -A -t -c "SHOW pg_fib.sync_max_n")
MEMO_MIN_N=$("${PSQL[@]}" -A -t -c "SHOW pg_fib.memo_min_n")

# queue_latency LO COUNT: fib_wait(n) for n = LO .. LO+COUNT-1, one at a
# time; prints the medians of the client-side time, of compute_ms and of
# their difference (the overhead), and the p99 of the overhead, in ms.
queue_latency() {
    "$PYTHON" - "$@" <<'PY'
import math, statistics, sys, time
import psycopg

lo, count = int(sys.argv[1]), int(sys.argv[2])
total, compute, overhead = [], [], []
with psycopg.connect(autocommit=True) as conn:
    for n in range(lo, lo + count):
        t0 = time.perf_counter()
        cur = conn.execute("SELECT * FROM fib_wait(%s)", (n,))
        job = dict(zip([c.name for c in cur.description], cur.fetchone()))
        elapsed = (time.perf_counter() - t0) * 1e3
        if job["state"] != "done" or job["compute_ms"] is None:
            sys.exit(f"fib_wait({n}) ended {job['state']}: {job['error']}")
        total.append(elapsed)
        compute.append(job["compute_ms"])
        overhead.append(elapsed - job["compute_ms"])
p99 = sorted(overhead)[math.ceil(0.99 * len(overhead)) - 1]
print(statistics.median(total), statistics.median(compute),
      statistics.median(overhead), p99)
PY
}

# queue_throughput LO COUNT TIMEOUT: requests F(n) for n = LO .. LO+COUNT-1
# in one autocommit session, then polls fib_jobs every 50 ms until all are
# done; prints the seconds the requests took, the seconds until all were
# done (both from the first request) and the jobs per second.
queue_throughput() {
    "$PYTHON" - "$@" <<'PY'
import sys, time
import psycopg

lo, count, timeout = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
hi = lo + count - 1
with psycopg.connect(autocommit=True) as conn:
    t0 = time.perf_counter()
    for n in range(lo, hi + 1):
        conn.execute("SELECT fib_request(%s)", (n,))
    requested = time.perf_counter() - t0
    while True:
        done, failed = conn.execute(
            "SELECT count(*) FILTER (WHERE state = 'done'),"
            " count(*) FILTER (WHERE state = 'failed')"
            " FROM fib_jobs WHERE n BETWEEN %s AND %s", (lo, hi)).fetchone()
        elapsed = time.perf_counter() - t0
        if failed:
            sys.exit(f"{failed} of the jobs {lo}..{hi} failed")
        if done == count:
            break
        if elapsed > timeout:
            sys.exit(f"only {done} of {count} jobs done after {timeout:.0f} s")
        time.sleep(0.05)
print(requested, elapsed, count / elapsed)
PY
}

# queue_once N: deletes F(N) from the memo and the queue, then times
# fib_wait(N) from request to done; prints the client-side ms and compute_ms.
queue_once() {
    "$PYTHON" - "$@" <<'PY'
import sys, time
import psycopg

n = int(sys.argv[1])
with psycopg.connect(autocommit=True) as conn:
    conn.execute("DELETE FROM fib_memo WHERE n = %s", (n,))
    conn.execute("DELETE FROM fib_jobs WHERE n = %s", (n,))
    t0 = time.perf_counter()
    cur = conn.execute("SELECT * FROM fib_wait(%s, '5 minutes')", (n,))
    job = dict(zip([c.name for c in cur.description], cur.fetchone()))
    elapsed = (time.perf_counter() - t0) * 1e3
    if job["state"] != "done":
        sys.exit(f"fib_wait({n}) ended {job['state']}: {job['error']}")
print(elapsed, job["compute_ms"])
PY
}

# pin_cpus NAME puts the backends that cluster NAME forks from now on on the
# first CPU, where bench_sql runs pgbench, and pg_fib's keeper and compute
# workers on the second.  On this VM a round trip between two CPUs costs
# about 4 times one on the same CPU and the scheduler picks one or the other
# from run to run; and the keeper, which counts memo hits in transactions
# of its own, would now and then share the CPU of the measured backend.
pin_cpus() {
    local pid
    pg_as_owner taskset -p -c "${CPUS[0]}" "$(head -n 1 "$WORK/$1/data/postmaster.pid")" >/dev/null
    if [ "${#CPUS[@]}" -ge 2 ]; then
        for pid in $("${PSQL[@]}" -A -t -c "SELECT pid FROM pg_stat_activity
                WHERE backend_type IN ('pg_fib keeper', 'pg_fib worker')"); do
            pg_as_owner taskset -p -c "${CPUS[1]}" "$pid" >/dev/null
        done
    fi
}

# memoize "N...": has the worker compute and memoize each F(N), through the
# queue (pg_fib.sync_max_n = 0 in this session), and checks the memo rows.
memoize() {
    local ns list
    read -r -a list <<<"$1"
    ns=$(IFS=,; echo "${list[*]}")
    "${PSQL[@]}" -A -t -o /dev/null -c "SET pg_fib.sync_max_n = 0" \
        -c "SELECT fib_wait(n, '5 minutes') FROM unnest(ARRAY[$ns]::bigint[]) AS n"
    local missing
    missing=$("${PSQL[@]}" -A -t -c "SELECT count(*) FROM unnest(ARRAY[$ns]::bigint[]) AS n
        WHERE NOT EXISTS (SELECT FROM fib_memo m WHERE m.n = n)")
    if [ "$missing" -ne 0 ]; then
        echo "queue.sh: $missing of F($ns) not memoized" >&2
        return 1
    fi
}

# median FILE [FIELD]: the median of field FIELD (default 1) of FILE's lines.
median() {
    awk -v f="${2:-1}" '{print $f}' "$1" | sort -g | awk '{v[NR]=$1} END {
        if (NR % 2) printf "%.4f", v[(NR+1)/2]; else printf "%.4f", (v[NR/2]+v[NR/2+1])/2 }'
}




RESULT=bench/results/queue.md

# 1. Queue overhead, on fresh n just above pg_fib.sync_max_n.
use_cluster w1
queue_latency $((SYNC_MAX_N + 1)) "$LATENCY_JOBS" >"$WORK/latency"
read -r total compute overhead p99 <"$WORK/latency"
{
    echo "Queue overhead: client-side time of SELECT * FROM fib_wait(n), one fresh job at a time"
    echo "(n = $((SYNC_MAX_N + 1)) .. $((SYNC_MAX_N + LATENCY_JOBS)), just above pg_fib.sync_max_n), minus the job's compute_ms:"
    echo
    echo "| jobs | fib_wait (ms) | compute_ms (ms) | overhead (ms) | overhead p99 (ms) | overhead / compute_ms |"
    echo "|---:|---:|---:|---:|---:|---:|"
    awk -v j="$LATENCY_JOBS" -v t="$total" -v c="$compute" -v o="$overhead" -v p="$p99" 'BEGIN {
        printf "| %d | %.2f | %.2f | %.2f | %.2f | %.2f |\n", j, t, c, o, p, o / c }'
} >"$RESULT"

# 2. Throughput with one and two compute workers, on the same fresh n.
lo=$((SYNC_MAX_N + LATENCY_JOBS + 1))
for cluster in w1 w2; do
    use_cluster "$cluster"
    queue_throughput "$lo" "$THROUGHPUT_JOBS" "$THROUGHPUT_TIMEOUT" >"$WORK/throughput-$cluster"
done
{
    echo
    echo "Throughput: $THROUGHPUT_JOBS fresh jobs (n = $lo .. $((lo + THROUGHPUT_JOBS - 1))) requested by fib_request in one"
    echo "session, then fib_jobs polled every 50 ms until all are done; times from the first request:"
    echo
    echo "| pg_fib.workers | jobs | requests sent (s) | all done (s) | jobs/s | vs 1 worker |"
    echo "|---:|---:|---:|---:|---:|---:|"
    read -r _ _ base <"$WORK/throughput-w1"
    for workers in 1 2; do
        read -r requested elapsed rate <"$WORK/throughput-w$workers"
        awk -v w="$workers" -v j="$THROUGHPUT_JOBS" -v r="$requested" -v e="$elapsed" \
            -v x="$rate" -v b="$base" 'BEGIN {
            printf "| %d | %d | %.2f | %.2f | %.1f | %.2f |\n", w, j, r, e, x, x / b }'
    done
} >>"$RESULT"

# 3. F(10^7) and F(10^8) through the queue, GMP direct between the first
# two runs.
use_cluster w1
{
    echo
    echo "Large n end to end: fib_wait(n, '5 minutes') on an n deleted from fib_memo and fib_jobs"
    echo "before each of $BIG_RUNS runs, against GMP direct (mpz_fib_ui + mpz_get_str, bench/gmp_direct):"
    echo
    echo "| n | GMP direct (ms) | fib_wait (ms) | its compute_ms (ms) | fib_wait / GMP direct |"
    echo "|---:|---:|---:|---:|---:|"
} >>"$RESULT"
for n in $BIG_NS; do
    : >"$WORK/big-$n"
    : >"$WORK/gmp-$n"
    for run in $(seq "$BIG_RUNS"); do
        queue_once "$n" >>"$WORK/big-$n"
        if [ "$run" -eq 1 ]; then
            bench/gmp_direct "$n" "$SECONDS_PER_RUN" >>"$WORK/gmp-$n"
        fi
    done
    gmp=$(median "$WORK/gmp-$n")
    queue=$(median "$WORK/big-$n")
    compute=$(median "$WORK/big-$n" 2)
    awk -v n="$n" -v g="$gmp" -v q="$queue" -v c="$compute" 'BEGIN {
        printf "| %s | %.1f | %.1f | %.1f | %.2f |\n", n, g / 1000, q, c, q / (g / 1000) }' >>"$RESULT"
done

# 4. A memo hit against the plain SELECT of its memo row, per query.
memoize "$HIT_NS $CHOICE_NS"
pin_cpus w1
{
    echo
    echo "Memo hit per query, through pgbench -M prepared (a round trip each; F(n) in the memo):"
    echo
    echo "| n | SELECT value FROM fib_memo WHERE n = :n (us) | SELECT fib(:n) (us) | fib / SELECT |"
    echo "|---:|---:|---:|---:|"
} >>"$RESULT"
for n in $HIT_NS; do
    for _ in $(seq "$ROUNDS"); do
        bench_sql plain "$n" "SELECT value FROM fib_memo WHERE n = :n"
        bench_sql hit "$n" "SELECT fib(:n)"
    done
    plain=$(median_us "$WORK"/log-plain-"$n".*)
    hit=$(median_us "$WORK"/log-hit-"$n".*)
    awk -v n="$n" -v p="$plain" -v h="$hit" 'BEGIN {
        printf "| %s | %.1f | %.1f | %.2f |\n", n, p, h, h / p }' >>"$RESULT"
done

# 4b. Where a memo hit's time goes, per call in the server: fib() itself
# (lookup and numeric), numeric's text output, and the plain SELECT's own
# work (detoasting the value and printing it as hex).
{
    echo
    echo "Where a memo hit's time goes, per call inside the server (K calls in one query, minus the"
    echo "same query without the step, divided by K): fib(n) = count(fib(:n + 0 * i)) less count(:n + 0 * i);"
    echo "numeric output = count(fib(:n + 0 * i)::text) less count(fib(:n + 0 * i)); the plain SELECT's"
    echo "detoast and hex output = count(value::text) less count(value), joining fib_memo on n = :n + 0 * i:"
    echo
    echo "| n | K | fib(n): lookup and numeric (us) | numeric output (us) | value: detoast and hex output (us) |"
    echo "|---:|---:|---:|---:|---:|"
} >>"$RESULT"
for n in $HIT_NS; do
    k=$(calls_per_query "$n")
    series="FROM generate_series(1, $k) AS i"
    join="FROM fib_memo, generate_series(1, $k) AS i WHERE fib_memo.n = :n + 0 * i"
    for _ in $(seq "$ROUNDS"); do
        bench_sql partfloor "$n" "SELECT count(:n + 0 * i) $series"
        bench_sql partfib "$n" "SELECT count(fib(:n + 0 * i)) $series"
        bench_sql parttext "$n" "SELECT count(fib(:n + 0 * i)::text) $series"
        bench_sql partvalue "$n" "SELECT count(value) $join"
        bench_sql partvaluetext "$n" "SELECT count(value::text) $join"
    done
    floor=$(median_us "$WORK"/log-partfloor-"$n".*)
    fibv=$(median_us "$WORK"/log-partfib-"$n".*)
    text=$(median_us "$WORK"/log-parttext-"$n".*)
    value=$(median_us "$WORK"/log-partvalue-"$n".*)
    valuetext=$(median_us "$WORK"/log-partvaluetext-"$n".*)
    awk -v n="$n" -v k="$k" -v f="$floor" -v b="$fibv" -v t="$text" -v v="$value" -v w="$valuetext" 'BEGIN {
        printf "| %s | %d | %.1f | %.1f | %.1f |\n", n, k, (b - f) / k, (t - b) / k, (w - v) / k }' >>"$RESULT"
done

# 5. fib(n) per call in the server: default threshold, recompute, lookup.
{
    echo
    echo "fib(n) per call inside the server: SELECT count(fib(:n + 0 * i)) FROM generate_series(1, K) AS i,"
    echo "minus the same query with :n + 0 * i alone, divided by K; recompute forced with"
    echo "pg_fib.memo_min_n = 2000000000, lookup forced with pg_fib.memo_min_n = 0 (F(n) in the memo):"
    echo
    echo "| n | K | default (us) | recompute (us) | lookup (us) | default / min(recompute, lookup) |"
    echo "|---:|---:|---:|---:|---:|---:|"
} >>"$RESULT"
for n in $CHOICE_NS; do
    k=$(calls_per_query "$n")
    series="FROM generate_series(1, $k) AS i"
    for _ in $(seq "$ROUNDS"); do
        bench_sql loopfloor "$n" "SELECT count(:n + 0 * i) $series"
        bench_sql loopdefault "$n" "SELECT count(fib(:n + 0 * i)) $series"
        bench_sql looprecompute "$n" "SELECT count(fib(:n + 0 * i)) $series" \
            "-c pg_fib.memo_min_n=2000000000"
        bench_sql looplookup "$n" "SELECT count(fib(:n + 0 * i)) $series" \
            "-c pg_fib.memo_min_n=0"
    done
    floor=$(median_us "$WORK"/log-loopfloor-"$n".*)
    default=$(median_us "$WORK"/log-loopdefault-"$n".*)
    recompute=$(median_us "$WORK"/log-looprecompute-"$n".*)
    lookup=$(median_us "$WORK"/log-looplookup-"$n".*)
    awk -v n="$n" -v k="$k" -v f="$floor" -v d="$default" -v r="$recompute" -v l="$lookup" 'BEGIN {
        dc = (d - f) / k; rc = (r - f) / k; lc = (l - f) / k; best = rc < lc ? rc : lc
        printf "| %s | %d | %.2f | %.2f | %.2f | %.2f |\n", n, k, dc, rc, lc, dc / best }' >>"$RESULT"
done

# 6. A worker's claim with 10,000 jobs queued: this tree's fair claim beside
# the FIFO claim of CLAIM_BASE, in clusters of their own with one worker and
# pg_stat_statements (auto_explain in this tree's, for the plan).
CLAIM_SETTINGS=("pg_fib.workers = 1" "pg_fib.max_queued = 100000"
    "pg_stat_statements.track = all" "pg_stat_statements.track_planning = on")
mkdir -p "$WORK/claims-base/src" "$WORK/claims-base/pg"
git archive "$CLAIM_BASE" | tar -x -C "$WORK/claims-base/src"
base_config=$(private_postgres "$WORK/claims-base/pg")
make -s -C "$WORK/claims-base/src" PG_CONFIG="$base_config" >/dev/null
make -s -C "$WORK/claims-base/src" PG_CONFIG="$base_config" install >/dev/null
chmod -R a+rX "$WORK/claims-base"
PORTS[claims-base]=$(pgcluster_free_port)
(
    PG_CONFIG=$base_config
    PG_BINDIR=$("$PG_CONFIG" --bindir)
    pgcluster_init "$WORK/claims-base" "${PORTS[claims-base]}" \
        "shared_preload_libraries = 'pg_fib, pg_stat_statements'" "${CLAIM_SETTINGS[@]}"
    pgcluster_start "$WORK/claims-base"
)
PORTS[claims-head]=$(pgcluster_free_port)
pgcluster_init "$WORK/claims-head" "${PORTS[claims-head]}" \
    "shared_preload_libraries = 'pg_fib, pg_stat_statements, auto_explain'" "${CLAIM_SETTINGS[@]}"
pgcluster_start "$WORK/claims-head"
for cluster in claims-base claims-head; do
    PGHOST="$WORK/$cluster" PGPORT=${PORTS[$cluster]} "${PSQL[@]}" -c "CREATE EXTENSION pg_fib"
done
{
    echo
    "$PYTHON" bench/claims.py "$CLAIM_ROUNDS" "$CLAIMS" "$(git log -1 --format=%h "$CLAIM_BASE")" \
        "$WORK/claims-base" "${PORTS[claims-base]}" "$WORK/claims-head" "${PORTS[claims-head]}" \
        "$WORK/claims-head/server.log"
} >>"$RESULT"

{
    echo
    echo "Figures are medians (of the $LATENCY_JOBS jobs; of the $BIG_RUNS runs, and GMP direct of its calls in ${SECONDS_PER_RUN} s, at least 5; of every query over $ROUNDS interleaved rounds of ${SECONDS_PER_RUN} s per pgbench variant), except throughput (one batch per setting) and p99; default settings (pg_fib.sync_max_n = $SYNC_MAX_N, pg_fib.memo_min_n = $MEMO_MIN_N, pg_fib.workers = 1 except where 2 is said), pgbench and its backend on CPU ${CPUS[0]}, pg_fib's workers on CPU ${CPUS[1]:-${CPUS[0]}} for the last three tables; $(nproc) cores, $(uname -m), PostgreSQL $("$PG_BINDIR/postgres" --version | awk '{print $3}'), GMP $("$PYTHON" -c 'import gmpy2; print(gmpy2.mp_version().split()[-1])')."
} >>"$RESULT"
cat "$RESULT"
echo "queue.sh took $(($(date +%s) - STARTED)) s" >&2
