"""fib() and fib_mod() answer on a hot standby, where nothing can be written."""

import os

import pytest

import oracle
from cluster import standby_of


@pytest.fixture
def standby(database):
    with standby_of(os.environ["PGHOST"], os.environ["PGPORT"]) as node:
        yield node


def test_fib_on_hot_standby(standby, database):
    with standby.connect(dbname=database, autocommit=True) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
        text, mod = conn.execute("SELECT fib(100000)::text, fib_mod(-1000000, 1000000007)").fetchone()
        assert oracle.parse(text) == oracle.fib(100000)
        assert mod == oracle.fib_mod(-1000000, 1000000007)


def test_memo_and_queue_on_hot_standby(conn, standby, database):
    """The standby reads the memo its primary wrote; it cannot queue."""
    from psycopg import errors

    from jobs import forget, wait_for

    n = 3_000_000 + 51
    forget(conn, n)
    assert conn.execute("SELECT state FROM fib_wait(%s)", (n,)).fetchone()[0] == "done"
    expected = conn.execute("SELECT md5(fib_text(%s))", (n,)).fetchone()[0]
    with standby.connect(dbname=database, autocommit=True) as replica:
        wait_for(lambda: replica.execute("SELECT count(*) FROM fib_memo WHERE n = %s", (n,)).fetchone()[0],
                 30, what="the memo row to reach the standby")
        assert replica.execute("SELECT md5(fib_text(%s))", (n,)).fetchone()[0] == expected
        assert replica.execute("SELECT state FROM fib_status(%s)", (n,)).fetchone()[0] == "done"
        assert replica.execute("SELECT backend_type FROM pg_stat_activity"
                               " WHERE backend_type LIKE 'pg_fib%%'").fetchall() == []
        with pytest.raises(errors.ReadOnlySqlTransaction):
            replica.execute("SELECT fib_request(%s)", (n + 1,))
        with pytest.raises(errors.ReadOnlySqlTransaction):
            replica.execute("SELECT fib_wait(%s, '1 second')", (n + 1,))
        # fib() beyond memo_min_n: from the memo when it is there, computed when not
        assert replica.execute("SELECT fib(600000) = fib(599999) + fib(599998)").fetchone()[0]
