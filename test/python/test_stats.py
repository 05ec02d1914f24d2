"""fib_stats: the counters in shared memory and the sums over the tables,
against the tables themselves, read by a monitoring role that has no
privilege on the tables.  Shared cluster, database "postgres"."""

import pytest
from psycopg import errors

STATS = ("SELECT inline_computations, inline_ms, memo_rows, memo_bytes, memo_hits,"
         " queued, running, done, failed, compute_ms FROM fib_stats")


def _stats(conn):
    cur = conn.execute(STATS)
    return dict(zip([c.name for c in cur.description], cur.fetchone()))


def test_inline_computations_are_counted(conn):
    before = _stats(conn)
    # n below pg_fib.memo_min_n: computed inline by every call, never from the memo
    for n in (10, -91, 92, 93, 1000, 4999):
        conn.execute("SELECT fib(%s)", (n,))
    conn.execute("SELECT fib_text(%s)", (1234,))
    after = _stats(conn)
    assert after["inline_computations"] - before["inline_computations"] == 7
    assert after["inline_ms"] >= before["inline_ms"]


def test_sums_match_the_tables(conn):
    conn.execute("SELECT state FROM fib_wait(3000777)")
    stats = _stats(conn)
    memo = conn.execute("SELECT count(*), coalesce(sum(octet_length(value)), 0), coalesce(sum(hits), 0)"
                        " FROM fib_memo").fetchone()
    assert (stats["memo_rows"], stats["memo_bytes"], stats["memo_hits"]) == memo
    by_state = dict(conn.execute("SELECT state, count(*) FROM fib_jobs GROUP BY state").fetchall())
    for state in ("queued", "running", "done", "failed"):
        assert stats[state] == by_state.get(state, 0), state
    assert stats["memo_rows"] >= 1 and stats["done"] >= 1


def test_a_monitoring_role_reads_it_without_table_privileges(conn, connect, role):
    mon = connect(user=role("fib_monitor", "LOGIN IN ROLE pg_monitor"))
    assert _stats(mon)["memo_rows"] == _stats(conn)["memo_rows"]
    for table in ("fib_memo", "fib_jobs"):
        with pytest.raises(errors.InsufficientPrivilege):
            mon.execute(f"SELECT count(*) FROM {table}")
    mon.close()
    nobody = connect(user=role("fib_nobody", "LOGIN"))
    with pytest.raises(errors.InsufficientPrivilege):
        nobody.execute(STATS)
    nobody.close()
