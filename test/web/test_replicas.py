"""Read replicas: the web front against a primary and a hot standby of it
(PostgreSQL's streaming replication, pg_basebackup -R), on loopback.

Value lookups go to the replica; what it cannot answer yet (a value the
primary has not finished, or finished but the standby has not replayed)
goes to the primary; a replica that stops loses no request.  Which server
answered is read from the app's own metrics (fib_web_queries_total).
"""

import concurrent.futures
import random
import threading
import time

import pytest

from conftest import SYNC_MAX_N, make_app, replica_url
from test_api import decimal


@pytest.fixture
def app(database, standby):
    app = make_app(database, REPLICA_URLS=[replica_url(standby)], REPLICA_RETRY_SECONDS=1,
                   REPLICA_POOL_TIMEOUT=0.5)
    yield app
    app.extensions["pg_fib_pools"].close()


def queries(client):
    """(server, outcome) -> count, from /metrics."""
    counts = {}
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith("fib_web_queries_total{"):
            labels, value = line.rsplit(" ", 1)
            outcome = labels.split('outcome="')[1].split('"')[0]
            server = labels.split('server="')[1].split('"')[0]
            counts[server, outcome] = float(value)
    return counts


def delta(before, after):
    """The queries between two scrapes, less the first scrape's own (the
    queue's figures, read from the primary after the counters)."""
    after = dict(after)
    after["primary", "ok"] = after.get(("primary", "ok"), 0) - 1
    return {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)
            if after.get(k, 0) != before.get(k, 0)}


def wait_replayed(standby, n, timeout=30):
    """Until the standby has F(n)'s memo row."""
    deadline = time.monotonic() + timeout
    with standby.connect(autocommit=True) as conn:
        while not conn.execute("SELECT count(*) FROM fib_memo WHERE n = %s", (n,)).fetchone()[0]:
            assert time.monotonic() < deadline, "the standby did not replay the memo row"
            time.sleep(0.05)


def test_a_value_computed_on_the_primary_is_served_by_the_replica(app, database, standby):
    client = app.test_client()
    n = SYNC_MAX_N + random.randrange(700000, 800000)
    before = queries(client)
    r = client.get(f"/api/v1/fib/{n}")
    assert r.status_code == 202
    # The replica cannot queue (25006): the primary queued it.
    assert delta(before, queries(client)) == {("replica1", "deferred"): 1, ("primary", "ok"): 1}
    with database.su() as su:
        assert su.execute("SELECT state FROM fib_wait(%s, '60 s')", (n,)).fetchone() == ("done",)
    wait_replayed(standby, n)
    before = queries(client)
    r = client.get(f"/api/v1/fib/{n}")
    assert r.status_code == 200 and r.get_json()["source"] == "memo"
    assert r.get_json()["leading"] == decimal(n)[:20]
    assert delta(before, queries(client)) == {("replica1", "ok"): 1}
    # And the other value routes.
    before = queries(client)
    for url in (f"/api/v1/fib/{n}/digits", "/api/v1/fib/77/mod/5", "/api/v1/fib/123/about",
                "/get", f"/calculate/{n}"):
        assert client.get(url).status_code == 200, url
    assert delta(before, queries(client)) == {("replica1", "ok"): 5}
    # The job's state is the queue's, on the primary.
    before = queries(client)
    assert client.get(f"/api/v1/fib/{n}/job").get_json()["state"] == "done"
    assert delta(before, queries(client)) == {("primary", "ok"): 1}


def test_a_lagging_replica_does_not_turn_a_200_into_an_error(app, database, standby):
    """Replay paused on the standby: a value the primary finished since is
    not there yet, and the primary answers it."""
    client = app.test_client()
    with standby.connect(autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
        try:
            n = SYNC_MAX_N + random.randrange(800000, 900000)
            with database.su() as su:
                assert su.execute("SELECT state FROM fib_wait(%s, '60 s')", (n,)).fetchone() == \
                    ("done",)
            assert conn.execute("SELECT count(*) FROM fib_memo WHERE n = %s", (n,)).fetchone() == (0,)
            before = queries(client)
            r = client.get(f"/api/v1/fib/{n}")
            assert r.status_code == 200 and r.get_json()["trailing"] == decimal(n)[-20:]
            assert delta(before, queries(client)) == {("replica1", "deferred"): 1,
                                                      ("primary", "ok"): 1}
        finally:
            conn.execute("SELECT pg_wal_replay_resume()")


def test_replicas_take_turns(database, standby):
    app = make_app(database, REPLICA_URLS=[replica_url(standby)] * 2)
    try:
        client = app.test_client()
        before = queries(client)
        for _ in range(10):
            assert client.get("/api/v1/fib/6000").status_code == 200
        assert delta(before, queries(client)) == {("replica1", "ok"): 5, ("replica2", "ok"): 5}
        health = client.get("/healthz").get_json()
        assert health["replicas"] == [{"name": "replica1", "state": "up"},
                                      {"name": "replica2", "state": "up"}]
    finally:
        app.extensions["pg_fib_pools"].close()


def test_stopping_the_replica_loses_no_request(app, standby):
    """Four threads ask for memo hits while the standby stops (fast
    shutdown) and starts again: every request is answered 200, by the
    primary while the replica is down, by the replica again after."""
    client_lock = threading.Lock()
    stop = threading.Event()
    statuses = []

    def ask():
        client = app.test_client()
        while not stop.is_set():
            r = client.get(f"/api/v1/fib/{random.randrange(5000, 5100)}")
            with client_lock:
                statuses.append(r.status_code)

    client = app.test_client()
    for n in range(5000, 5100):  # memoize them on the primary
        client.get(f"/api/v1/fib/{n}")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(ask) for _ in range(4)]
        time.sleep(1)
        standby.stop(mode="fast")
        time.sleep(2)
        down = client.get("/healthz").get_json()
        assert down["status"] == "up" and down["replicas"] == [{"name": "replica1",
                                                               "state": "down"}]
        before = queries(client)
        time.sleep(1)
        during = delta(before, queries(client))
        standby.start()
        standby.wait_ready()
        time.sleep(3)
        stop.set()
        for future in futures:
            future.result()
    assert statuses and set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
    assert during.get(("primary", "ok"), 0) > 0 and ("replica1", "ok") not in during
    before = queries(client)
    for _ in range(5):
        assert client.get("/api/v1/fib/5050").status_code == 200
    assert delta(before, queries(client)).get(("replica1", "ok"), 0) >= 1
    print(f"{len(statuses)} requests while the replica stopped and started, all 200")
