"""Memo rows made by hand (a superuser, a tampered dump) whose value is not
F(n) in the memo's format: fib(n) and fib_text(n) raise
XX001 (data_corrupted) naming n, never return a value, never write out of
bounds.  On a cluster of its own, since the defect wrote past a buffer."""

import sys

import pytest
from psycopg import errors

from cluster import PRELOAD_PG_FIB, running
from jobs import memo_bytes, memo_groups, memo_row_value


_groups, _pack = memo_groups, memo_bytes


def _digits(n):
    return memo_row_value(n)[1]


# n (all >= pg_fib.memo_min_n, so that fib() reads the memo) -> a bad value
CORRUPT = {
    5001: bytes.fromhex("ff7f0100"),                     # digit 32767: fib() gave "P7670001"
    5002: bytes.fromhex("0080"),                         # digit -32768 / 32768: a heap overrun
    5003: _pack([0] + _groups(5003)),                    # a leading zero digit
    5004: _pack(_groups(5004)[:-1] + [10000]),           # a digit > 9999
    5005: _pack(_groups(5005)[:-1]),                     # one digit too few for n
    5006: _pack(_groups(5006) + [1]),                    # one digit too many for n
    5007: _pack([1]),                                    # far too few: F(5007) has 1046 digits
}


@pytest.fixture(scope="module")
def node():
    sys.set_int_max_str_digits(0)
    with running([PRELOAD_PG_FIB, "pg_fib.workers = 0"], extension=True) as c:
        with c.connect(autocommit=True) as conn:
            for n, value in CORRUPT.items():
                conn.execute("INSERT INTO fib_memo (n, value, digits, compute_ms) VALUES (%s, %s, %s, 1)",
                             (n, value, _digits(n)))
        yield c


@pytest.mark.parametrize("n", sorted(CORRUPT))
@pytest.mark.parametrize("call", ["fib(%s)::text", "fib_text(%s)", "fib_text(-%s)"])
def test_a_corrupt_memo_row_is_data_corrupted(node, n, call):
    with node.connect(autocommit=True) as conn:
        started = conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0]
        try:
            value = conn.execute(f"SELECT {call}", (n,)).fetchone()[0]
        except errors.DataCorrupted as corrupt:
            assert str(n) in corrupt.diag.message_primary
        else:
            pytest.fail(f"{call % n} returned {value[:40]!r}{'...' if len(value) > 40 else ''}")
    # the server went on: no crash restart
    with node.connect(autocommit=True) as conn:
        assert conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0] == started
