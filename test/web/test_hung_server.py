"""A database server that hangs instead of dying: every process of the
cluster stopped with SIGSTOP, so connections stay open, nothing answers,
and the server's own statement_timeout never fires.

Every call of the app on a connection has a client-side deadline
(FIB_WEB_STATEMENT_TIMEOUT_MS plus FIB_WEB_DEADLINE_MARGIN_SECONDS): a hung
replica is marked down and the primary answers; a hung primary is 503
within the deadline, through real Gunicorn and Nginx, never a worker
timeout (without the deadline: 0 requests completed in 45 s, then the
Gunicorn master died).
"""

import os
import random
import signal
import time

import http_raw as http
from conftest import Stack, make_app, replica_url
from jobs import stopped
from procs import children
from test_api import decimal

# A statement_timeout of 1 s: the deadline is 2 s.
STATEMENT_TIMEOUT_MS = 1000
DEADLINE = 2.0
# The watchdog's tick, scheduling and a loaded machine.
SLACK = 1.5


def postmaster_pid(cluster):
    with open(os.path.join(cluster.data, "postmaster.pid")) as f:
        return int(f.readline())


class Hung(stopped):
    """The cluster's processes stopped for the with block, then continued:
    the postmaster first, so that it starts no backend meanwhile, then
    every process it had started."""

    def __init__(self, cluster):
        self.cluster = cluster
        super().__init__([])

    def __enter__(self):
        postmaster = postmaster_pid(self.cluster)
        os.kill(postmaster, signal.SIGSTOP)
        self.pids = [postmaster] + children(postmaster)
        return super().__enter__()


def timed(get):
    start = time.monotonic()
    response = get()
    return response, time.monotonic() - start


def test_a_hung_replica_is_left_alone_and_the_primary_answers(database, standby):
    app = make_app(database, REPLICA_URLS=[replica_url(standby)],
                   STATEMENT_TIMEOUT_MS=STATEMENT_TIMEOUT_MS, REPLICA_RETRY_SECONDS=5)
    try:
        client = app.test_client()
        for n in (21, 22, 23, 24):  # a pooled connection to the replica
            assert client.get(f"/api/v1/fib/{n}").status_code == 200
        with Hung(standby):
            latencies = []
            for _ in range(12):
                n = random.randrange(30, 5000)
                response, seconds = timed(lambda: client.get(f"/api/v1/fib/{n}"))
                assert response.status_code == 200, response.get_data(as_text=True)
                assert response.get_json()["value"] == decimal(n)
                latencies.append(seconds)
        assert max(latencies) < DEADLINE + SLACK, latencies
        # Only the first request met the hung replica: it is left alone after.
        assert sorted(latencies)[-2] < 0.5, latencies
        assert app.extensions["pg_fib_pools"].replicas[0].down_until > 0
    finally:
        app.extensions["pg_fib_pools"].close()


def test_a_hung_primary_is_503_within_the_deadline_through_the_stack(database):
    stack = Stack(database, env={"FIB_WEB_STATEMENT_TIMEOUT_MS": str(STATEMENT_TIMEOUT_MS)})
    stack.start()
    try:
        assert http.get(stack.url, "/api/v1/fib/25").status == 200
        with Hung(database.cluster):
            answers = []
            for _ in range(6):
                path = f"/api/v1/fib/{random.randrange(10 ** 6, 2 * 10 ** 6)}"
                answer, seconds = timed(lambda: http.get(stack.url, path, timeout=30))
                answers.append((answer.status, seconds))
                assert answer.status == 503, answers
                assert answer.headers["content-type"] == "application/problem+json"
                assert int(answer.headers["retry-after"]) > 0
                assert seconds < DEADLINE + SLACK, answers
            health, seconds = timed(lambda: http.get(stack.url, "/healthz", timeout=30))
            assert health.status == 503 and seconds < DEADLINE + SLACK
        # Continued, the server answers again within seconds.
        deadline = time.monotonic() + 30
        while http.get(stack.url, "/api/v1/fib/26").status != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert stack.gunicorn.poll() is None
        with open(stack.gunicorn_log) as f:
            assert "WORKER TIMEOUT" not in f.read()
    except BaseException:
        with open(stack.gunicorn_log, errors="replace") as f:
            print(f.read()[-6000:])
        raise
    finally:
        stack.stop()
        database.wait_workers()
