"""Backups: pg_dump of a database where pg_fib's workers work,
with memo rows (one large enough to be TOASTed) that they computed, hits
the keeper counted, and jobs in every state, restored with pg_restore into
a fresh cluster whose workers work in the target database, gives back
every memo row and every job byte for byte, every column; then the
restored queue goes on: the new cluster's workers finish the queued job
and the one that was running.

Two clusters of their own.  While the dump is taken and while the restored
rows are compared, the keeper and the workers of that cluster are stopped
(SIGSTOP), so that the rows compared are the rows dumped; they always go on
at the end."""

import os
import sys

import pytest

from cluster import PRELOAD_PG_FIB, running
from jobs import (keeper_pid, oracle_digest, server_digest, stopped, wait_for, wait_running,
                  worker_pids)

SYNC_MAX_N = 3_000_000
LARGE = 3_500_001        # computed by a worker: 731,535 digits, 366 kB, TOASTed
RUNNING = 80_000_000     # about 2 s of computing: caught running
QUEUED = 3_200_003       # queued behind it (one worker)
FAILED = 3_300_007
HINTED = range(20_000, 20_010)   # fib(n) >= memo_min_n: memoized by the keeper's hints
SETTINGS = [PRELOAD_PG_FIB, "pg_fib.workers = 1"]


def _rows(conn, table):
    """Every row of table as its text form (every column, the bytea in
    hex), by n."""
    return [r[0] for r in conn.execute(f"SELECT t::text FROM {table} AS t ORDER BY n")]


def _columns(conn, table):
    return conn.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
                        " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped"
                        " ORDER BY attnum", (table,)).fetchall()


def _pg_fib_pids(conn):
    return worker_pids(conn) + [keeper_pid(conn)]


@pytest.fixture(scope="module")
def clusters():
    sys.set_int_max_str_digits(0)
    with running(SETTINGS) as source, running(SETTINGS) as target:
        yield source, target


def _fill(conn):
    """The source's data, made by its keeper and worker where they can
    make it; the failed job by hand."""
    conn.execute("SET statement_timeout = '60s'")
    conn.execute("CREATE EXTENSION pg_fib")
    assert conn.execute("SELECT state FROM fib_wait(%s, '50 s')", (LARGE,)).fetchone()[0] == "done"
    for n in HINTED:
        conn.execute("SELECT fib(%s::bigint)", (n,))
    wait_for(lambda: conn.execute("SELECT count(*) FROM fib_memo WHERE n = ANY(%s)",
                                  (list(HINTED),)).fetchone()[0] == len(HINTED),
             30, interval=0.1, what="the keeper to memoize the hinted values")
    for _ in range(3):
        conn.execute("SELECT length(fib_text(%s))", (LARGE,))
    conn.execute("SELECT fib(%s::bigint)", (HINTED[0],))
    wait_for(lambda: conn.execute("SELECT bool_and(hits > 0) FROM fib_memo WHERE n IN (%s, %s)",
                                  (LARGE, HINTED[0])).fetchone()[0],
             30, interval=0.1, what="the keeper to count the hits")
    conn.execute("INSERT INTO fib_jobs (n, state, requested_at, started_at, finished_at, error,"
                 " attempts, requested_by) VALUES (%s, 'failed', '2026-01-02 03:04:00+00',"
                 " '2026-01-02 03:04:01+00', '2026-01-02 03:04:05.123456+00', 'out of memory', 3,"
                 " 'postgres')", (FAILED,))
    conn.execute("SELECT fib_request(%s)", (RUNNING,))
    wait_running(conn, RUNNING, min_progress=0.05, timeout=30)
    conn.execute("SELECT fib_request(%s)", (QUEUED,))


def test_pg_dump_and_pg_restore_into_a_fresh_cluster_give_back_every_row(clusters, tmp_path):
    source, target = clusters
    dump = os.path.join(source.dir, "postgres.dump")
    with source.connect(autocommit=True) as src:
        _fill(src)
        with stopped(_pg_fib_pids(src)):
            memo, jobs = _rows(src, "fib_memo"), _rows(src, "fib_jobs")
            source.client("pg_dump", "--format=custom", f"--file={dump}", "postgres")
            assert (_rows(src, "fib_memo"), _rows(src, "fib_jobs")) == (memo, jobs)
            columns = {t: _columns(src, t) for t in ("fib_memo", "fib_jobs")}
            states = {r[0] for r in src.execute("SELECT DISTINCT state FROM fib_jobs")}
            toasted = src.execute("SELECT pg_column_size(value) < octet_length(value)"
                                  " OR pg_relation_size(reltoastrelid) > 0 FROM fib_memo,"
                                  " pg_class WHERE n = %s AND oid = 'fib_memo'::regclass",
                                  (LARGE,)).fetchone()[0]
    assert states == {"queued", "running", "done", "failed"}
    assert toasted
    assert len(memo) == len(HINTED) + 1

    # The fresh cluster: its keeper and worker wait in database postgres,
    # where pg_fib does not exist yet.
    with target.connect(autocommit=True) as dst:
        dst.execute("SET statement_timeout = '60s'")
        wait_for(lambda: len(_pg_fib_pids(dst)) == 2 and all(_pg_fib_pids(dst)), 30,
                 interval=0.1, what="the fresh cluster's keeper and worker")
        with stopped(_pg_fib_pids(dst)):
            target.client("pg_restore", "--exit-on-error", "--dbname=postgres", dump)
            for table in ("fib_memo", "fib_jobs"):
                assert _columns(dst, table) == columns[table], table
            restored_memo, restored_jobs = _rows(dst, "fib_memo"), _rows(dst, "fib_jobs")
            assert len(restored_memo) == len(memo)
            for mine, theirs in zip(restored_memo, memo):
                assert mine == theirs
            assert restored_jobs == jobs

        # The restored queue goes on: the queued job is computed, and the
        # job that was running (its worker is not this cluster's) too.
        assert dst.execute("SELECT state FROM fib_wait(%s, '30 s')", (QUEUED,)).fetchone()[0] == "done"
        assert server_digest(dst, QUEUED) == oracle_digest(QUEUED)
        assert server_digest(dst, LARGE) == oracle_digest(LARGE)
        job = dst.execute("SELECT state, digits = fib_digits(n) FROM fib_wait(%s, '45 s')",
                          (RUNNING,)).fetchone()
        assert job == ("done", True)
