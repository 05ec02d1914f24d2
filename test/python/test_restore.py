"""pg_dump and pg_restore of pg_fib's data into a running server whose
keeper and workers work in the target database: whatever
they insert between the sections, the restore loses no memo row and no
job.  On a cluster of its own; the source database has no workers, its
rows are made by hand from gmpy2's values."""

import os
import random
import sys

import pytest

from cluster import PRELOAD_PG_FIB, running
from jobs import memo_row_value, wait_for

SYNC_MAX_N = 3_000_000
HUGE = SYNC_MAX_N + 1             # queued by fib_request, computed by a worker


@pytest.fixture(scope="module")
def node():
    sys.set_int_max_str_digits(0)
    with running([PRELOAD_PG_FIB, "pg_fib.workers = 1"]) as c:
        with c.connect(autocommit=True) as conn:
            conn.execute("CREATE DATABASE src")
        with c.connect(dbname="src", autocommit=True) as src:
            _fill(src)
        yield c


def _fill(src):
    """102 memo rows (5000..5100 and HUGE) with their done jobs, and 10
    failed jobs: 102 memo rows and 112 jobs, the size of the dump where a
    restore once lost rows."""
    src.execute("CREATE EXTENSION pg_fib")
    rng = random.Random(4)
    for n in list(range(5000, 5101)) + [HUGE]:
        value, digits = memo_row_value(n)
        ms = rng.uniform(0.01, 50)
        src.execute("INSERT INTO fib_memo (n, value, digits, computed_at, compute_ms, hits, last_used)"
                    " VALUES (%s, %s, %s, '2026-01-02 03:04:05+00', %s, %s, '2026-02-03 04:05:06+00')",
                    (n, value, digits, ms, rng.randrange(100)))
        src.execute("INSERT INTO fib_jobs (n, state, progress, digits, requested_at, started_at, finished_at,"
                    " compute_ms, attempts) VALUES (%s, 'done', 1, %s, '2026-01-02 03:04:00+00',"
                    " '2026-01-02 03:04:01+00', '2026-01-02 03:04:05+00', %s, 1)", (n, digits, ms))
    for n in range(SYNC_MAX_N + 100, SYNC_MAX_N + 110):
        src.execute("INSERT INTO fib_jobs (n, state, requested_at, started_at, finished_at, error, attempts)"
                    " VALUES (%s, 'failed', '2026-01-02 03:04:00+00', '2026-01-02 03:04:01+00',"
                    " '2026-01-02 03:04:05+00', 'out of memory', 3)", (n,))


def _rows(conn, table):
    return conn.execute(f"SELECT * FROM {table} ORDER BY n").fetchall()


@pytest.fixture
def dump(node):
    path = os.path.join(node.dir, "src.dump")
    node.client("pg_dump", "--format=custom", f"--file={path}", "src")
    yield path
    with node.connect(autocommit=True) as conn:
        conn.execute("DROP EXTENSION IF EXISTS pg_fib CASCADE")


def test_restore_by_sections_while_the_workers_insert_loses_nothing(node, dump):
    """Pre-data, then fib(5050) and fib_request of an
    n of the dump, which the keeper and the worker insert, then data: the
    restore succeeds and both tables equal the source's, every column."""
    node.client("pg_restore", "--section=pre-data", "--dbname=postgres", dump)
    with node.session() as conn:
        conn.execute("SELECT fib(5050)")
        conn.execute("SELECT fib_request(%s)", (HUGE,))
        wait_for(lambda: conn.execute("SELECT count(*) FROM fib_memo WHERE n IN (5050, %s)",
                                      (HUGE,)).fetchone()[0] == 2, 30, interval=0.1,
                 what="the keeper and the worker to memoize F(5050) and the requested n")
        node.client("pg_restore", "--section=data", "--dbname=postgres", dump)
        with node.connect(dbname="src") as src:
            for table in ("fib_memo", "fib_jobs"):
                restored, source = _rows(conn, table), _rows(src, table)
                assert len(restored) == len(source), (table, len(restored), len(source))
                assert restored == source, table


def test_a_plain_full_restore_loses_nothing(node, dump):
    node.client("pg_restore", "--dbname=postgres", dump)
    with node.connect(autocommit=True) as conn, node.connect(dbname="src") as src:
        for table in ("fib_memo", "fib_jobs"):
            assert _rows(conn, table) == _rows(src, table), table
