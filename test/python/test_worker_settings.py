"""The keeper's and the workers' environment, each
on a cluster of its own: database and role defaults do not reach them, a
missing pg_fib.database is said once instead of a FATAL loop, and a crash
restart caused by another process does not count as an attempt of the job
that was running."""

import itertools
import os
import signal
import time

import psycopg
import pytest
from psycopg import errors

from cluster import PRELOAD_PG_FIB, running
from jobs import forget, job_row, keeper_pid, restart_pg_fib_workers, wait_for, worker_pids

SYNC_MAX_N = 3_000_000


@pytest.fixture(scope="module")
def node():
    with running([PRELOAD_PG_FIB, "pg_fib.workers = 1"], extension=True) as c:
        yield c


FRESH_N = itertools.count(SYNC_MAX_N + 1001)

HOSTILE = {
    "default_transaction_read_only": "on",
    "default_transaction_isolation": "serializable",
    "statement_timeout": "1ms",
    "lock_timeout": "1ms",
    "idle_in_transaction_session_timeout": "1ms",
    "search_path": "nowhere",
    "exit_on_error": "on",
    "force_parallel_mode": "on",
    "synchronous_commit": "off",
}


@pytest.mark.parametrize("scope, settings", [("DATABASE postgres", {name: value})
                                             for name, value in HOSTILE.items()]
                         + [("DATABASE postgres", HOSTILE), ("ROLE postgres", HOSTILE)],
                         ids=list(HOSTILE) + ["all on the database", "all on the role"])
def test_database_and_role_settings_do_not_reach_the_workers(node, scope, settings):
    """With these set on the workers' database (or their role), and the
    workers restarted so that they pick them up, fib_wait of a new n still
    completes done."""
    n = next(FRESH_N)
    # a session opened before the settings: they do not apply to it
    with node.session() as conn:
        forget(conn, n)
        try:
            for name, value in settings.items():
                conn.execute(f"ALTER {scope} SET {name} = '{value}'")
            restart_pg_fib_workers(conn, 1)
            row = conn.execute("SELECT state, error FROM public.fib_wait(%s, '20 s')", (n,)).fetchone()
            assert row == ("done", None), row
        finally:
            for name in settings:
                conn.execute(f"ALTER {scope} RESET {name}")
            restart_pg_fib_workers(conn, 1)


def test_exit_on_error_does_not_end_the_keeper(node):
    """With exit_on_error = on for the workers' database, the keeper's
    caught error (a caller holding the job's row for more than its 1 s
    lock_timeout) stays an error: the caller gets 55P03, the keeper goes
    on (same process), and the next request is served."""
    n, other = next(FRESH_N), next(FRESH_N)
    with node.session() as conn:
        conn.execute("INSERT INTO public.fib_jobs (n, state, attempts, finished_at, error)"
                     " VALUES (%s, 'failed', 3, now(), 'failed on purpose by the test')", (n,))
        try:
            conn.execute("ALTER DATABASE postgres SET exit_on_error = on")
            restart_pg_fib_workers(conn, 1)
            keeper = keeper_pid(conn)
            with node.connect() as holder:
                holder.execute("SET exit_on_error = off")
                holder.execute("SET statement_timeout = '15s'")
                holder.execute("DELETE FROM public.fib_jobs WHERE n = %s AND state = 'failed'", (n,))
                with pytest.raises(errors.LockNotAvailable):
                    holder.execute("SELECT public.fib_request(%s)", (n,))
                holder.rollback()
            assert keeper_pid(conn) == keeper, "the keeper ended on the error it caught"
            row = conn.execute("SELECT state FROM public.fib_wait(%s, '20 s')", (other,)).fetchone()
            assert row == ("done",), row
        finally:
            conn.execute("ALTER DATABASE postgres RESET exit_on_error")
            restart_pg_fib_workers(conn, 1)


def test_a_missing_pg_fib_database_is_said_once():
    """pg_fib.database names a database that does not exist: over 20 s
    the log says so at most twice (a WARNING, at most one FATAL, no restart
    loop), and fib_text's hint in another database does not suggest
    fib_request, which would be refused."""
    with running([PRELOAD_PG_FIB, "pg_fib.workers = 1", "pg_fib.database = 'nosuchdb'"]) as c:
        start = time.monotonic()
        wait_for(lambda: time.monotonic() - start >= 20, 25, interval=0.5, what="20 s")
        with open(c.log, encoding="utf-8", errors="replace") as log:
            lines = log.read().splitlines()
        about_it = [line for line in lines if "nosuchdb" in line]
        exits = [line for line in lines if 'background worker "pg_fib' in line and "exited" in line]
        fatal = [line for line in about_it if "FATAL" in line]
        assert len(about_it) <= 2, about_it[:6] + [f"... {len(about_it)} lines in 20 s"]
        # the first attempt may end in FATAL before pg_fib knows; no loop of them
        assert len(fatal) <= 1, fatal[:4] + [f"... {len(fatal)} FATAL lines in 20 s"]
        assert len(exits) <= 2, exits[:4] + [f"... {len(exits)} exits in 20 s"]
        assert any("WARNING" in line for line in about_it), about_it

        with c.connect(autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_fib")
            with pytest.raises(errors.ObjectNotInPrerequisiteState) as refused:
                conn.execute("SELECT fib_text(10000000)")
            hint = refused.value.diag.message_hint or ""
            detail = refused.value.diag.message_detail or ""
            assert "fib_request" not in hint, hint
            assert "nosuchdb" in hint + detail, (hint, detail)

            # once the database is there, pg_fib connects within seconds
            # (not at a retry a minute later), with no more lines about it
            mark = len(lines)
            conn.execute("CREATE DATABASE nosuchdb")
        with c.connect(dbname="nosuchdb", autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_fib")
            conn.execute("SET statement_timeout = '20s'")
            start = time.monotonic()
            assert conn.execute("SELECT state FROM fib_wait(%s, '15 s')", (SYNC_MAX_N + 1,)).fetchone()[0] == "done"
            assert time.monotonic() - start < 8, "pg_fib took a retry interval to connect"
        with open(c.log, encoding="utf-8", errors="replace") as log:
            later = log.read().splitlines()[mark:]
        assert [line for line in later if "FATAL" in line or "WARNING" in line] == [], later


def _reconnect(node, old_keeper):
    """A connection to node once it is back from a crash restart, with a
    keeper other than old_keeper."""
    def ready():
        try:
            conn = node.connect(autocommit=True, connect_timeout=2)
        except psycopg.OperationalError:
            return None
        try:
            if keeper_pid(conn) not in (None, old_keeper):
                return conn
        except psycopg.OperationalError:
            pass
        conn.close()
        return None
    return wait_for(ready, 60, interval=0.2, what="the server and a new keeper after the crash")


def _running_by_new_worker(conn, n, old_worker):
    def running():
        row = job_row(conn, n)
        return row if row and row["state"] == "running" and row["worker_pid"] not in (None, old_worker) \
            and row["worker_pid"] in worker_pids(conn) else None
    return wait_for(running, 30, interval=0.05, what=f"F({n}) running again")


@pytest.fixture
def crashing_node():
    with running([PRELOAD_PG_FIB, "pg_fib.workers = 1", "pg_fib.max_attempts = 3"],
                 extension=True) as c:
        yield c


def _kill_9_three_times(node, n, victim):
    """Request F(n); three times, once it runs, kill -9 the victim ("keeper"
    or "worker") and wait for the crash restart and the job to run again.
    Returns a connection and the job's final row."""
    conn = node.connect(autocommit=True)
    conn.execute("SELECT fib_request(%s)", (n,))
    worker = None
    for _ in range(3):
        row = _running_by_new_worker(conn, n, worker)
        worker, keeper = row["worker_pid"], keeper_pid(conn)
        conn.close()
        os.kill(keeper if victim == "keeper" else worker, signal.SIGKILL)
        conn = _reconnect(node, keeper)
    final = wait_for(lambda: (lambda r: r if r and r["state"] in ("done", "failed") else None)(job_row(conn, n)),
                     60, interval=0.1, what=f"F({n}) to finish")
    return conn, final


def test_crashes_caused_by_the_keeper_are_not_attempts_of_the_job(crashing_node):
    """kill -9 of the keeper three times while a job runs (each a crash
    restart that also ends the worker): the job still ends done, with
    attempts 1."""
    conn, final = _kill_9_three_times(crashing_node, 60_000_000, "keeper")
    try:
        assert (final["state"], final["attempts"]) == ("done", 1), final
    finally:
        conn.close()


def test_crashes_of_the_worker_computing_the_job_are_attempts(crashing_node):
    """The other side: kill -9 of the worker computing the job,
    pg_fib.max_attempts (3) times, still ends it failed."""
    conn, final = _kill_9_three_times(crashing_node, 60_000_001, "worker")
    try:
        assert final["state"] == "failed", final
        assert final["attempts"] == 3, final
    finally:
        conn.close()
