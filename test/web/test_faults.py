"""Faults under load, through real Nginx, Gunicorn and PostgreSQL: each test
runs threads asking for memo hits and cached values while it breaks
something, and checks every answer.

- PostgreSQL restarted: 503 (with Retry-After) while it is down and nothing
  else, 200 again by itself after, and the jobs queued before are done.
- A compute worker, then the keeper, killed with SIGKILL (the postmaster
  restarts every backend): 503 at worst, recovery, the job completed.
- Nginx reloaded five times: no request dropped.
- Gunicorn's workers recycled (max_requests): no request dropped.
"""

import os
import random
import signal
import threading
import time

import pytest

import http_raw as http
import oracle
from conftest import ARTIFACTS, SYNC_MAX_N, Stack
from test_api import decimal

THREADS = 4
# The figures of each fault, for docs/operations.md.
REPORT = os.path.join(ARTIFACTS, "faults.md")


@pytest.fixture(scope="module", autouse=True)
def _fresh_report():
    os.makedirs(ARTIFACTS, exist_ok=True)
    with open(REPORT, "w") as f:
        f.write(f"Faults under load ({THREADS} threads), test/web/test_faults.py:\n\n")


def report(line):
    print("\n" + line)
    with open(REPORT, "a") as f:
        f.write(f"- {line}\n")


class Load:
    """THREADS threads asking for what reaches the database every time (F(n)
    mod m and /about of random n and m: never asked before, so never in
    Nginx's cache) and for a cached value, until stopped; every answer kept
    as (seconds since start, status or the exception)."""

    def __init__(self, url):
        self.url = url
        self.answers = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(THREADS)]
        self._lock = threading.Lock()
        self.start = None

    def _run(self):
        while not self._stop.is_set():
            draw = random.random()
            if draw < 0.4:
                path = f"/api/v1/fib/{random.randrange(5000, 5200)}/mod/{random.randrange(2, 2 ** 62)}"
            elif draw < 0.8:
                path = f"/api/v1/fib/{random.randrange(-2 ** 62, 2 ** 62)}/about"
            else:
                path = "/api/v1/fib/110"
            try:
                r = http.get(self.url, path, timeout=30)
                outcome = (r.status, r.headers)
            except OSError as error:
                outcome = (error, {})
            with self._lock:
                self.answers.append((time.monotonic() - self.start,) + outcome)

    def __enter__(self):
        self.start = time.monotonic()
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(60)

    def statuses(self, since=0.0):
        counts = {}
        for at, status, _ in self.answers:
            if at >= since:
                key = status if isinstance(status, int) else type(status).__name__
                counts[key] = counts.get(key, 0) + 1
        return counts

    def now(self):
        return time.monotonic() - self.start

    def last_failure(self):
        """When the last answer other than 200 came (0 if none)."""
        return max([at for at, status, _ in self.answers if status != 200], default=0.0)


def memoize(stack, database):
    for n in range(5000, 5200):
        r = http.get(stack.url, f"/api/v1/fib/{n}")
        if r.status != 200:
            with database.su() as su:
                activity = su.execute(
                    "SELECT usename, backend_type, state, count(*) FROM pg_stat_activity"
                    " GROUP BY 1, 2, 3").fetchall()
            pools = [line for line in http.get(stack.url, "/metrics").text.splitlines()
                     if line.startswith(("fib_web_pool", "fib_web_queries"))]
            pytest.fail(f"{r.status} {r.body}: {activity}\n{pools}\n"
                        + "".join(stack.gunicorn_lines("")[-60:]))
    with database.su() as su:
        deadline = time.monotonic() + 60
        while su.execute("SELECT count(*) FROM fib_memo WHERE n BETWEEN 5000 AND 5199"
                         ).fetchone()[0] < 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)


def wait_recovered(stack, load, timeout=60):
    """Until /healthz says up and the load's last 2 s of answers were all
    200 (every Gunicorn worker answers again); the load's time then."""
    deadline = time.monotonic() + timeout
    while http.get(stack.url, "/healthz").status != 200:
        assert time.monotonic() < deadline, "no recovery"
        time.sleep(0.2)
    while True:
        now = load.now()
        recent = load.statuses(since=now - 2)
        if recent and recent.keys() == {200} and now - load.last_failure() >= 2:
            return load.last_failure()
        assert time.monotonic() < deadline, f"no recovery: {recent}"
        time.sleep(0.2)


def assert_only_200_and_503(load):
    statuses = load.statuses()
    assert set(statuses) <= {200, 503}, statuses
    for _, status, headers in load.answers:
        if status == 503:
            assert headers.get("retry-after") and \
                headers.get("content-type") == "application/problem+json"


def pid_of(database, backend_type):
    with database.su() as su:
        rows = su.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = %s",
                          (backend_type,)).fetchall()
    assert rows, backend_type
    return rows[0][0]


def test_postgres_restarted_under_load(stack, database):
    memoize(stack, database)
    queued = [SYNC_MAX_N + random.randrange(3000000, 4000000) for _ in range(3)]
    for n in queued:
        assert http.get(stack.url, f"/api/v1/fib/{n}").status == 202
    with Load(stack.url) as load:
        time.sleep(1)
        database.stop()
        stopped = load.now()
        # A request waits up to FIB_WEB_POOL_TIMEOUT (5 s) for a connection.
        time.sleep(8)
        down = load.statuses(since=stopped + 6)
        database.start()
        started = load.now()
        recovered = wait_recovered(stack, load)
        time.sleep(1)
    report(f"PostgreSQL down {started - stopped:.1f} s, last 503 {recovered - started:.1f} s "
           f"after its start; answers: {load.statuses()}")
    assert_only_200_and_503(load)
    assert down.get(503, 0) > 0 and down.get(200, 0) <= down.get(503, 0)
    assert load.statuses(since=recovered + 0.01).keys() == {200}
    with database.su() as su:
        for n in queued:
            row = su.execute("SELECT state, digits FROM fib_wait(%s, '120 s')", (n,)).fetchone()
            assert row == ("done", len(decimal(n))), (n, row)


@pytest.mark.parametrize("backend_type", ["pg_fib worker", "pg_fib keeper"])
def test_pg_fib_process_killed_under_load(stack, database, backend_type):
    """SIGKILL of a backend makes the postmaster restart them all: the web
    answers 503 for a moment, recovers by itself, and the job that was
    computing is computed again, right."""
    memoize(stack, database)
    n = 40000000 + random.randrange(1, 1000000)
    assert http.get(stack.url, f"/api/v1/fib/{n}").status == 202
    with database.su() as su:
        deadline = time.monotonic() + 30
        while su.execute("SELECT state FROM fib_status(%s)", (n,)).fetchone()[0] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.02)
    with Load(stack.url) as load:
        time.sleep(1)
        os.kill(pid_of(database, backend_type), signal.SIGKILL)
        killed = load.now()
        time.sleep(1)
        database.cluster.wait_ready()
        database.wait_workers()
        recovered = max(wait_recovered(stack, load), killed)
        time.sleep(1)
    report(f"{backend_type} killed: last 503 {recovered - killed:.1f} s later; "
           f"answers: {load.statuses()}")
    assert_only_200_and_503(load)
    assert load.statuses(since=recovered + 0.01).keys() == {200}
    with database.su() as su:
        row = su.execute("SELECT state, digits, right(fib_text(n), 20) FROM fib_wait(%s, '120 s')",
                         (n,)).fetchone()
    assert row == ("done", len(decimal(n)), str(oracle.fib(n) % 10 ** 20).zfill(20)), row


def test_nginx_reloaded_under_load_drops_nothing(stack, database):
    memoize(stack, database)
    with Load(stack.url) as load:
        for _ in range(5):
            time.sleep(0.5)
            stack.reload_nginx()
        time.sleep(1)
    report(f"Nginx reloaded 5 times: answers {load.statuses()}")
    assert load.statuses().keys() == {200}, load.statuses()


def test_gunicorn_workers_recycled_under_load_drop_nothing(database):
    """max_requests of 100 (production: 20000): the workers are replaced
    about every 100 requests while the load goes on."""
    stack = Stack(database, env={"GUNICORN_MAX_REQUESTS": "100",
                                 "GUNICORN_MAX_REQUESTS_JITTER": "10"})
    try:
        stack.start()
        memoize(stack, database)
        with Load(stack.url) as load:
            deadline = time.monotonic() + 120
            while len(stack.gunicorn_lines("Autorestarting worker")) < 6:
                assert time.monotonic() < deadline, "the workers were not recycled"
                time.sleep(0.2)
            time.sleep(1)
        booted = len(stack.gunicorn_lines("Booting worker with pid"))
        report(f"Gunicorn (max_requests 100): {booted} workers booted for {len(load.answers)} "
               f"requests: {load.statuses()}")
        assert booted >= 2 + 6
        assert load.statuses().keys() == {200}, load.statuses()
    finally:
        stack.stop()
