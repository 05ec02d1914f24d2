"""The queue and the compute workers on the shared cluster (two workers, in
database "postgres"): one job per n however many ask, values checked against
an independent oracle, progress, rollback and read-only callers, a prompt
wake-up, two jobs at once, cancels honoured within 1 s, and a job that runs
out of memory failing cleanly after its attempts."""

import subprocess
import threading
import time

import psycopg
import pytest
from psycopg import errors

from cluster import as_owner
from jobs import (MAX_N, forget, job, job_row, oracle_digest, server_digest, wait_finished,
                  wait_for, wait_running, worker_pids)

SYNC_MAX_N = 3_000_000


def test_workers_are_visible(conn):
    types = [r[0] for r in conn.execute(
        "SELECT backend_type FROM pg_stat_activity WHERE backend_type LIKE '%pg_fib%'"
        " ORDER BY backend_type")]
    assert types == ["pg_fib keeper", "pg_fib worker", "pg_fib worker"]


def test_concurrent_requests_make_one_job_and_one_computation(connect):
    n = SYNC_MAX_N + 4321
    sessions = [connect() for _ in range(16)]
    forget(sessions[0], n)
    barrier = threading.Barrier(len(sessions))
    states, errors_seen = [], []

    def ask(c):
        try:
            barrier.wait(timeout=10)
            states.append(c.execute("SELECT state FROM fib_request(%s)", (n,)).fetchone()[0])
        except Exception as exc:
            errors_seen.append(repr(exc))

    threads = [threading.Thread(target=ask, args=(c,)) for c in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors_seen == []
    assert len(states) == 16 and set(states) <= {"queued", "running", "done"}

    finished = wait_finished(sessions[0], n)
    assert finished["state"] == "done"
    row = job_row(sessions[0], n)
    assert row["attempts"] == 1
    assert sessions[0].execute("SELECT count(*) FROM fib_memo WHERE n = %s", (n,)).fetchone()[0] == 1
    # asking again changes nothing
    again = sessions[1].execute("SELECT (fib_request(%s)).*", (n,)).fetchone()
    assert again[1] == "done" and job_row(sessions[0], n)["attempts"] == 1


@pytest.mark.parametrize("n", [SYNC_MAX_N + 1, 5_000_000, -7_777_776, 10_000_000])
def test_huge_values_match_oracle(conn, n):
    forget(conn, n)
    done = conn.execute("SELECT (fib_wait(%s, '2 minutes')).*", (n,)).fetchone()
    assert done[0] == n and done[1] == "done"
    expected = oracle_digest(n)
    assert done[3] == expected[0]
    assert server_digest(conn, n) == expected
    # the memo row is stored under |n| with the same digit count
    assert conn.execute("SELECT digits FROM fib_memo WHERE n = %s", (abs(n),)).fetchone()[0] == expected[0]


def test_largest_n_matches_oracle_and_progress_rises(conn):
    n = MAX_N
    forget(conn, n)
    conn.execute("SELECT fib_request(%s)", (n,))
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        j = job(conn, n)
        if j["state"] == "running":
            seen.append(j["progress"])
        if j["state"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert j["state"] == "done", j
    distinct = sorted(set(p for p in seen if 0 < p < 1))
    assert len(distinct) >= 3, seen
    assert seen == sorted(seen), "progress went backwards"
    assert server_digest(conn, n) == oracle_digest(n)


def test_request_survives_rollback_and_works_read_only(connect):
    n = SYNC_MAX_N + 777
    c = connect()
    forget(c, n)
    c.autocommit = False
    c.execute("BEGIN TRANSACTION READ ONLY")
    assert c.execute("SELECT state FROM fib_request(%s)", (n,)).fetchone()[0] in ("queued", "running", "done")
    assert c.execute("SELECT fib(100)::text").fetchone()[0] == "354224848179261915075"
    c.rollback()
    c.autocommit = True
    assert wait_finished(c, n)["state"] == "done"


def test_worker_wakes_at_once(connect):
    """A trivial job goes through the queue in a few milliseconds more than
    its computation: the keeper and the workers wake on their latches, not
    on a polling tick (the idle workers sleep 10 s between looks)."""
    c = connect()
    overheads = []
    for i in range(20):
        n = SYNC_MAX_N + 100 + i
        forget(c, n)
        start = time.monotonic()
        row = c.execute("SELECT state, compute_ms FROM fib_wait(%s)", (n,)).fetchone()
        elapsed_ms = (time.monotonic() - start) * 1000
        assert row[0] == "done"
        overheads.append(elapsed_ms - row[1])
    overheads.sort()
    assert overheads[len(overheads) // 2] < 50, overheads
    assert overheads[-1] < 500, overheads


def test_two_workers_run_two_jobs_at_once(conn):
    a, b = MAX_N - 1, MAX_N - 2
    forget(conn, a)
    forget(conn, b)
    conn.execute("SELECT fib_request(%s), fib_request(%s)", (a, b))

    def both_running():
        rows = conn.execute("SELECT worker_pid FROM fib_jobs WHERE n IN (%s, %s) AND state = 'running'",
                            (a, b)).fetchall()
        return len(rows) == 2 and rows[0][0] != rows[1][0]

    wait_for(both_running, 30, what="two jobs running at once")
    assert wait_finished(conn, a)["state"] == "done"
    assert wait_finished(conn, b)["state"] == "done"


def test_cancel_of_the_worker_is_honoured_within_1s(conn):
    n = MAX_N - 3
    forget(conn, n)
    conn.execute("SELECT fib_request(%s)", (n,))
    for threshold, phase_end in ((0.02, 0.15), (0.5, 1.0)):   # computing, then converting
        running = wait_running(conn, n, threshold)
        assert running["progress"] < phase_end, running
        pid = job_row(conn, n)["worker_pid"]
        start = time.monotonic()
        conn.execute("SELECT pg_cancel_backend(%s)", (pid,))
        finished = wait_finished(conn, n, timeout=5)
        assert time.monotonic() - start < 1.0
        assert finished["state"] == "failed"
        assert "canceling statement due to user request" in finished["error"]
        assert pid in worker_pids(conn), "the worker survives a cancel"
        # asking again requeues a failed job
        assert conn.execute("SELECT state FROM fib_request(%s)", (n,)).fetchone()[0] in ("queued", "running")
    assert wait_finished(conn, n)["state"] == "done"


def test_sigterm_of_the_worker_is_honoured_within_1s_and_the_job_completes(conn):
    n = MAX_N - 4
    forget(conn, n)
    conn.execute("SELECT fib_request(%s)", (n,))
    wait_running(conn, n, 0.3)
    pid = job_row(conn, n)["worker_pid"]
    start = time.monotonic()
    conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    wait_for(lambda: pid not in worker_pids(conn), 5, what="the worker to exit")
    assert time.monotonic() - start < 1.0
    done = wait_finished(conn, n)
    assert done["state"] == "done"
    assert job_row(conn, n)["attempts"] == 2
    wait_for(lambda: len(worker_pids(conn)) == 2, 10, what="the worker to restart")
    assert server_digest(conn, n) == oracle_digest(n)


def test_waiting_caller_honours_cancel_and_statement_timeout_within_1s(connect):
    n = MAX_N - 5
    c = connect()
    forget(c, n)
    c.execute("SET statement_timeout = '300ms'")
    start = time.monotonic()
    with pytest.raises(errors.QueryCanceled):
        c.execute("SELECT fib_wait(%s, '1 minute')", (n,))
    assert time.monotonic() - start < 1.3
    c.execute("RESET statement_timeout")

    other = connect()
    canceller = threading.Timer(0.3, lambda: other.execute("SELECT pg_cancel_backend(%s)", (c.info.backend_pid,)))
    start = time.monotonic()
    canceller.start()
    with pytest.raises(errors.QueryCanceled):
        c.execute("SELECT fib_wait(%s, '1 minute')", (n,))
    assert time.monotonic() - start < 1.3
    # the job itself goes on
    assert wait_finished(c, n)["state"] == "done"


def test_fib_wait_times_out_with_the_job_as_it_stands(conn):
    n = MAX_N - 6
    forget(conn, n)
    row = conn.execute("SELECT state FROM fib_wait(%s, '100 milliseconds')", (n,)).fetchone()
    assert row[0] in ("queued", "running")
    assert wait_finished(conn, n)["state"] == "done"


def _limit_address_space(pid, limit):
    """Cap the soft address-space limit of a server process.  Run as the
    owner of the process: the same user may lower a soft limit and raise it
    back up to the hard one without any capability."""
    subprocess.run(as_owner(["prlimit", f"--pid={pid}", f"--as={limit}:"]), check=True)


def _unlimit_address_space(pid):
    subprocess.run(as_owner(["prlimit", f"--pid={pid}", "--as=unlimited:"]), check=False)


def _address_space(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmSize")


def test_out_of_memory_fails_cleanly_after_bounded_attempts(conn):
    """With their address space capped just above what they use, the workers
    cannot compute F(10^8): each attempt ends in an ordinary "out of memory"
    ERROR, the job ends failed after pg_fib.max_attempts, and the same worker
    processes go on with the next job."""
    n = MAX_N - 7
    forget(conn, n)
    pids = worker_pids(conn)
    try:
        for pid in pids:
            _limit_address_space(pid, _address_space(pid) + 24 * 1024 * 1024)
        failed = dict(zip(["state", "error"], conn.execute(
            "SELECT state, error FROM fib_wait(%s, '2 minutes')", (n,)).fetchone()))
        assert failed["state"] == "failed", failed
        assert "out of memory" in failed["error"]
        assert job_row(conn, n)["attempts"] == 3
        assert worker_pids(conn) == pids, "no worker crashed"
    finally:
        for pid in pids:
            _unlimit_address_space(pid)
    small = SYNC_MAX_N + 999
    forget(conn, small)
    assert conn.execute("SELECT state FROM fib_wait(%s)", (small,)).fetchone()[0] == "done"
    assert worker_pids(conn) == pids


def test_out_of_memory_in_a_caller_is_a_clean_error(connect):
    """A backend that cannot map more memory gets an ordinary ERROR from
    the middle of an inline computation, and its session goes on."""
    c = connect()
    n = SYNC_MAX_N
    c.execute("SET pg_fib.memo_min_n = 2000000000")  # inline, whatever is memoized
    pid = c.info.backend_pid
    try:
        _limit_address_space(pid, _address_space(pid))
        with pytest.raises(errors.OutOfMemory) as refused:
            c.execute("SELECT length(fib_text(%s))", (n,))
        assert "pg_fib arithmetic" in refused.value.diag.message_detail
    finally:
        _unlimit_address_space(pid)
    assert c.execute("SELECT pg_backend_pid()").fetchone()[0] == pid
    assert c.execute("SELECT length(fib_text(%s))", (n,)).fetchone()[0] == 626963


def test_values_computed_inline_reach_the_memo_and_hits_are_counted(conn):
    n = 600_001
    forget(conn, n)
    expected = conn.execute("SELECT fib(%s)::text", (n,)).fetchone()[0]   # computed inline
    row = wait_for(lambda: conn.execute("SELECT digits, hits FROM fib_memo WHERE n = %s", (n,)).fetchone(),
                   30, what="the keeper and a worker to memoize F(n)")
    assert row == (len(expected), 0)
    for _ in range(3):
        assert conn.execute("SELECT fib(%s)::text", (n,)).fetchone()[0] == expected   # from the memo
    assert conn.execute("SELECT fib_text(%s)", (-n,)).fetchone()[0] == expected       # odd: positive
    wait_for(lambda: conn.execute("SELECT hits FROM fib_memo WHERE n = %s", (n,)).fetchone()[0] == 4,
             10, what="the hits to be counted")
    assert conn.execute("SELECT last_used IS NOT NULL FROM fib_memo WHERE n = %s", (n,)).fetchone()[0]
    # below pg_fib.memo_min_n nothing is memoized
    small = 4000
    conn.execute("SELECT fib(%s)", (small,))
    time.sleep(0.5)
    assert conn.execute("SELECT count(*) FROM fib_memo WHERE n = %s", (small,)).fetchone()[0] == 0


def _resident(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_cancelled_jobs_leave_nothing_behind_in_the_worker(conn):
    """Each attempt at F(10^8) holds some 60 MB of GMP memory at its peak; a
    cancel in the middle of the decimal conversion must give all of it back
    (the arena is deleted, the job's memory context reset).  After a first
    round on every worker, four more cancels leave their resident memory
    where it was."""
    n = MAX_N - 8
    forget(conn, n)
    pids = worker_pids(conn)

    def cancel_deep_into_the_job():
        conn.execute("SELECT fib_request(%s)", (n,))
        wait_running(conn, n, 0.5)
        conn.execute("SELECT pg_cancel_backend(%s)", (job_row(conn, n)["worker_pid"],))
        assert wait_finished(conn, n, timeout=5)["state"] == "failed"

    for _ in range(2 * len(pids)):
        cancel_deep_into_the_job()
    baseline = {pid: _resident(pid) for pid in pids}
    for _ in range(4):
        cancel_deep_into_the_job()
    assert worker_pids(conn) == pids
    growth = {pid: _resident(pid) - baseline[pid] for pid in pids}
    assert all(g < 20 * 1024 * 1024 for g in growth.values()), growth


def test_inline_computation_honours_cancel_timeout_and_terminate_within_1s(connect):
    """With pg_fib.sync_max_n raised to pg_fib.max_n (a superuser may), F(10^8)
    is computed inside the caller's query; statement_timeout, a cancel and a
    terminate still take effect within 1 s, in the computation and in the
    decimal conversion."""
    c = connect()
    c.execute("SET pg_fib.sync_max_n = 100000000; SET pg_fib.memo_min_n = 2000000000")
    for timeout in ("300ms", "1500ms"):          # computing, then converting
        c.execute(f"SET statement_timeout = '{timeout}'")
        start = time.monotonic()
        with pytest.raises(errors.QueryCanceled):
            c.execute("SELECT length(fib_text(100000000))")
        elapsed = time.monotonic() - start
        assert elapsed < float(timeout.rstrip("ms")) / 1000 + 1.0, elapsed
    c.execute("RESET statement_timeout")

    other = connect()
    pid = c.info.backend_pid
    threading.Timer(0.8, lambda: other.execute("SELECT pg_cancel_backend(%s)", (pid,))).start()
    start = time.monotonic()
    with pytest.raises(errors.QueryCanceled):
        c.execute("SELECT length(fib_text(100000000))")
    assert time.monotonic() - start < 1.8

    threading.Timer(0.8, lambda: other.execute("SELECT pg_terminate_backend(%s)", (pid,))).start()
    start = time.monotonic()
    with pytest.raises(psycopg.OperationalError):
        c.execute("SELECT length(fib_text(100000000))")
    wait_for(lambda: other.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
                                   (pid,)).fetchone()[0] == 0, 5, what="the backend to exit")
    assert time.monotonic() - start < 1.8


def test_out_of_memory_in_fib_is_a_clean_error(connect):
    c = connect()
    c.execute("SET pg_fib.memo_min_n = 2000000000")
    pid = c.info.backend_pid
    try:
        _limit_address_space(pid, _address_space(pid))
        with pytest.raises(errors.OutOfMemory):
            c.execute("SELECT fib(627177) IS NULL")
    finally:
        _unlimit_address_space(pid)
    assert c.execute("SELECT length(fib(627177)::text)").fetchone()[0] == 131072
