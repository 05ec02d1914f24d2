"""End to end through real Gunicorn and Nginx on free loopback ports."""

import concurrent.futures
import hashlib
import random
import time

import http_raw as http
from conftest import SYNC_MAX_N
from procs import children
from test_api import decimal

IMMUTABLE = "public, max-age=31536000, immutable"


def test_value_through_the_stack(stack):
    r = http.get(stack.url, "/api/v1/fib/32")
    assert r.status == 200 and r.json()["value"] == "2178309"
    assert r.headers["cache-control"] == IMMUTABLE and r.headers["etag"].startswith('"')
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "server" not in r.headers or r.headers["server"] == "nginx"


def test_proxy_fix_sees_the_client_through_nginx(stack):
    r = http.get(stack.url, f"/api/v1/fib/{SYNC_MAX_N + random.randrange(300000, 400000)}")
    assert r.status == 202
    # Location is a path; the app built it behind ProxyFix.
    assert r.headers["location"].startswith("/api/v1/fib/")


def test_a_hot_value_is_answered_by_nginx_alone(stack):
    n = random.randrange(10000, 20000)
    path = f"/api/v1/fib/{n}"
    first = http.get(stack.url, path)
    second = http.get(stack.url, path)
    assert first.status == second.status == 200
    assert first.headers["x-cache-status"] == "MISS"
    assert second.headers["x-cache-status"] == "HIT"
    assert second.body == first.body and second.json()["value"] == decimal(n)
    time.sleep(0.2)
    assert len(stack.gunicorn_lines(f'"GET {path} HTTP/1.')) == 1


def test_a_range_is_answered_by_nginx_alone_and_keyed_by_its_query(stack):
    """The second request of a range comes from Nginx's cache; another range
    of the same path is another entry, never the first one's answer."""
    first = random.randrange(20000, 30000)
    path = f"/api/v1/fib?from={first}&to={first + 5}"
    other = f"/api/v1/fib?from={first}&to={first + 6}"
    answers = [http.get(stack.url, p) for p in (path, path, other, other)]
    assert [a.status for a in answers] == [200] * 4
    assert [a.headers["x-cache-status"] for a in answers] == ["MISS", "HIT", "MISS", "HIT"]
    assert answers[1].body == answers[0].body and answers[3].body == answers[2].body
    items = answers[1].json()["items"]
    assert [item["value"] for item in items] == [decimal(n) for n in range(first, first + 6)]
    assert answers[3].json()["items"][-1]["value"] == decimal(first + 6)
    assert answers[1].headers["cache-control"] == IMMUTABLE
    time.sleep(0.2)
    for p in (path, other):
        assert len(stack.gunicorn_lines(f'"GET {p} HTTP/1.')) == 1


def test_a_range_written_otherwise_is_never_cached(stack):
    """Every other way of writing a cached range reaches the app each time
    (301 or 400, no-store): no entries added, none served under another key."""
    first = random.randrange(30000, 40000)
    canonical = f"from={first}&to={first + 3}"
    assert http.get(stack.url, f"/api/v1/fib?{canonical}").status == 200
    for query, status in ((f"to={first + 3}&from={first}", 301),
                          (f"from=0{first}&to={first + 3}", 301),
                          (f"{canonical}&", 301), (f"{canonical}&x=1", 400),
                          (f"{canonical}&from={first}", 400)):
        path = f"/api/v1/fib?{query}"
        for _ in range(2):
            r = http.get(stack.url, path)
            assert r.status == status, (path, r.body)
            assert r.headers["x-cache-status"] != "HIT"
            assert r.headers["cache-control"] == "no-store"
        if status == 301:
            assert r.headers["location"] == f"/api/v1/fib?{canonical}"
        time.sleep(0.2)
        assert len(stack.gunicorn_lines(f'"GET {path} HTTP/1.')) == 2, path


def test_202_and_errors_are_not_cached(stack):
    n = SYNC_MAX_N + random.randrange(400000, 500000)
    for path in (f"/api/v1/fib/{n}", f"/api/v1/fib/{n}.5"):
        for _ in range(2):
            r = http.get(stack.url, path)
            assert r.headers["x-cache-status"] != "HIT"
            assert r.headers["cache-control"] == "no-store"
        time.sleep(0.2)
        assert len(stack.gunicorn_lines(f'"GET {path} HTTP/1.')) == 2


def test_if_none_match_through_nginx_is_304(stack):
    r = http.get(stack.url, "/api/v1/fib/55")
    again = http.get(stack.url, "/api/v1/fib/55", [f"If-None-Match: {r.headers['etag']}"])
    assert again.status == 304 and again.body == b""
    uncached = http.get(stack.gunicorn_url, "/api/v1/fib/55",
                        [f"If-None-Match: {r.headers['etag']}"])
    assert uncached.status == 304


def test_a_conditional_request_never_leaves_a_304_in_the_cache(stack):
    """The ETags are predictable (a value's name), so anyone can send the
    right If-None-Match for a value nobody has asked for yet: the app's 304
    must stay that client's answer, not become the cached one that every
    later client gets, without a body, for a year."""
    n = random.randrange(40000, 50000)
    for path in (f"/api/v1/fib/{n}", f"/api/v1/fib/{n}/digits", f"/api/v1/fib/{n}/about",
                 f"/api/v1/fib/{n}/mod/1000000007", f"/api/v1/fib?from={n}&to={n + 2}"):
        etag = http.get(stack.gunicorn_url, path).headers["etag"]
        conditional = http.get(stack.url, path, [f"If-None-Match: {etag}"])
        assert conditional.status == 304, path
        plain = http.get(stack.url, path)
        assert plain.status == 200 and plain.body, (path, plain.status)
        # Stored now: the next plain request is a hit, with the body.
        again = http.get(stack.url, path)
        assert again.status == 200 and again.body == plain.body, path
        assert again.headers["x-cache-status"] == "HIT", path


def test_queued_n_from_202_to_200(stack):
    n = SYNC_MAX_N + random.randrange(500000, 600000)
    r = http.get(stack.url, f"/api/v1/fib/{n}")
    assert r.status == 202 and r.headers["retry-after"]
    location = r.headers["location"]
    deadline = time.monotonic() + 60
    while True:
        job = http.get(stack.url, location)
        assert job.status == 200
        if job.json()["state"] == "done":
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    r = http.get(stack.url, f"/api/v1/fib/{n}")
    assert r.status == 200 and r.json()["source"] == "memo"
    assert r.json()["leading"] == decimal(n)[:20]


def _rss_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def test_digits_stream_through_nginx_without_copies_in_the_worker(stack, client):
    n = 30000000  # 6,269,630 digits
    deadline = time.monotonic() + 120
    while http.get(stack.url, f"/api/v1/fib/{n}").status != 200:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    pids = children(stack.gunicorn.pid)
    before = {pid: _rss_kb(pid, "VmHWM") for pid in pids}
    r = http.get(stack.url, f"/api/v1/fib/{n}/digits")
    assert r.status == 200
    assert r.headers["content-length"] == str(len(r.body))
    assert r.headers["content-disposition"] == f"attachment; filename=fib-{n}.txt"
    assert hashlib.sha256(r.body).hexdigest() == \
        hashlib.sha256(decimal(n).encode()).hexdigest()
    growth_kb = max(_rss_kb(pid, "VmHWM") - before[pid] for pid in pids)
    print(f"digits of F({n}): {len(r.body)} bytes, worker peak RSS growth {growth_kb} kB")
    # One copy of the value would be 6 MB: the worker holds a chunk or two.
    assert growth_kb * 1024 < len(r.body) / 2
    # Sent as it is, even to a client that would take gzip (test_denial.py).
    plain = http.get(stack.url, f"/api/v1/fib/{n}/digits", ["Accept-Encoding: gzip"])
    assert "content-encoding" not in plain.headers and plain.body == r.body


def test_nginx_answers_json_when_gunicorn_is_down(stack):
    from cluster import free_port
    with stack.extra_nginx(f"127.0.0.1:{free_port()}", "50r/s", "100") as url:
        r = http.get(url, "/api/v1/fib/5")
        assert r.status == 502
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == 502 and r.headers["retry-after"]


def test_a_burst_gets_json_429_with_retry_after(stack):
    """The default limit of deploy/run.sh (50r/s, burst 100) in front of the
    same Gunicorn, and a burst of 400 requests from one address."""
    with stack.extra_nginx(f"127.0.0.1:{stack.gunicorn_port}", "50r/s", "100") as url:
        path = "/api/v1/fib/21"

        def one(_):
            return http.get(url, path)

        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            answers = list(pool.map(one, range(400)))
    limited = [a for a in answers if a.status == 429]
    assert limited, "no 429 in a burst of 400"
    assert all(a.status in (200, 429) for a in answers)
    for a in limited[:5]:
        assert a.headers["content-type"] == "application/problem+json"
        assert a.headers["retry-after"] == "1"
        assert a.headers["cache-control"] == "no-store"
        assert a.json()["status"] == 429


def test_database_stopped_gives_503_and_recovery_after_start(stack, database):
    database.stop()
    try:
        for path in ("/api/v1/fib/6543", "/api/v1/fib/6543", "/calculate/33", "/healthz"):
            r = http.get(stack.url, path)
            assert r.status == 503, (path, r.body)
            assert r.headers["retry-after"]
            if path != "/healthz":
                assert r.headers["content-type"] == "application/problem+json"
        assert http.get(stack.url, "/healthz").json()["database"] == "down"
        # A cached value is still served.
        assert http.get(stack.url, "/api/v1/fib/32").status == 200
    finally:
        database.start()
    # Every Gunicorn worker answers again by itself: one that found the
    # database down answers 503 at once for PRIMARY_RETRY_SECONDS (1 s,
    # counted from a failure before database.start()), and then its next
    # request probes the server with a fresh pool.  So a second after the
    # start, every request is answered, the first of each worker too.
    time.sleep(1.0)
    for i in range(20):
        r = http.get(stack.url, f"/api/v1/fib/{6000 + i}")
        assert r.status == 200, (i, r.body, "".join(stack.gunicorn_lines("")[-30:]))
    health = http.get(stack.url, "/healthz")
    assert health.status == 200, health.body
