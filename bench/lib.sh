# lib.sh: functions shared by the benchmark scripts; sourced, not run.

# median_us FILE...: the median latency, in microseconds, of pgbench's
# per-transaction logs (the third field).
median_us() {
    cat "$@" | awk '{print $3}' | sort -n | awk '{v[NR]=$1} END {
        if (NR % 2) printf "%.2f", v[(NR+1)/2]; else printf "%.2f", (v[NR/2]+v[NR/2+1])/2 }'
}
