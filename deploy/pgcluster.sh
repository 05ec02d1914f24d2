# pgcluster.sh: shell functions that create, start and stop a throwaway
# PostgreSQL 15 cluster on loopback, with its socket in the cluster's own
# directory.  Sourced by test/run-tests.sh and bench/run.sh.
#
# PostgreSQL refuses to run as root, so when the caller is root the server
# commands run as the "postgres" user.

PG_CONFIG=${PG_CONFIG:-pg_config}
PGCLUSTER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PG_BINDIR=$("$PG_CONFIG" --bindir)

# pg_as_owner runs a command as the user that owns the clusters.
pg_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# pgcluster_free_port prints a free TCP port on 127.0.0.1 in the range
# PG_FIB_TEST_PORTS sets (default 20000-31999, below the kernel's ephemeral
# range, where a test server could collide with the TIME_WAIT sockets of
# outgoing connections); see deploy/free_ports.py.
pgcluster_free_port() {
    /usr/bin/python3 "$PGCLUSTER_DIR/free_ports.py"
}

# pgcluster_init DIR PORT [SETTING...] creates a cluster in DIR/data that
# listens on 127.0.0.1:PORT and on a socket in DIR, with trust
# authentication for local connections only, and appends each SETTING
# ("name = value") to its postgresql.conf.
pgcluster_init() {
    local dir=$1 port=$2
    shift 2
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$dir"
    fi
    pg_as_owner "$PG_BINDIR/initdb" --pgdata="$dir/data" --username=postgres \
        --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log"
    {
        echo "port = $port"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$dir'"
        echo "logging_collector = off"
        for setting in "$@"; do
            echo "$setting"
        done
    } | pg_as_owner tee -a "$dir/data/postgresql.conf" >/dev/null
}

# pgcluster_start DIR starts the cluster in DIR and waits until it accepts
# connections.
pgcluster_start() {
    local dir=$1
    pg_as_owner "$PG_BINDIR/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" \
        --wait --silent start
}

# pgcluster_stop DIR stops the cluster in DIR if it runs; it never fails, so
# that it can run from an exit trap.
pgcluster_stop() {
    local dir=$1
    if [ -f "$dir/data/postmaster.pid" ]; then
        pg_as_owner "$PG_BINDIR/pg_ctl" --pgdata="$dir/data" --mode=fast \
            --wait --silent stop || true
    fi
}
