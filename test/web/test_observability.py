"""What an operator sees, through real Nginx, Gunicorn and PostgreSQL: a
request's id in all three logs, /metrics added up over the Gunicorn workers
and refused to other addresses than loopback, and Nginx's own answers (its
errors, its cache) keeping the rules of the app's."""

import concurrent.futures
import os
import random
import re
import time

import pytest

import http_raw as http

SECURITY_HEADERS = ("x-content-type-options", "referrer-policy", "content-security-policy",
                    "x-frame-options")
REQUEST_ID = re.compile(r"[0-9a-f]{32}")
# deploy/run.sh's server settings (make run): the application_name (%a) in
# every line, and every statement of 500 ms or more logged.
LOG_LINE_PREFIX = "%m [%p] %q%u@%d %a: "


def server_settings(database, **settings):
    """ALTER SYSTEM SET each setting and reload; RESET them by calling the
    result."""
    with database.su() as su:
        for name, value in settings.items():
            su.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        su.execute("SELECT pg_reload_conf()")

    def reset():
        with database.su() as su:
            for name in settings:
                su.execute(f"ALTER SYSTEM RESET {name}")
            su.execute("SELECT pg_reload_conf()")
    time.sleep(0.5)  # every backend reads the file at its next command
    return reset


def lines_with(path, needle, timeout=5.0):
    """The lines of the log at path that contain needle, waiting for one."""
    deadline = time.monotonic() + timeout
    while True:
        with open(path, errors="replace") as f:
            found = [line for line in f if needle in line]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_a_request_is_found_by_its_id_in_every_log(stack, database):
    """Nginx's access log, Gunicorn's and PostgreSQL's (a slow statement, and
    an error) carry the id Nginx gave the request, which its answer shows."""
    reset = server_settings(database, log_line_prefix=LOG_LINE_PREFIX,
                            log_min_duration_statement=0)
    try:
        value = http.get(stack.url, f"/api/v1/fib/{random.randrange(20000, 30000)}")
        refused = http.get(stack.url, "/api/v1/fib/9223372036854775807")
    finally:
        reset()
    assert value.status == 200 and refused.status == 422
    server_log = database.cluster.log
    for answer, what in ((value, "LOG:  duration:"), (refused, "ERROR:")):
        request_id = answer.headers["x-request-id"]
        assert REQUEST_ID.fullmatch(request_id), request_id
        assert lines_with(os.path.join(stack.nginx_dir, "access.log"), f"id={request_id}")
        assert lines_with(stack.gunicorn_log, f"id={request_id}")
        logged = lines_with(server_log, f"fib_web@postgres pg_fib web {request_id}: {what}")
        assert logged, (what, request_id)
    # The error's statement is logged under the same id.
    assert lines_with(server_log, f"pg_fib web {refused.headers['x-request-id']}: STATEMENT:")


def test_nginx_gives_a_request_id_to_its_own_answers(stack):
    cached = http.get(stack.url, "/api/v1/fib/21")
    again = http.get(stack.url, "/api/v1/fib/21")
    refused = http.raw(stack.url, "POST /api/v1/fib/21 HTTP/1.1", ["Content-Length: 0"])
    ids = [a.headers["x-request-id"] for a in (cached, again, refused)]
    assert again.headers["x-cache-status"] == "HIT"
    assert all(REQUEST_ID.fullmatch(i) for i in ids) and len(set(ids)) == 3
    # A client's own X-Request-Id does not replace Nginx's.
    mine = http.get(stack.url, "/api/v1/fib/22", ["X-Request-Id: chosen-by-the-client"])
    assert REQUEST_ID.fullmatch(mine.headers["x-request-id"])


def metric(text, name, **labels):
    """The value of one sample of Prometheus's text format (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        sample, _, rest = key.partition("{")
        got = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
        if sample == name and got == want:
            return float(value)
    return 0.0


def test_metrics_add_up_every_gunicorn_worker(stack):
    route = "/api/v1/fib/<n>"
    before = http.get(stack.url, "/metrics").text
    # 60 values not asked for before: each reaches the app (none from
    # Nginx's cache).
    paths = [f"/api/v1/fib/{n}" for n in random.sample(range(100000, 200000), 60)]
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda path: http.get(stack.url, path), paths))
    assert {a.status for a in answers} == {200}
    after = http.get(stack.url, "/metrics")
    assert after.status == 200 and after.headers["content-type"].startswith("text/plain")
    assert after.headers["cache-control"] == "no-store"
    # Both workers answered some of them (the access log says which) ...
    ids = {a.headers["x-request-id"] for a in answers}
    pids = {re.search(r"pid=<(\d+)>", line).group(1)
            for line in stack.gunicorn_lines("id=") if line.split("id=")[-1].strip() in ids}
    assert len(pids) == 2, pids
    # ... and /metrics, answered by one of them, counts all.
    assert metric(after.text, "fib_web_http_requests_total", route=route, status="200") - \
        metric(before, "fib_web_http_requests_total", route=route, status="200") == 60
    assert metric(after.text, "fib_web_http_request_duration_seconds_count", route=route) - \
        metric(before, "fib_web_http_request_duration_seconds_count", route=route) == 60
    assert metric(after.text, "fib_web_queries_total", server="primary", outcome="ok") - \
        metric(before, "fib_web_queries_total", server="primary", outcome="ok") >= 60
    assert metric(after.text, "pg_fib_up") == 1
    assert metric(after.text, "pg_fib_memo_rows") >= 1
    for state in ("queued", "running", "done", "failed"):
        assert f'pg_fib_jobs{{state="{state}"}}' in after.text
    # Two workers, POOL_MAX_SIZE 4 each.
    assert metric(after.text, "fib_web_pool_connections", server="primary", state="max") == 8


@pytest.mark.parametrize("source", ["127.0.0.2", "127.1.2.3"])
def test_metrics_are_refused_to_other_addresses(stack, source):
    r = http.get(stack.url, "/metrics", source=source)
    assert r.status == 403
    assert r.headers["content-type"] == "application/problem+json"
    assert "loopback" in r.json()["detail"]
    assert b"fib_web_http_requests_total" not in r.body
    assert http.get(stack.url, "/metrics", source="127.0.0.1").status == 200


# Requests Nginx answers itself, with the status it answers.
NGINX_ERRORS = [
    ("POST /api/v1/fib/5 HTTP/1.1", ["Content-Length: 0"], 405),
    ("GET /api/v1/fib/5 HTTP/1.1", ["Content-Length: 2000"], 413),
    ("GET /" + "9" * 5000 + " HTTP/1.1", [], 414),
    ("GET /api/v1/fib/5 HTTP/1.1", ["X-Long: " + "a" * 5000], 400),
    ("GET /api/v1/fib/5 HTTP/9.9", [], 400),
]


@pytest.mark.parametrize("request_line,headers,status", NGINX_ERRORS,
                         ids=[str(e[2]) + "-" + str(i) for i, e in enumerate(NGINX_ERRORS)])
def test_nginx_error_pages_keep_the_security_headers(stack, request_line, headers, status):
    r = http.raw(stack.url, request_line, headers)
    assert r.status == status
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == status
    for name in SECURITY_HEADERS:
        assert r.headers.get(name), name
    assert r.headers["cache-control"] == "no-store"
    assert REQUEST_ID.fullmatch(r.headers["x-request-id"])


@pytest.mark.parametrize("header", ["X-Bypass-Cache: 1", "Cache-Control: no-cache",
                                    "Pragma: no-cache", "Cache-Control: max-age=0"])
def test_a_client_cannot_bypass_the_cache(stack, header):
    path = f"/api/v1/fib/{random.randrange(30000, 40000)}"
    assert http.get(stack.url, path).headers["x-cache-status"] == "MISS"
    r = http.get(stack.url, path, [header])
    assert r.status == 200 and r.headers["x-cache-status"] == "HIT"
    time.sleep(0.2)
    assert len(stack.gunicorn_lines(f'"GET {path} HTTP/1.')) == 1
