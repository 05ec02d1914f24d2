# lib.sh: functions shared by the benchmark scripts; sourced, not run.

# bench_install: install what is missing (deploy/install-deps.sh), then
# build and install the extension, so that a benchmark measures this tree.
bench_install() {
    local sudo=
    if [ "$(id -u)" -ne 0 ]; then
        sudo=sudo
    fi
    deploy/install-deps.sh
    make --silent
    $sudo make --silent install >/dev/null
}

# median_us FILE...: the median latency, in microseconds, of pgbench's
# per-transaction logs (the third field).
median_us() {
    cat "$@" | awk '{print $3}' | sort -n | awk '{v[NR]=$1} END {
        if (NR % 2) printf "%.2f", v[(NR+1)/2]; else printf "%.2f", (v[NR/2]+v[NR/2+1])/2 }'
}

# bench_sql NAME N SQL [PGOPTIONS]: one round of pgbench -M prepared, one
# client for SECONDS_PER_RUN seconds, running SQL with :n = N and logging
# every transaction's latency to $WORK/log-NAME-N.*.  The session starts
# with PGOPTIONS (default: the environment's), on CPU $BENCH_CPU when that
# is set.  On failure prints pgbench's output and returns 1.
bench_sql() {
    local name=$1 n=$2 sql=$3 options=${4-${PGOPTIONS:-}}
    local pin=()
    if [ -n "${BENCH_CPU:-}" ]; then
        pin=(taskset -c "$BENCH_CPU")
    fi
    printf '\\set n %s\n%s;\n' "$n" "$sql" >"$WORK/$name-$n.sql"
    if ! PGOPTIONS=$options "${pin[@]}" "$PG_BINDIR/pgbench" -n -M prepared -c 1 \
        -T "$SECONDS_PER_RUN" -f "$WORK/$name-$n.sql" \
        --log --log-prefix="$WORK/log-$name-$n" >"$WORK/pgbench.out" 2>&1; then
        cat "$WORK/pgbench.out" >&2
        return 1
    fi
}

# calls_per_query N: how many calls of fib(N) one query of the in-server
# table makes, so that each query takes a few milliseconds.
calls_per_query() {
    local n=$1
    if [ "$n" -le 1000 ]; then echo 2000
    elif [ "$n" -le 10000 ]; then echo 500
    elif [ "$n" -le 100000 ]; then echo 40
    else echo 8
    fi
}

# private_postgres DIR copies this machine's PostgreSQL 15 under DIR, keeping
# the layout that its binaries find their other directories by.
private_postgres() {
    local dir=$1 bindir sharedir libdir includedir
    bindir=$("$PG_CONFIG" --bindir)
    sharedir=$("$PG_CONFIG" --sharedir)
    libdir=$(dirname "$bindir")
    includedir=$("$PG_CONFIG" --includedir-server)
    mkdir -p "$dir$(dirname "$libdir")" "$dir$(dirname "$sharedir")" "$dir$(dirname "$includedir")"
    cp -a "$libdir" "$dir$(dirname "$libdir")/"
    cp -a "$sharedir" "$dir$(dirname "$sharedir")/"
    cp -a "$includedir" "$dir$(dirname "$includedir")/"
    echo "$dir$bindir/pg_config"
}
