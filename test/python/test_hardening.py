"""What a hostile or unlucky environment must not break: callers killed
while they wait, a keeper that stops answering, a search_path set on the
database, the upkeep run by a granted non-superuser, a memo row deleted
under a done job, and a full queue.  Shared cluster, database "postgres"."""

import os
import signal
import threading
import time

import psycopg
import pytest
from psycopg import errors

from jobs import (MAX_N, forget, job, job_row, keeper_pid, reload_setting, reset_setting,
                  restart_pg_fib_workers, wait_finished, wait_for, wait_running)

SYNC_MAX_N = 3_000_000
WORKERS = 2     # test/run-tests.sh's pg_fib.workers


def test_callers_killed_while_waiting_give_their_slots_back(conn, database):
    """With the keeper frozen, 270 callers (more than the 256 slots) block
    in fib_request and are terminated; once the keeper runs again, requests
    are answered as before.  A fib_wait meanwhile honours its timeout."""
    keeper = keeper_pid(conn)
    base = SYNC_MAX_N + 200_000
    os.kill(keeper, signal.SIGSTOP)
    try:
        with psycopg.connect(dbname=database, autocommit=True) as waiter:
            start = time.monotonic()
            with pytest.raises(errors.ObjectNotInPrerequisiteState) as late:
                waiter.execute("SELECT fib_wait(%s, '500 milliseconds')", (base - 1,))
            assert "within the timeout" in str(late.value)
            assert time.monotonic() - start < 1.5

        for batch in range(3):
            sessions = [psycopg.connect(dbname=database, autocommit=True) for _ in range(90)]
            pids = [s.info.backend_pid for s in sessions]
            threads = []
            for i, s in enumerate(sessions):
                n = base + batch * 100 + i
                t = threading.Thread(target=_request_ignoring_errors, args=(s, n), daemon=True)
                t.start()
                threads.append(t)
            wait_for(lambda: conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s) AND wait_event = 'Extension'",
                (pids,)).fetchone()[0] == len(pids), 30, what="the callers to wait for the keeper")
            conn.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))
            for t in threads:
                t.join(10)
            for s in sessions:
                s.close()
    finally:
        os.kill(keeper, signal.SIGCONT)

    conn.execute("SET statement_timeout = '10s'")
    try:
        n = base + 999
        forget(conn, n)
        assert conn.execute("SELECT state FROM fib_wait(%s)", (n,)).fetchone()[0] == "done"
    finally:
        conn.execute("RESET statement_timeout")


def _request_ignoring_errors(session, n):
    try:
        session.execute("SELECT fib_request(%s)", (n,))
    except psycopg.Error:
        pass


def test_a_search_path_on_the_database_does_not_reach_the_workers(conn, database):
    conn.execute("CREATE SCHEMA evil")
    conn.execute("CREATE TABLE evil.calls (at timestamptz)")
    conn.execute("""CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE sql
                    AS 'INSERT INTO evil.calls VALUES (pg_catalog.now()) RETURNING at'""")
    conn.execute("""CREATE FUNCTION evil.clock_timestamp() RETURNS timestamptz LANGUAGE sql
                    AS 'INSERT INTO evil.calls VALUES (pg_catalog.now()) RETURNING at'""")
    conn.execute(f"ALTER DATABASE {database} SET search_path = evil, pg_catalog, public")
    try:
        restart_pg_fib_workers(conn, WORKERS)
        n = SYNC_MAX_N + 300_001
        forget(conn, n)
        assert conn.execute("SELECT state FROM public.fib_wait(%s)", (n,)).fetchone()[0] == "done"
        assert conn.execute("SELECT count(*) FROM evil.calls").fetchone()[0] == 0
    finally:
        conn.execute(f"ALTER DATABASE {database} RESET search_path")
        conn.execute("DROP SCHEMA evil CASCADE")
        restart_pg_fib_workers(conn, WORKERS)


def test_upkeep_by_a_granted_role_keeps_live_jobs_and_requeues_dead_ones(conn, role):
    role("fib_maintainer")
    conn.execute("GRANT EXECUTE ON FUNCTION fib_maintain() TO fib_maintainer")
    live, dead = MAX_N - 20, SYNC_MAX_N + 300_002
    forget(conn, live)
    forget(conn, dead)
    try:
        conn.execute("SELECT fib_request(%s)", (live,))
        wait_running(conn, live, 0.05)
        conn.execute("INSERT INTO fib_jobs (n, state, attempts, worker_pid, started_at)"
                     " VALUES (%s, 'running', 1, 999999, now())", (dead,))
        conn.execute("SET ROLE fib_maintainer")
        requeued = conn.execute("SELECT requeued FROM fib_maintain()").fetchone()[0]
        conn.execute("RESET ROLE")
        assert requeued == 1
        assert job_row(conn, live)["state"] == "running"
        assert wait_finished(conn, dead)["state"] == "done"
        assert wait_finished(conn, live)["state"] == "done"
        assert job_row(conn, live)["attempts"] == 1
    finally:
        conn.execute("RESET ROLE")


def test_a_done_job_whose_memo_row_is_gone_is_computed_again(conn):
    n = SYNC_MAX_N + 300_003
    forget(conn, n)
    assert conn.execute("SELECT state FROM fib_wait(%s)", (n,)).fetchone()[0] == "done"
    conn.execute("DELETE FROM fib_memo WHERE n = %s", (n,))
    with pytest.raises(errors.ObjectNotInPrerequisiteState):
        conn.execute("SELECT fib_text(%s)", (n,))
    assert conn.execute("SELECT state FROM fib_request(%s)", (n,)).fetchone()[0] in ("queued", "running")
    assert wait_finished(conn, n)["state"] == "done"
    assert conn.execute("SELECT length(fib_text(%s))", (n,)).fetchone()[0] == job(conn, n)["digits"]


def test_a_full_queue_refuses_new_jobs_and_answers_known_ones(conn):
    known, new = SYNC_MAX_N + 300_004, SYNC_MAX_N + 300_005
    forget(conn, known)
    forget(conn, new)
    assert conn.execute("SELECT state FROM fib_wait(%s)", (known,)).fetchone()[0] == "done"
    reload_setting(conn, "pg_fib.max_queued", "0")
    try:
        with pytest.raises(errors.ConfigurationLimitExceeded) as full:
            conn.execute("SELECT fib_request(%s)", (new,))
        assert "pg_fib.max_queued" in full.value.diag.message_hint
        assert job_row(conn, new) is None
        assert conn.execute("SELECT state FROM fib_request(%s)", (known,)).fetchone()[0] == "done"
    finally:
        reset_setting(conn, "pg_fib.max_queued")
    assert conn.execute("SELECT state FROM fib_wait(%s)", (new,)).fetchone()[0] == "done"


def test_keeper_keeps_its_timers_under_a_steady_stream_of_memo_hits(conn, database):
    n = 600_003
    conn.execute("SELECT fib(%s)", (n,))
    wait_for(lambda: conn.execute("SELECT count(*) FROM fib_memo WHERE n = %s", (n,)).fetchone()[0],
             30, what="F(n) memoized")
    stop = threading.Event()

    def hammer():
        with psycopg.connect(dbname=database, autocommit=True) as c:
            while not stop.is_set():
                c.execute("SELECT fib(%s) IS NULL", (n,))

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        orphan = SYNC_MAX_N + 300_006
        forget(conn, orphan)
        conn.execute("INSERT INTO fib_jobs (n, state, attempts, worker_pid, started_at)"
                     " VALUES (%s, 'running', 1, 999999, now())", (orphan,))
        assert wait_finished(conn, orphan, timeout=15)["state"] == "done"
    finally:
        stop.set()
        for t in threads:
            t.join(10)


def test_read_only_caller_that_rolls_back_loses_nothing(conn, database):
    """fib() in a read-only transaction reads the memo path, computes, and
    hands the value on; the caller's rollback takes nothing back."""
    n = 600_011
    forget(conn, n)
    with psycopg.connect(dbname=database) as c:
        c.execute("BEGIN TRANSACTION READ ONLY")
        text = c.execute("SELECT fib(%s)::text", (n,)).fetchone()[0]
        assert c.execute("SELECT fib_text(%s)", (n,)).fetchone()[0] == text
        c.rollback()
    wait_for(lambda: conn.execute("SELECT count(*) FROM fib_memo WHERE n = %s", (n,)).fetchone()[0],
             30, what="F(n) memoized after the rollback")
    assert conn.execute("SELECT fib(%s)::text", (n,)).fetchone()[0] == text


def test_a_role_without_table_privileges_queues_and_waits(conn, role):
    n = SYNC_MAX_N + 300_007
    forget(conn, n)
    role("fib_web")
    try:
        conn.execute("SET ROLE fib_web")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("INSERT INTO fib_jobs (n) VALUES (%s)", (n,))
        row = conn.execute("SELECT state, digits FROM fib_wait(%s)", (n,)).fetchone()
        assert row[0] == "done"
        assert len(conn.execute("SELECT fib_text(%s)", (n,)).fetchone()[0]) == row[1]
    finally:
        conn.execute("RESET ROLE")


def test_a_memoized_value_without_a_job_is_done_without_queuing(conn):
    n = SYNC_MAX_N + 300_008
    forget(conn, n)
    assert conn.execute("SELECT state FROM fib_wait(%s)", (n,)).fetchone()[0] == "done"
    conn.execute("DELETE FROM fib_jobs WHERE n = %s", (n,))
    assert conn.execute("SELECT state FROM fib_request(%s)", (n,)).fetchone()[0] == "done"
    assert job_row(conn, n) is None


def test_a_held_lock_on_a_memo_row_does_not_stall_the_keeper(conn, database):
    n = 600_012
    conn.execute("SELECT fib(%s)", (n,))
    wait_for(lambda: conn.execute("SELECT count(*) FROM fib_memo WHERE n = %s", (n,)).fetchone()[0],
             30, what="F(n) memoized")
    with psycopg.connect(dbname=database) as holder:
        holder.execute("SELECT * FROM fib_memo WHERE n = %s FOR UPDATE", (n,))
        conn.execute("SET lock_timeout = '5s'")
        try:
            for _ in range(3):
                conn.execute("SELECT fib(%s) IS NULL", (n,))     # hits on the locked row
            time.sleep(1.5)                                       # the keeper's tick
            other = SYNC_MAX_N + 300_009
            forget(conn, other)
            conn.execute("SET statement_timeout = '10s'")
            assert conn.execute("SELECT state FROM fib_wait(%s)", (other,)).fetchone()[0] == "done"
        finally:
            conn.execute("RESET statement_timeout")
            conn.execute("RESET lock_timeout")
        holder.rollback()
