"""Each client has its own share of the queue.

The app names each client to pg_fib (fib_request(n, requester), the key
web.requester derives from its address), and its connections bound a
client's jobs queued or running (FIB_WEB_MAX_JOBS_PER_CLIENT, as
pg_fib.max_queued_per_requester).  One client asking for many large values
gets 503 with Retry-After for new ones beyond its share; another client's
new value is queued meanwhile (202).  How the workers take turns between
clients is test/python/test_fairness.py's.
"""

import json
import random

import pytest

import http_raw as http
from conftest import Stack, make_app
from web import DEFAULTS
from web.requester import key_of

# Above the suites' pg_fib.sync_max_n (3,000,000), so that each is a job,
# and long enough (about a second each) to be still queued or running while
# a test asks for the next; a random base so that no earlier test has them.
BASE = 20_000_000 + random.randrange(0, 1_000_000, 100)


def _ns(count, offset):
    return [BASE + offset + i for i in range(count)]


def _wait_done(database, ns):
    """Let the jobs these tests queued finish, so that later tests find
    the workers free."""
    with database.su() as conn:
        for n in ns:
            conn.execute("SELECT fib_wait(%s, interval '60 seconds')", (n,))


@pytest.fixture(scope="module")
def app2(database):
    app = make_app(database, MAX_JOBS_PER_CLIENT=2)
    yield app
    app.extensions["pg_fib_pools"].close()


def _get(app, n, address):
    return app.test_client().get(f"/api/v1/fib/{n}", environ_base={"REMOTE_ADDR": address})


def test_a_client_beyond_its_share_gets_503_while_another_is_queued(app2, database):
    attacker, bystander = "192.0.2.1", "192.0.2.2"
    mine = _ns(3, 0)
    other = _ns(1, 10)[0]
    try:
        assert [_get(app2, n, attacker).status_code for n in mine[:2]] == [202, 202]
        refused = _get(app2, mine[2], attacker)
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "10"
        problem = refused.get_json()
        assert problem["type"].endswith("/problems/sqlstate-53400")
        assert "This client already has 2 computations" in problem["detail"]
        # The refusal queued nothing.
        assert app2.test_client().get(f"/api/v1/fib/{mine[2]}/job").status_code == 404
        # Meanwhile another client's new n is queued, and a job already
        # queued is anyone's: the attacker's own again, and the bystander's.
        assert _get(app2, other, bystander).status_code == 202
        assert _get(app2, mine[0], attacker).status_code == 202
        assert _get(app2, mine[1], bystander).status_code == 202
    finally:
        _wait_done(database, mine[:2] + [other])
    # Its jobs done, the client is served again.
    assert _get(app2, mine[2], attacker).status_code in (200, 202)
    _wait_done(database, mine[2:])


def test_an_ipv6_client_is_its_slash_64(app2, database):
    ns = _ns(4, 20)
    try:
        assert _get(app2, ns[0], "2001:db8:0:1::1").status_code == 202
        assert _get(app2, ns[1], "2001:db8:0:1:aaaa::2").status_code == 202
        assert _get(app2, ns[2], "2001:db8:0:1:ffff:ffff:ffff:ffff").status_code == 503
        assert _get(app2, ns[3], "2001:db8:0:2::1").status_code == 202
    finally:
        _wait_done(database, ns[:2] + ns[3:])


@pytest.mark.parametrize("address, key", [
    ("203.0.113.7", "ip:203.0.113.7"),
    ("2001:db8:1:2:3:4:5:6", "net:2001:db8:1:2::/64"),
    ("::ffff:203.0.113.7", "ip:203.0.113.7"),
    ("::1", "ip:::1"),
    ("", "local"),
    (None, "local"),
    ("unix:/run/x.sock", "local"),
])
def test_the_key_of_an_address(address, key):
    assert key_of(address) == key
    assert 1 <= len(key) <= 63 and all("!" <= c <= "~" for c in key)


def test_a_client_cannot_choose_its_key_through_nginx(database):
    """X-Forwarded-For from the client does not make it another client:
    Nginx appends the address it sees and the app takes that one."""
    stack = Stack(database, env={"FIB_WEB_MAX_JOBS_PER_CLIENT": "1"})
    ns = _ns(3, 30)
    try:
        stack.start()
        first = http.get(stack.url, f"/api/v1/fib/{ns[0]}", source="127.0.0.5",
                         headers=["X-Forwarded-For: 198.51.100.1"])
        second = http.get(stack.url, f"/api/v1/fib/{ns[1]}", source="127.0.0.5",
                          headers=["X-Forwarded-For: 198.51.100.2"])
        other = http.get(stack.url, f"/api/v1/fib/{ns[2]}", source="127.0.0.6")
        assert (first.status, second.status, other.status) == (202, 503, 202)
        assert second.headers["retry-after"] == "10"
        assert json.loads(second.body)["type"].endswith("/problems/sqlstate-53400")
    finally:
        stack.stop()
        _wait_done(database, [ns[0], ns[2]])


@pytest.fixture(scope="module")
def app10(database):
    app = make_app(database, MAX_JOBS_PER_CLIENT=DEFAULTS["MAX_JOBS_PER_CLIENT"])
    yield app
    app.extensions["pg_fib_pools"].close()


def test_another_clients_job_is_not_queued_behind_a_backlog(app10, database):
    """One client queues its share of large values (and is refused more);
    a second client's value, asked after, starts as soon as a worker is
    free, before most of the first client's backlog (FIFO started it
    last)."""
    attacker, bystander = "192.0.2.9", "192.0.2.10"
    # About 1.3 s each on a worker of this machine.
    backlog = [BASE + 40_000_000 + 100 * i for i in range(15)]
    mine = BASE + 50
    try:
        statuses = [_get(app10, n, attacker).status_code for n in backlog]
        assert statuses == [202] * 10 + [503] * 5
        assert _get(app10, mine, bystander).status_code == 202
    finally:
        _wait_done(database, backlog[:10] + [mine])
    with database.su() as conn:
        started = dict(conn.execute(
            "SELECT n, started_at FROM fib_jobs WHERE n = ANY(%s)", (backlog[:10] + [mine],)))
    after = sum(started[n] > started[mine] for n in backlog[:10])
    # 2 workers: at most the 2 jobs running (and one claimed as the request
    # arrived) start before it.
    assert after >= 7, (after, started)
