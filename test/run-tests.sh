#!/usr/bin/env bash
# run-tests.sh runs every pg_fib test suite, as "make test" and .ci/run do:
# it installs what is missing, builds with warnings as errors, installs the
# extension, starts a throwaway cluster, runs pg_regress, the isolation
# specs and the Python suites against it, and stops the cluster even when a
# suite fails.  Exits non-zero when any suite fails.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

deploy/install-deps.sh

SUDO=
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
fi
make --silent WERROR=1
$SUDO make --silent install >/dev/null

# shellcheck source=../deploy/pgcluster.sh
source deploy/pgcluster.sh

TEST_DIR=$(mktemp -d /tmp/pg_fib-test.XXXXXX)
chmod 755 "$TEST_DIR"
cleanup() {
    pgcluster_stop "$TEST_DIR/cluster"
    rm -rf "$TEST_DIR"
}
trap cleanup EXIT

PORT=$(pgcluster_free_port)
# Two compute workers, so that the suites can see two jobs run at once; the
# workers and pg_cron work in database "postgres", where the Python suites
# run.  pg_regress and the isolation specs run in databases of their own,
# where no worker runs.
pgcluster_init "$TEST_DIR/cluster" "$PORT" \
    "shared_preload_libraries = 'pg_fib, pg_cron'" \
    "pg_fib.workers = 2" \
    "max_worker_processes = 24" \
    "cron.database_name = 'postgres'" \
    "cron.use_background_workers = on"
pgcluster_start "$TEST_DIR/cluster"

export PGHOST="$TEST_DIR/cluster" PGPORT="$PORT" PGUSER=postgres PGDATABASE=postgres
export PG_FIB_TEST_DIR="$TEST_DIR"

status=0

echo "== pg_regress"
if ! make --silent installcheck ISOLATION=; then
    status=1
    cat test/results/regression.diffs || true
fi

echo "== pg_isolation_regress"
if ! make --silent installcheck REGRESS=; then
    status=1
    cat test/output_iso/regression.diffs || true
fi

# The specs that drive the keeper and the workers, in their database.
echo "== pg_isolation_regress in the workers' database"
if ! make --silent installcheck-queue; then
    status=1
    cat test/output_iso_queue/regression.diffs || true
fi

echo "== Python suites"
if ! /usr/bin/python3 -m pytest -p no:cacheprovider -q "$ROOT/test/python"; then
    status=1
fi

# docker-compose.yml and docker/ against make run's files (no server).
echo "== Deploy suites"
if ! /usr/bin/python3 -m pytest -p no:cacheprovider -q "$ROOT/test/deploy"; then
    status=1
fi

# The web suites start a cluster of their own (they stop and start it), and
# Gunicorn and Nginx on free loopback ports; see test/web/conftest.py.
echo "== Web suites"
if ! /usr/bin/python3 -m pytest -p no:cacheprovider -q "$ROOT/test/web"; then
    status=1
fi

if [ "$status" -ne 0 ]; then
    echo "== last lines of the server log"
    tail -n 50 "$TEST_DIR/cluster/server.log" || true
fi
exit "$status"
