"""Helpers shared by the suites that drive the queue."""

import hashlib
import os
import signal
import struct
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


def forget(conn, *ns):
    """Delete the memo rows and jobs of F(|n|) for each n of ns, so that
    they are computed afresh."""
    ns = [abs(n) for n in ns]
    conn.execute("DELETE FROM fib_memo WHERE n = ANY(%s)", (ns,))
    conn.execute("DELETE FROM fib_jobs WHERE n = ANY(%s)", (ns,))


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


def keeper_pid(conn):
    """The process id of the pg_fib keeper, or None when none runs."""
    row = conn.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_fib keeper'").fetchone()
    return None if row is None else row[0]


def restart_pg_fib_workers(conn, workers):
    """Terminate the keeper and the compute workers and wait until the
    postmaster has started new ones (it does about a second later)."""
    old = set(worker_pids(conn)) | {keeper_pid(conn)}
    conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type LIKE 'pg_fib%'")

    def restarted():
        now = set(worker_pids(conn))
        keeper = keeper_pid(conn)
        return len(now) == workers and not (now & old) and keeper is not None and keeper not in old
    wait_for(restarted, 15, interval=0.1, what="the pg_fib workers to restart")


class stopped:
    """A context that stops processes with SIGSTOP and always lets them go
    on (SIGCONT) when it is left, whatever happened inside."""

    def __init__(self, pids):
        self.pids = [p for p in pids if p]

    def __enter__(self):
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:  # ended meanwhile: nothing to stop
                pass
        return self

    def __exit__(self, *exc):
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        return False


def _workers_idle(conn, pids):
    """Whether the compute workers pids sleep on their latch, holding no lock."""
    return conn.execute(
        "SELECT count(*) = 0 FROM pg_stat_activity a WHERE a.pid = ANY(%s)"
        " AND (a.wait_event IS DISTINCT FROM 'Extension' OR a.xact_start IS NOT NULL"
        " OR EXISTS (SELECT FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'relation'))",
        (pids,)).fetchone()[0]


class idle_workers_stopped(stopped):
    """A context that stops the compute workers (SIGSTOP) while they are
    idle, so that jobs queued meanwhile stay queued, and always lets them go
    on when it is left."""

    def __init__(self, conn, timeout=60):
        self.conn = conn
        self.timeout = timeout
        super().__init__([])

    def __enter__(self):
        deadline = time.monotonic() + self.timeout
        while True:
            pids = worker_pids(self.conn)
            if pids and _workers_idle(self.conn, pids):
                self.pids = pids
                super().__enter__()
                if _workers_idle(self.conn, pids):
                    return self
                super().__exit__(None, None, None)
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {self.timeout} s waiting for idle workers")
            time.sleep(0.05)


def memo_groups(n):
    """The base-10000 digits of |F(n)|, most significant first, from gmpy2."""
    text = str(gmpy2.fib(abs(n)))
    text = text.zfill((len(text) + 3) // 4 * 4)
    return [int(text[i:i + 4]) for i in range(0, len(text), 4)]


def memo_bytes(groups):
    """Digits in the memo's value format: each a little-endian 16-bit integer."""
    return b"".join(struct.pack("<H", g) for g in groups)


def memo_row_value(n):
    """(value, digits) of a memo row of F(n), made independently of pg_fib."""
    return memo_bytes(memo_groups(n)), len(str(gmpy2.fib(abs(n))))
