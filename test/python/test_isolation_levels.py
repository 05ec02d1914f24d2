"""The job functions in a parallel plan and under REPEATABLE READ and
SERIALIZABLE.  Shared cluster, database "postgres"."""

import psycopg
import pytest

from jobs import forget, oracle_digest, server_digest

SYNC_MAX_N = 3_000_000
BASE = SYNC_MAX_N + 700_000


def test_fib_status_is_labelled_parallel_unsafe(conn):
    assert conn.execute("SELECT proparallel FROM pg_proc WHERE oid = 'fib_status(bigint)'::regprocedure"
                        ).fetchone()[0] == "u"


def test_the_job_functions_work_under_force_parallel_mode(conn):
    """No "cannot update SecondarySnapshot during a parallel operation"."""
    done, new, small = BASE + 1, BASE + 2, 600_001
    forget(conn, done)
    forget(conn, new)
    assert conn.execute("SELECT state FROM fib_wait(%s)", (done,)).fetchone()[0] == "done"
    conn.execute("SET force_parallel_mode = on")
    try:
        assert conn.execute("SELECT state FROM fib_status(%s)", (done,)).fetchone()[0] == "done"
        assert conn.execute("SELECT (fib_status(%s)).state", (done,)).fetchone()[0] == "done"
        assert conn.execute("SELECT digits FROM fib_status(%s)", (done,)).fetchone()[0] == oracle_digest(done)[0]
        assert server_digest(conn, done) == oracle_digest(done)
        text = conn.execute("SELECT fib(%s)::text", (small,)).fetchone()[0]
        assert (len(text), text[:30], text[-30:]) == oracle_digest(small)[:3]
        assert conn.execute("SELECT fib(%s) = fib(%s) + fib(%s)", (small, small - 1, small - 2)).fetchone()[0]
        assert conn.execute("SELECT state FROM fib_request(%s)", (new,)).fetchone()[0] in ("queued", "running", "done")
        assert conn.execute("SELECT state FROM fib_wait(%s)", (new,)).fetchone()[0] == "done"
        assert conn.execute("SELECT state FROM fib_status(%s)", (new,)).fetchone()[0] == "done"
    finally:
        conn.execute("RESET force_parallel_mode")


@pytest.mark.parametrize("isolation", ["REPEATABLE READ", "SERIALIZABLE"])
def test_a_value_fib_wait_says_is_done_is_readable_in_the_same_transaction(database, conn, isolation):
    """The transaction's snapshot is taken before the jobs finish; once
    fib_wait says done, fib_text(n) (and fib(n) where it fits in numeric)
    return the value, checked against gmpy2."""
    offset = 0 if isolation == "REPEATABLE READ" else 10
    huge, small = BASE + 11 + offset, 600_011 + offset
    forget(conn, huge)
    forget(conn, small)
    with psycopg.connect(dbname=database) as c:
        # with sync_max_n below small, fib(small) must come from the memo
        c.execute("SET pg_fib.sync_max_n = 100000")
        c.commit()
        c.execute(f"BEGIN ISOLATION LEVEL {isolation}")
        # the transaction's snapshot, taken by its first statement, has neither
        # (pg_fib's own reads: fib_wait refuses to sleep holding a lock the
        # transaction took on the tables by reading them itself)
        assert c.execute("SELECT fib_status(%s) IS NULL, fib_status(%s) IS NULL",
                         (huge, small)).fetchone() == (True, True)
        assert c.execute("SELECT state FROM fib_wait(%s)", (huge,)).fetchone()[0] == "done"
        assert c.execute("SELECT state FROM fib_wait(%s)", (small,)).fetchone()[0] == "done"
        assert c.execute("SELECT state FROM fib_status(%s)", (huge,)).fetchone()[0] == "done"
        assert server_digest(c, huge) == oracle_digest(huge)
        assert server_digest(c, small) == oracle_digest(small)
        text = c.execute("SELECT fib(%s)::text", (small,)).fetchone()[0]
        assert (len(text), text[:30], text[-30:]) == oracle_digest(small)[:3]
        c.rollback()
