"""Crashes, really caused, on clusters of their own: kill -9 of a worker in
the middle of a huge job, an immediate stop, a fast stop that must stop the
worker within 1 s; and loading pg_fib any other way than
shared_preload_libraries."""

import os
import signal
import time

import psycopg
import pytest
from psycopg import errors

from cluster import PRELOAD_PG_FIB, running
from jobs import MAX_N, job_row, oracle_digest, server_digest, wait_finished, wait_for, wait_running, worker_pids


@pytest.fixture
def node():
    with running([PRELOAD_PG_FIB], extension=True) as c:
        yield c


def _connect_when_ready(node, timeout=60):
    return wait_for(lambda: _try_connect(node), timeout, interval=0.2, what="the server to accept connections")


def _try_connect(node):
    try:
        return node.connect(autocommit=True, connect_timeout=2)
    except psycopg.OperationalError:
        return None


def _check_single_exact_result(conn, n):
    assert conn.execute("SELECT count(*) FROM fib_memo WHERE n = %s", (n,)).fetchone()[0] == 1
    assert server_digest(conn, n) == oracle_digest(n)


def test_kill_9_of_the_worker_mid_job(node):
    n = MAX_N
    with node.connect(autocommit=True) as conn:
        conn.execute("SELECT fib_request(%s)", (n,))
        wait_running(conn, n, 0.3)
        pid = job_row(conn, n)["worker_pid"]
    os.kill(pid, signal.SIGKILL)

    # the postmaster resets every session and restarts the workers; the
    # keeper requeues the job the dead worker held
    time.sleep(0.5)
    conn = _connect_when_ready(node)
    try:
        done = wait_finished(conn, n, timeout=120)
        assert done["state"] == "done", done
        assert job_row(conn, n)["attempts"] == 2
        assert pid not in worker_pids(conn)
        _check_single_exact_result(conn, n)
    finally:
        conn.close()


def test_immediate_stop_mid_job(node):
    n = MAX_N - 11
    with node.connect(autocommit=True) as conn:
        conn.execute("SELECT fib_request(%s)", (n,))
        wait_running(conn, n, 0.5)
    node.stop(mode="immediate")
    node.start()
    conn = _connect_when_ready(node)
    try:
        done = wait_finished(conn, n, timeout=120)
        assert done["state"] == "done", done
        # the worker was stopped by the server's immediate shutdown, not by
        # its job: that attempt does not count
        assert job_row(conn, n)["attempts"] == 1
        _check_single_exact_result(conn, n)
    finally:
        conn.close()


def test_fast_stop_stops_the_worker_within_1s_and_the_job_completes_after(node):
    n = MAX_N - 12
    with node.connect(autocommit=True) as conn:
        conn.execute("SELECT fib_request(%s)", (n,))
        wait_running(conn, n, 0.3)
        pid = job_row(conn, n)["worker_pid"]
    start = time.monotonic()
    node.stop(mode="fast")
    stopped = time.monotonic() - start
    assert not os.path.exists(f"/proc/{pid}")
    assert stopped < 1.0, stopped
    node.start()
    conn = _connect_when_ready(node)
    try:
        assert wait_finished(conn, n, timeout=120)["state"] == "done"
        _check_single_exact_result(conn, n)
    finally:
        conn.close()


def test_loading_without_shared_preload_libraries_is_refused():
    with running() as c, c.connect(autocommit=True) as conn:
        with pytest.raises(errors.ObjectNotInPrerequisiteState) as refused:
            conn.execute("CREATE EXTENSION pg_fib")
        assert "pg_fib can only be loaded via shared_preload_libraries" in str(refused.value)
        assert "Add pg_fib to the shared_preload_libraries" in refused.value.diag.message_hint
        with pytest.raises(errors.ObjectNotInPrerequisiteState):
            conn.execute("LOAD 'pg_fib'")
