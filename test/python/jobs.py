"""Helpers shared by the suites that drive the queue."""

import hashlib
import time

import gmpy2

MAX_N = 100_000_000


def wait_for(predicate, timeout, interval=0.02, what="condition"):
    """Poll predicate until it returns something true; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def job(conn, n):
    """The job row of F(n) as a dict (fib_status), or None."""
    cur = conn.execute("SELECT (fib_status(%s)).*", (n,))
    row = cur.fetchone()
    if row is None or row[0] is None:
        return None
    return dict(zip([c.name for c in cur.description], row))


def job_row(conn, n):
    """The raw fib_jobs row of F(|n|), with attempts and worker_pid."""
    cur = conn.execute("SELECT * FROM fib_jobs WHERE n = %s", (abs(n),))
    row = cur.fetchone()
    return None if row is None else dict(zip([c.name for c in cur.description], row))


def forget(conn, n):
    """Delete F(|n|)'s memo row and job, so that it is computed afresh."""
    conn.execute("DELETE FROM fib_memo WHERE n = %s", (abs(n),))
    conn.execute("DELETE FROM fib_jobs WHERE n = %s", (abs(n),))


def worker_pids(conn):
    return [r[0] for r in conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_fib worker' ORDER BY pid")]


def wait_running(conn, n, min_progress=0.0, timeout=30):
    """Wait until a worker computes F(n) and has got past min_progress."""
    def running():
        j = job(conn, n)
        return j if j and j["state"] == "running" and j["progress"] > min_progress else None
    return wait_for(running, timeout, what=f"F({n}) running past {min_progress}")


def wait_finished(conn, n, timeout=120):
    def finished():
        j = job(conn, n)
        return j if j and j["state"] in ("done", "failed") else None
    return wait_for(finished, timeout, interval=0.05, what=f"F({n}) to finish")


def oracle_digest(n):
    """Digit count, leading and trailing digits and SHA-256 of the decimal
    F(n), from GMP through gmpy2: independent of pg_fib's code."""
    text = str(gmpy2.fib(abs(n)))
    if n < 0 and abs(n) % 2 == 0:
        text = "-" + text
    return (len(text.lstrip("-")), text[:30], text[-30:],
            hashlib.sha256(text.encode()).hexdigest())


def server_digest(conn, n):
    text = conn.execute("SELECT fib_text(%s)", (n,)).fetchone()[0]
    return (len(text.lstrip("-")), text[:30], text[-30:],
            hashlib.sha256(text.encode()).hexdigest())


def reload_setting(conn, setting, value):
    """Set a reload-time setting for the whole cluster and reload."""
    conn.execute(f"ALTER SYSTEM SET {setting} = '{value}'")
    conn.execute("SELECT pg_reload_conf()")
    time.sleep(0.3)


def reset_setting(conn, setting):
    conn.execute(f"ALTER SYSTEM RESET {setting}")
    conn.execute("SELECT pg_reload_conf()")
    time.sleep(0.3)
