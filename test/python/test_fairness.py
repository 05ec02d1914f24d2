"""What one role, or one kind of hint, may take from everyone else (issue 6,
D5, D14): a role's share of the queue is bounded by
pg_fib.max_queued_per_role, the memo's budget holds without pg_cron, and
memo hits do not crowd out the values to memoize.  Shared cluster, database
"postgres"; settings and roles are restored in finally blocks."""

import random
import threading
import time

import psycopg
import pytest
from psycopg import errors

from jobs import forget, idle_workers_stopped, job_row, reload_setting, reset_setting, wait_finished, wait_for

SYNC_MAX_N = 3_000_000
BASE = SYNC_MAX_N + 800_000


@pytest.fixture
def roles(conn):
    """Two login roles, fib_greedy limited to 5 queued jobs, fib_other not."""
    for role in ("fib_greedy", "fib_other"):
        conn.execute(f"DROP ROLE IF EXISTS {role}")
        conn.execute(f"CREATE ROLE {role} LOGIN")
    try:
        conn.execute("ALTER ROLE fib_greedy SET pg_fib.max_queued_per_role = 5")
        yield
    finally:
        for role in ("fib_greedy", "fib_other"):
            conn.execute(f"DROP ROLE {role}")


def test_a_role_may_queue_only_its_share(conn, database, roles):
    """D5: with pg_fib.max_queued_per_role = 5 set on the role, its 6th new n
    is refused with 53400 while 5 of its jobs wait; another role still
    queues; a known n is still answered; once its jobs are done it queues
    again.  The compute workers are stopped so that the jobs stay queued."""
    mine = [BASE + i for i in range(1, 7)]
    theirs = BASE + 11
    for n in mine + [theirs]:
        forget(conn, n)
    with psycopg.connect(dbname=database, user="fib_greedy", autocommit=True) as greedy, \
            psycopg.connect(dbname=database, user="fib_other", autocommit=True) as other:
        greedy.execute("SET statement_timeout = '15s'")
        other.execute("SET statement_timeout = '15s'")
        assert greedy.execute("SHOW pg_fib.max_queued_per_role").fetchone()[0] == "5"
        with idle_workers_stopped(conn):
            for n in mine[:5]:
                assert greedy.execute("SELECT state FROM fib_request(%s)", (n,)).fetchone()[0] == "queued"
            with pytest.raises(errors.ConfigurationLimitExceeded) as refused:
                greedy.execute("SELECT fib_request(%s)", (mine[5],))
            assert "pg_fib.max_queued_per_role" in (refused.value.diag.message_hint or "") + \
                (refused.value.diag.message_detail or "") + str(refused.value)
            assert job_row(conn, mine[5]) is None
            # what it asked for already is still answered
            assert greedy.execute("SELECT state FROM fib_request(%s)", (mine[0],)).fetchone()[0] == "queued"
            assert other.execute("SELECT state FROM fib_request(%s)", (theirs,)).fetchone()[0] == "queued"
            assert [r[0] for r in conn.execute(
                "SELECT requested_by FROM fib_jobs WHERE n = ANY(%s) ORDER BY n",
                (mine + [theirs],))] == ["fib_greedy"] * 5 + ["fib_other"]
        for n in mine[:5] + [theirs]:
            assert wait_finished(conn, n, timeout=60)["state"] == "done"
        assert greedy.execute("SELECT state FROM fib_wait(%s)", (mine[5],)).fetchone()[0] == "done"


def _memo_bytes(conn):
    return conn.execute("SELECT coalesce(sum(octet_length(value)), 0) FROM fib_memo").fetchone()[0]


def test_the_memo_budget_holds_without_pg_cron(conn):
    """D5: pg_fib.memo_max_size is kept by the keeper itself, without any
    call of fib_maintain(): three new values, together more than the room
    left, are stored, and the memo is back within its budget in a few
    seconds (the keeper may evict any of them, with its done job)."""
    new = [BASE + 21, BASE + 22, BASE + 23]
    for n in new:
        forget(conn, n)
    one_value = (BASE + 21) * 0.2090 / 2          # bytes of F(n): half a byte per decimal digit
    budget_kb = int((_memo_bytes(conn) + 1.5 * one_value) // 1024)
    reload_setting(conn, "pg_fib.memo_max_size", f"{budget_kb}kB")
    try:
        for n in new:
            conn.execute("SELECT fib_request(%s)", (n,))
        seen = []

        def stored_and_within():
            # a job finished, or gone with its evicted value: its value was stored
            pending = conn.execute("SELECT count(*) FROM fib_jobs WHERE n = ANY(%s) AND state IN"
                                   " ('queued', 'running')", (new,)).fetchone()[0]
            failed = conn.execute("SELECT count(*) FROM fib_jobs WHERE n = ANY(%s) AND state = 'failed'",
                                  (new,)).fetchone()[0]
            assert failed == 0
            seen.append(_memo_bytes(conn))
            return pending == 0 and seen[-1] <= budget_kb * 1024
        try:
            wait_for(stored_and_within, 20, interval=0.2, what="the memo to shrink to its budget")
        except AssertionError:
            pytest.fail(f"the memo holds {seen[-1]} bytes after the jobs, over its budget of {budget_kb} kB")
    finally:
        reset_setting(conn, "pg_fib.memo_max_size")


def _call_fib(database, ns, threads=2):
    """Call fib(n) for each n of ns, one query per call, from several sessions."""
    failures = []

    def caller(part):
        try:
            with psycopg.connect(dbname=database, autocommit=True) as c:
                for n in part:
                    c.execute("SELECT fib(%s) IS NULL", (n,))
        except psycopg.Error as exc:
            failures.append(exc)

    running = [threading.Thread(target=caller, args=(ns[i::threads],)) for i in range(threads)]
    for t in running:
        t.start()
    for t in running:
        t.join(120)
    assert failures == []


def _memoized(conn, low, high):
    return conn.execute("SELECT count(*) FROM fib_memo WHERE n BETWEEN %s AND %s", (low, high)).fetchone()[0]


def test_memo_hits_do_not_crowd_out_values_to_memoize(conn, database):
    """D14: with 1000 values of 5000..6999 in the memo already, two sessions
    call fib(n) for every n of the range, each n five times, interleaved,
    one query per call: every one of the 2,000 values ends up in the memo
    (hits on the 1000 must not take the places of the values to memoize;
    the issue saw the memo stop at 471)."""
    low, high, hot = 5000, 6999, 5999
    conn.execute("DELETE FROM fib_memo WHERE n BETWEEN %s AND %s", (low, high))
    conn.execute("DELETE FROM fib_jobs WHERE n BETWEEN %s AND %s", (low, high))

    def hot_memoized():
        _call_fib(database, [n for n in range(low, hot + 1)
                             if not conn.execute("SELECT 1 FROM fib_memo WHERE n = %s", (n,)).fetchone()], 1)
        return _memoized(conn, low, hot) == hot - low + 1
    wait_for(hot_memoized, 30, interval=0.5, what=f"F({low}..{hot}) to be memoized")

    rng = random.Random(6)
    calls = []
    for _ in range(5):
        batch = list(range(low, high + 1))
        rng.shuffle(batch)
        calls += batch
    start = time.monotonic()
    _call_fib(database, calls)
    counts = []

    def all_memoized():
        counts.append(_memoized(conn, low, high))
        return counts[-1] == high - low + 1
    try:
        wait_for(all_memoized, max(5.0, 60 - (time.monotonic() - start)), interval=0.5,
                 what="every value to be memoized")
    except AssertionError:
        pytest.fail(f"{counts[-1]} of {high - low + 1} values memoized 60 s after the calls began")


def test_memoize_hints_neither_refuse_nor_delay_a_request(conn, database, roles):
    """D5: fib() of many n between pg_fib.memo_min_n and sync_max_n queues
    jobs to memoize them, which count against no role.  With
    pg_fib.max_queued = 20 and the workers stopped, fib_greedy's 60 fib()
    calls leave the queue full of such hints, and yet fib_other's request
    of a new n is queued (no 53400), and once the workers go on it is
    claimed before every hint."""
    hinted = list(range(8000, 8060))
    theirs = BASE + 31
    forget(conn, theirs)
    conn.execute("DELETE FROM fib_memo WHERE n = ANY(%s)", (hinted,))
    conn.execute("DELETE FROM fib_jobs WHERE n = ANY(%s)", (hinted,))
    reload_setting(conn, "pg_fib.max_queued", "20")
    try:
        with psycopg.connect(dbname=database, user="fib_greedy", autocommit=True) as greedy, \
                psycopg.connect(dbname=database, user="fib_other", autocommit=True) as other:
            other.execute("SET statement_timeout = '15s'")
            with idle_workers_stopped(conn):
                for n in hinted:
                    greedy.execute("SELECT fib(%s) IS NULL", (n,))

                def hints_queued():
                    return conn.execute("SELECT count(*) FROM fib_jobs WHERE n = ANY(%s)"
                                        " AND state = 'queued'", (hinted,)).fetchone()[0] >= 20
                wait_for(hints_queued, 10, interval=0.1, what="the hints to fill the queue")
                try:
                    state = other.execute("SELECT state FROM fib_request(%s)", (theirs,)).fetchone()[0]
                except errors.ConfigurationLimitExceeded as exc:
                    pytest.fail(f"memoize hints filled the queue for a request: {exc}")
                assert state == "queued"
            assert wait_finished(conn, theirs, timeout=60)["state"] == "done"
            wait_for(lambda: conn.execute("SELECT count(*) FROM fib_jobs WHERE n = ANY(%s)"
                                          " AND state = 'queued'", (hinted,)).fetchone()[0] == 0,
                     30, interval=0.2, what="the hints to be memoized")
            first_hint, request = conn.execute(
                "SELECT (SELECT min(started_at) FROM fib_jobs WHERE n = ANY(%s)),"
                " (SELECT started_at FROM fib_jobs WHERE n = %s)", (hinted, theirs)).fetchone()
            assert request <= first_hint, (request, first_hint)
    finally:
        reset_setting(conn, "pg_fib.max_queued")
