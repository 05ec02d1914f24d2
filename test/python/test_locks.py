"""Waits with a bound: the keeper never waits on a
caller's row lock without bound; a caller sleeping in fib_wait holds no lock
on the tables; a stopped keeper still lets fib_request fail after 10 s; and
fib_wait honours short and zero timeouts.  Shared cluster, database
"postgres"; every signal sent is undone in a finally block."""

import threading
import time

import psycopg
import pytest
from psycopg import errors

from jobs import (forget, idle_workers_stopped, job, job_row, keeper_pid, stopped, wait_finished,
                  wait_for)

SYNC_MAX_N = 3_000_000
BASE = SYNC_MAX_N + 600_000


def _call_in_thread(session, query, args):
    """Run query in a thread; returns (thread, outcome), where outcome gets
    'result' or 'error', and 'seconds'."""
    outcome = {}

    def run():
        start = time.monotonic()
        try:
            cursor = session.execute(query, args)
            outcome["result"] = cursor.fetchall() if cursor.description else None
        except psycopg.Error as exc:
            outcome["error"] = exc
        outcome["seconds"] = time.monotonic() - start

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _waits(conn, pid, wait_event_type=None):
    """Whether backend pid runs a statement (and waits on wait_event_type)."""
    return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND state = 'active'"
                        " AND (%s::text IS NULL OR wait_event_type = %s)",
                        (pid, wait_event_type, wait_event_type)).fetchone()[0] == 1


def _sleeps(conn, pid):
    """Whether backend pid sleeps in a statement (not waiting on a lock)."""
    return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND state = 'active'"
                        " AND wait_event_type IN ('Extension', 'IPC', 'Timeout')", (pid,)).fetchone()[0] == 1


def test_a_caller_holding_the_job_row_gets_55P03_and_others_are_served(conn, database):
    """A caller that deleted a failed job in an open transaction and
    then asks for it again must not deadlock with the keeper: it gets
    lock_not_available within ~1-2 s, and meanwhile another session's
    fib_request of another n returns promptly."""
    locked, other = BASE + 1, BASE + 2
    forget(conn, locked)
    forget(conn, other)
    conn.execute("INSERT INTO fib_jobs (n, state, attempts, finished_at, error)"
                 " VALUES (%s, 'failed', 3, now(), 'failed on purpose by the test')", (locked,))
    with psycopg.connect(dbname=database) as holder, \
            psycopg.connect(dbname=database, autocommit=True) as bystander:
        # bounds for the current (deadlocking) code, far above the ones asserted
        holder.execute("SET statement_timeout = '12s'")
        bystander.execute("SET statement_timeout = '8s'")
        holder.execute("DELETE FROM fib_jobs WHERE n = %s AND state = 'failed'", (locked,))
        thread, outcome = _call_in_thread(holder, "SELECT state FROM fib_request(%s)", (locked,))
        try:
            wait_for(lambda: outcome or _waits(conn, holder.info.backend_pid), 5,
                     what="the holder's fib_request to start")
            start = time.monotonic()
            try:
                state = bystander.execute("SELECT state FROM fib_request(%s)", (other,)).fetchone()[0]
            except errors.QueryCanceled:
                pytest.fail("another session's fib_request hung behind the caller's lock "
                            f"for {time.monotonic() - start:.1f} s")
            served = time.monotonic() - start
            assert state in ("queued", "running", "done")
            assert served < 3.0, f"another session's fib_request took {served:.2f} s"
        finally:
            thread.join(20)
            holder.rollback()
    assert "error" in outcome, f"the holder's fib_request returned {outcome.get('result')}"
    assert isinstance(outcome["error"], errors.LockNotAvailable), repr(outcome["error"])
    assert outcome["seconds"] < 4.0, outcome["seconds"]
    assert str(locked) in str(outcome["error"])
    # the holder's rollback kept the failed job; the other job completes
    assert job_row(conn, locked)["state"] == "failed"
    assert wait_finished(conn, other, timeout=60)["state"] == "done"


# What the waiter's transaction did before fib_wait: nothing (autocommit), or
# read memo values and jobs through every other function of pg_fib.
BEFORE_WAITING = {
    "autocommit": None,
    "after pg_fib's reads in its transaction": ["SELECT fib_text(%(memoized)s) IS NULL",
                                                "SELECT fib(6000) IS NULL",
                                                "SELECT fib_status(%(memoized)s)",
                                                "SELECT fib_request(%(memoized)s)"],
}


@pytest.mark.parametrize("before", BEFORE_WAITING)
def test_a_sleeping_waiter_holds_no_lock_and_blocks_no_vacuum_full(conn, database, before):
    """While fib_wait sleeps on an unfinished job it holds no lock on
    fib_memo, fib_jobs or their indexes, also when its transaction read
    memo values and jobs before, so VACUUM FULL of either table completes
    at once, and other sessions' memo reads and fib_status are not queued
    behind it.  The compute workers are stopped while idle, so that the job
    stays queued as long as the test needs."""
    n, memoized = BASE + 11, BASE + 12
    forget(conn, n)
    forget(conn, memoized)
    assert conn.execute("SELECT state FROM fib_wait(%s)", (memoized,)).fetchone()[0] == "done"
    conn.execute("SELECT fib(6000)")
    wait_for(lambda: conn.execute("SELECT 1 FROM fib_memo WHERE n = 6000").fetchone(), 10,
             what="F(6000) to be memoized")
    tables = ("fib_memo", "fib_jobs", "fib_memo_pkey", "fib_jobs_pkey", "fib_jobs_queued")
    observed = {}
    with psycopg.connect(dbname=database, autocommit=BEFORE_WAITING[before] is None) as waiter, \
            psycopg.connect(dbname=database, autocommit=True) as vacuumer, \
            psycopg.connect(dbname=database, autocommit=True) as reader:
        for query in BEFORE_WAITING[before] or ():
            waiter.execute(query, {"memoized": memoized})
        with idle_workers_stopped(conn):
            thread, outcome = _call_in_thread(waiter, "SELECT state FROM fib_wait(%s, '30 s')", (n,))
            wait_for(lambda: job(conn, n) and _sleeps(conn, waiter.info.backend_pid),
                     10, what="fib_wait to sleep on its queued job")
            observed["held"] = [r[0] for r in conn.execute(
                "SELECT relation::regclass::text FROM pg_locks WHERE pid = %s"
                " AND locktype = 'relation' AND relation::regclass::text = ANY(%s) ORDER BY 1",
                (waiter.info.backend_pid, list(tables)))]

            # VACUUM FULL queues behind any lock the waiter holds, and every
            # later reader of the table queues behind VACUUM FULL
            vacuumer.execute("SET lock_timeout = '8s'")
            vacuum, vacuumed = _call_in_thread(vacuumer, "VACUUM FULL fib_memo", ())
            wait_for(lambda: vacuumed or _waits(conn, vacuumer.info.backend_pid, "Lock"), 5,
                     what="VACUUM FULL to finish or wait")
            reader.execute("SET statement_timeout = '3s'")
            try:
                reader.execute("SELECT fib_text(%s) IS NOT NULL", (memoized,))
                reader.execute("SELECT fib_status(%s)", (n,))
                observed["reader"] = "served"
            except errors.QueryCanceled as exc:
                observed["reader"] = f"blocked: {exc}"
            vacuum.join(15)
            observed["vacuum fib_memo"] = (str(vacuumed.get("error")), round(vacuumed["seconds"], 1))
            vacuumer.execute("SET lock_timeout = '5s'")
            vacuum, vacuumed = _call_in_thread(vacuumer, "VACUUM FULL fib_jobs", ())
            vacuum.join(15)
            observed["vacuum fib_jobs"] = (str(vacuumed.get("error")), round(vacuumed["seconds"], 1))
        # the workers go on (left the context): the job completes, the waiter sees it
        thread.join(40)
        waiter.rollback()
    assert observed["held"] == [], observed
    assert observed["reader"] == "served", observed
    for table in ("fib_memo", "fib_jobs"):
        error, seconds = observed[f"vacuum {table}"]
        assert error == "None" and seconds < 5, observed
    assert outcome.get("result") == [("done",)], outcome


@pytest.mark.parametrize("lock", ["SELECT count(*) FROM fib_memo",
                                  "SELECT n FROM fib_jobs WHERE n = %(other)s FOR UPDATE",
                                  "LOCK TABLE fib_jobs IN ACCESS SHARE MODE"])
def test_fib_wait_refuses_to_wait_holding_a_lock_on_the_tables(conn, database, lock):
    """A transaction that holds a lock on fib_memo or fib_jobs of its
    own making (a superuser's query, a row lock) gets 55000 from fib_wait
    of an unfinished job instead of sleeping with it; nothing is queued.
    A done value is still answered, which needs no wait."""
    n, done = BASE + 13, BASE + 14
    forget(conn, n)
    forget(conn, done)
    assert conn.execute("SELECT state FROM fib_wait(%s)", (done,)).fetchone()[0] == "done"
    with psycopg.connect(dbname=database) as holder:
        holder.execute("SET statement_timeout = '10s'")
        holder.execute(lock, {"other": done})
        assert holder.execute("SELECT state FROM fib_wait(%s, '5 s')", (done,)).fetchone()[0] == "done"
        with pytest.raises(errors.ObjectNotInPrerequisiteState) as refused:
            holder.execute("SELECT fib_wait(%s, '5 s')", (n,))
        holder.rollback()
    assert "lock" in str(refused.value) and refused.value.diag.message_hint
    assert job_row(conn, n) is None


def test_a_stopped_keeper_lets_fib_request_fail_after_10_s(conn, database):
    """The keeper stopped by SIGSTOP (alive, but answering nothing):
    fib_request of a new n fails with 55000 after about 10 s, fib_wait with
    a 1 s timeout within ~1.2 s; both work again once it goes on."""
    n, m = BASE + 21, BASE + 22
    forget(conn, n)
    forget(conn, m)
    with psycopg.connect(dbname=database, autocommit=True) as caller:
        caller.execute("SET statement_timeout = '16s'")    # bound for the current code
        with stopped([keeper_pid(conn)]):
            start = time.monotonic()
            with pytest.raises(errors.ObjectNotInPrerequisiteState) as refused:
                caller.execute("SELECT fib_request(%s)", (n,))
            took = time.monotonic() - start
            assert 9.0 <= took <= 12.0, f"fib_request failed after {took:.2f} s"
            assert "keeper" in str(refused.value)

            start = time.monotonic()
            try:
                caller.execute("SELECT fib_wait(%s, '1 s')", (m,))
            except errors.ObjectNotInPrerequisiteState:
                pass
            took = time.monotonic() - start
            assert took <= 1.25, f"fib_wait(n, '1 s') took {took:.2f} s"
        assert caller.execute("SELECT state FROM fib_wait(%s, '15 s')", (n,)).fetchone()[0] == "done"
        assert caller.execute("SELECT state FROM fib_wait(%s, '15 s')", (m,)).fetchone()[0] == "done"


def _timed(session, query, args):
    """(state or the error, seconds) of a query returning a job's state."""
    start = time.monotonic()
    try:
        result = session.execute(query, args).fetchone()[0]
    except psycopg.Error as exc:
        result = exc
    return result, time.monotonic() - start


def test_fib_wait_honours_a_timeout_below_1_s(conn, database):
    """fib_wait(n, '300 ms') of a job queued behind busy (here: stopped)
    workers returns it, queued, after 300 ms and well before a second (a
    loaded machine may add some; a timeout rounded up to whole seconds
    would not pass).  (The keeper itself gets at least 1 s to take a
    request in: see test_a_stopped_keeper_lets_fib_request_fail_after_10_s.)"""
    n = BASE + 31
    forget(conn, n)
    with psycopg.connect(dbname=database, autocommit=True) as caller:
        caller.execute("SET statement_timeout = '10s'")
        with idle_workers_stopped(conn):
            state, took = _timed(caller, "SELECT state FROM fib_wait(%s, '300 ms')", (n,))
            assert state in ("queued", "running"), state
            assert 0.24 <= took < 0.8, f"fib_wait(n, '300 ms') of a queued job took {took:.3f} s"
    assert wait_finished(conn, n, timeout=30)["state"] == "done"


def test_fib_wait_with_a_zero_timeout_queues_and_returns_at_once(conn, database):
    """fib_wait(n, '0') of a new n queues the job and returns it as it
    stands (queued or running) at once; the job is done later."""
    n = BASE + 41
    forget(conn, n)
    with psycopg.connect(dbname=database, autocommit=True) as caller:
        caller.execute("SET statement_timeout = '10s'")
        with idle_workers_stopped(conn):
            state, took = _timed(caller, "SELECT state FROM fib_wait(%s, '0')", (n,))
            assert state in ("queued", "running"), repr(state)
            assert took < 0.5, f"fib_wait(n, '0') took {took:.3f} s"
            assert job_row(conn, n)["state"] == "queued"
    assert wait_finished(conn, n, timeout=30)["state"] == "done"
