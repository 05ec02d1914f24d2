"""GMP's memory belongs to PostgreSQL: calls, errors and cancels in the middle
of a computation leave nothing behind, and pgmp's allocation functions are
restored after each of them."""

import pytest
from psycopg import errors

import oracle


def context_bytes(conn):
    return conn.execute("SELECT sum(total_bytes) FROM pg_backend_memory_contexts").fetchone()[0]


def cancel_mid_computation(conn):
    """Run fib() on the largest numeric n until statement_timeout fires; the
    arguments differ per row so nothing is folded at plan time."""
    conn.execute("SET statement_timeout = '150ms'")
    with pytest.raises(errors.QueryCanceled):
        conn.execute("SELECT count(fib(627177 - (i % 2))) FROM generate_series(1, 1000000) AS i")
    conn.execute("RESET statement_timeout")


@pytest.fixture
def conn(conn):
    """The memo off, so that every fib() call computes in GMP and every
    cancel lands in a computation, not in a memo read."""
    conn.execute("SET pg_fib.memo_min_n = 2000000000")
    return conn


def test_no_growth_after_calls_errors_and_cancels(conn):
    # warm up: caches, the first cancel's error context
    conn.execute("SELECT fib(627177 - (i % 2)) IS NULL FROM generate_series(1, 5) AS i")
    cancel_mid_computation(conn)
    before = context_bytes(conn)

    for _ in range(20):
        cancel_mid_computation(conn)
        with pytest.raises(errors.NumericValueOutOfRange):
            conn.execute("SELECT fib(627178)")
    conn.execute("SELECT count(fib(627177 - (i % 2))) FROM generate_series(1, 200) AS i")

    after = context_bytes(conn)
    # One leaked computation of F(627177) alone would hold over 300 kB.
    assert after - before < 128 * 1024, (before, after)


def test_pgmp_works_after_cancels(conn, pgmp):
    conn.execute("SELECT pgmp.fib(10)")  # pgmp's allocation functions are now installed
    for _ in range(3):
        cancel_mid_computation(conn)
        # pgmp builds its results in blocks from its own allocation
        # functions; with pg_fib's left installed this would corrupt them
        text = conn.execute("SELECT (pgmp.fib(20000) OPERATOR(pgmp.*) pgmp.fib(30000))::text").fetchone()[0]
        assert oracle.parse(text) == oracle.fib(20000) * oracle.fib(30000)
        assert conn.execute("SELECT fib(1000) = pgmp.fib(1000)::numeric").fetchone()[0]


def test_session_survives_out_of_range_and_limit_errors(conn):
    for sql, error in (("SELECT fib(627178)", errors.NumericValueOutOfRange),
                       ("SELECT fib(-9223372036854775808)", errors.ProgramLimitExceeded),
                       ("SELECT fib_mod(1, 0)", errors.InvalidParameterValue)):
        with pytest.raises(error):
            conn.execute(sql)
    assert conn.execute("SELECT fib(90)::text").fetchone()[0] == str(oracle.fib(90))
