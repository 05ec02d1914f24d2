"""The JSON API against a real cluster with pg_fib, through Flask's test
client: every route and status, values checked against Python's int
(test/python/oracle.py), errors by HTTP status and SQLSTATE."""

import hashlib
import json
import random
import re
import time

import gmpy2
import pytest
from flask.testing import FlaskClient

import oracle
from conftest import ROOT, SYNC_MAX_N, make_app
from jobs import reload_setting, reset_setting
from web import problems

PROBLEM = "application/problem+json"


def decimal(n):
    return gmpy2.mpz(oracle.fib(n)).digits(10)


def assert_problem(response, status, sqlstate=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    assert "Traceback" not in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    if sqlstate:
        assert body["sqlstate"] == sqlstate
    return body


def wait_done(client, n, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/api/v1/fib/{n}")
        if r.status_code == 200:
            return r
        assert r.status_code == 202, r.get_data(as_text=True)
        assert time.monotonic() < deadline
        time.sleep(0.1)


@pytest.mark.parametrize("n", [0, 1, 2, 12, 32, 46, 47, 92, 93, 100, -1, -2, -8, -93, 1000,
                               4999, 5000, -5001, 12345, 100000, -100001])
def test_value_matches_python_int(client, n):
    r = client.get(f"/api/v1/fib/{n}")
    assert r.status_code == 200
    assert r.mimetype == "application/json"
    body = r.get_json()
    expected = decimal(n)
    assert body == {"n": str(n), "digits": str(len(expected.lstrip("-"))),
                    "negative": expected.startswith("-"), "source": body["source"],
                    "value": expected}
    assert body["source"] in ("computed", "memo")
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert re.fullmatch(r'"[^"]+"', r.headers["ETag"])


def test_random_values_match_python_int(client):
    rng = random.Random(7)
    for _ in range(30):
        n = rng.randrange(-200000, 200000)
        assert client.get(f"/api/v1/fib/{n}").get_json()["value"] == decimal(n)


def test_integers_beyond_2_53_are_strings(client):
    body = client.get("/api/v1/fib/90").get_json()
    assert isinstance(body["value"], str) and int(body["value"]) > 2 ** 53
    assert isinstance(body["n"], str) and isinstance(body["digits"], str)
    body = client.get("/api/v1/fib/10/mod/9223372036854775807").get_json()
    assert all(isinstance(v, str) for v in body.values())


def test_a_long_value_gives_leading_trailing_and_a_link(client, app):
    n = 1000000  # 208988 digits, above VALUE_MAX_DIGITS (200000)
    expected = decimal(n)
    assert len(expected) > app.config["VALUE_MAX_DIGITS"]
    body = client.get(f"/api/v1/fib/{n}").get_json()
    assert "value" not in body
    assert body["digits"] == str(len(expected))
    assert body["leading"] == expected[:20] and body["trailing"] == expected[-20:]
    assert body["value_url"] == f"/api/v1/fib/{n}/digits"
    body = client.get(f"/api/v1/fib/-{n}").get_json()
    assert body["negative"] is True and body["leading"] == expected[:20]


def test_queued_n_goes_from_202_to_200(client):
    n = SYNC_MAX_N + random.randrange(10, 100000)
    r = client.get(f"/api/v1/fib/{n}")
    assert r.status_code == 202
    assert r.headers["Location"] == f"/api/v1/fib/{n}/job"
    assert int(r.headers["Retry-After"]) >= 1
    assert r.headers["Cache-Control"] == "no-store"
    body = r.get_json()
    assert body["n"] == str(n) and body["state"] in ("queued", "running", "done")
    assert 0 <= body["progress"] <= 1
    states = set()
    deadline = time.monotonic() + 60
    while True:
        job = client.get(f"/api/v1/fib/{n}/job")
        assert job.status_code == 200
        assert job.headers["Cache-Control"] == "no-store"
        states.add(job.get_json()["state"])
        if job.get_json()["state"] == "done":
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    job = job.get_json()
    assert job["digits"] is not None and job["finished_at"] and job["requested_at"]
    assert job["error"] is None
    r = wait_done(client, n)
    body = r.get_json()
    expected = decimal(n)
    assert body["source"] == "memo"
    assert body["digits"] == str(len(expected)) == job["digits"]
    assert body["leading"] == expected[:20] and body["trailing"] == expected[-20:]


def test_job_of_an_n_never_requested_is_404(client):
    assert_problem(client.get(f"/api/v1/fib/{SYNC_MAX_N + 7777777}/job"), 404)


def test_job_of_a_small_n_is_done(client):
    body = client.get("/api/v1/fib/-12/job").get_json()
    assert body["state"] == "done" and body["n"] == "-12" and body["digits"] == "3"


@pytest.mark.parametrize("n", [0, 1, -1, 1000, -1000, 300001])
def test_digits_route_streams_the_decimal(client, n):
    r = client.get(f"/api/v1/fib/{n}/digits")
    assert r.status_code == 200
    assert r.mimetype == "text/plain"
    data = r.get_data(as_text=True)
    assert data == decimal(n)
    assert r.headers["Content-Length"] == str(len(data))
    assert r.headers["Content-Disposition"] == f"attachment; filename=fib-{n}.txt"
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_digits_of_a_queued_n_is_202_then_the_value(client):
    n = SYNC_MAX_N + random.randrange(100000, 200000)
    r = client.get(f"/api/v1/fib/{n}/digits")
    assert r.status_code == 202 and r.headers["Location"] == f"/api/v1/fib/{n}/job"
    wait_done(client, n)
    r = client.get(f"/api/v1/fib/{n}/digits")
    assert r.status_code == 200
    assert hashlib.sha256(r.get_data()).hexdigest() == \
        hashlib.sha256(decimal(n).encode()).hexdigest()


@pytest.mark.parametrize("n,m", [(10, 7), (0, 1), (-8, 1000), (92, 2 ** 63 - 1),
                                 (2 ** 63 - 1, 1000000007), (-2 ** 63, 1000000007),
                                 (-(2 ** 63), 2 ** 63 - 1), (123456789012, 97)])
def test_mod_matches_python_int(client, n, m):
    r = client.get(f"/api/v1/fib/{n}/mod/{m}")
    assert r.status_code == 200
    assert r.get_json() == {"n": str(n), "m": str(m), "value": str(oracle.fib_mod(n, m))}
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"


@pytest.mark.parametrize("m", [0, -1, -(2 ** 63)])
def test_mod_by_a_non_positive_m_is_422(client, m):
    body = assert_problem(client.get(f"/api/v1/fib/10/mod/{m}"), 422)
    assert body["type"].endswith("/problems/non-positive-modulus") and body["parameter"] == "m"
    assert f"m = {m} is not a modulus" in body["detail"]


def test_mod_with_a_malformed_m_is_400_naming_m(client):
    body = assert_problem(client.get("/api/v1/fib/10/mod/7.5"), 400)
    assert body["detail"].startswith("m contains")


def test_if_none_match_gets_304(client):
    r = client.get("/api/v1/fib/77")
    etag = r.headers["ETag"]
    again = client.get("/api/v1/fib/77", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] and again.headers["Cache-Control"].endswith("immutable")
    other = client.get("/api/v1/fib/77", headers={"If-None-Match": '"78.computed.200000"'})
    assert other.status_code == 200
    r = client.get("/api/v1/fib/77/mod/10")
    assert client.get("/api/v1/fib/77/mod/10",
                      headers={"If-None-Match": r.headers["ETag"]}).status_code == 304
    r = client.get("/api/v1/fib/77/digits")
    assert client.get("/api/v1/fib/77/digits",
                      headers={"If-None-Match": r.headers["ETag"]}).status_code == 304


def test_n_beyond_the_roles_max_n_is_422_saying_the_limit(database):
    with database.su() as su:
        su.execute("ALTER ROLE fib_web SET pg_fib.max_n = 4000000")
    app = make_app(database)
    try:
        client = app.test_client()
        body = assert_problem(client.get("/api/v1/fib/4000001"), 422, "54000")
        assert "up to 4,000,000" in body["detail"] and body["max_n"] == "4000000"
        assert body["about"] == "/api/v1/fib/4000001/about"
        assert "/api/v1/fib/4000001/mod/<m>" in body["detail"]
        assert_no_internals(body)
        assert_problem(client.get("/api/v1/fib/-4000001/digits"), 422, "54000")
        assert client.get("/api/v1/fib/3999999").status_code in (200, 202)
        # fib_mod allocates nothing and is not bound by max_n.
        assert client.get("/api/v1/fib/4000001/mod/10").status_code == 200
    finally:
        app.extensions["pg_fib_pools"].close()
        with database.su() as su:
            su.execute("ALTER ROLE fib_web RESET pg_fib.max_n")


def test_a_full_queue_is_503_with_retry_after(client, database):
    with database.su() as su:
        reload_setting(su, "pg_fib.max_queued", "0")
        try:
            r = client.get(f"/api/v1/fib/{SYNC_MAX_N + 5555555}")
            body = assert_problem(r, 503, "53400")
            assert int(r.headers["Retry-After"]) > 0
            assert "retry after 10 seconds" in body["detail"]
            assert_no_internals(body)
        finally:
            reset_setting(su, "pg_fib.max_queued")


def assert_no_internals(body):
    """An anonymous client's problem names no role, setting, count or
    function of the database's: those stay in the log."""
    text = json.dumps(body)
    for word in ("fib_web", "pg_fib", "superuser", "role", "fib_", "ALTER", "jobs queued"):
        assert word not in text, (word, body)


def test_the_databases_own_words_are_logged_under_the_request_id(database, caplog):
    with database.su() as su:
        reload_setting(su, "pg_fib.max_queued", "0")
        app = make_app(database)
        try:
            r = app.test_client().get(f"/api/v1/fib/{SYNC_MAX_N + 5555556}",
                                      headers={"X-Request-Id": "logged-request-0001"})
            assert_problem(r, 503, "53400")
        finally:
            app.extensions["pg_fib_pools"].close()
            reset_setting(su, "pg_fib.max_queued")
    logged = [r.getMessage() for r in caplog.records if "logged-request-0001" in r.getMessage()]
    assert logged and "SQLSTATE 53400" in logged[0] and "pg_fib.max_queued" in logged[0], logged


def test_statement_timeout_is_504(database):
    # the whole value of F(2999999), 626963 digits, takes about 30 ms to build
    app = make_app(database, STATEMENT_TIMEOUT_MS=1, VALUE_MAX_DIGITS=10 ** 7)
    try:
        r = app.test_client().get("/api/v1/fib/2999999")
        assert_problem(r, 504, "57014")
    finally:
        app.extensions["pg_fib_pools"].close()


def test_an_unreachable_database_is_503_with_retry_after(database):
    from cluster import free_port
    app = make_app(database, DATABASE_URL=f"host=127.0.0.1 port={free_port()} user=fib_web "
                                          "connect_timeout=1", POOL_TIMEOUT=1)
    try:
        client = app.test_client()
        for url in ("/api/v1/fib/5", "/api/v1/fib/5/digits", "/calculate/5", "/get"):
            r = client.get(url)
            assert_problem(r, 503)
            assert int(r.headers["Retry-After"]) > 0
        r = client.get("/healthz")
        assert r.status_code == 503 and r.get_json()["database"] == "down"
        r = client.get("/?n=5")
        assert r.status_code == 503 and b"cannot be reached" in r.data
    finally:
        app.extensions["pg_fib_pools"].close()


def test_healthz_reports_database_and_workers(client):
    # The workers connect a moment after the server starts: until they do,
    # /healthz says 503.
    deadline = time.monotonic() + 15
    while (r := client.get("/healthz")).status_code != 200:
        assert r.status_code == 503 and r.get_json()["database"] == "up"
        assert time.monotonic() < deadline, r.get_json()
        time.sleep(0.2)
    assert r.get_json() == {"status": "up", "database": "up", "keeper": "up", "workers": 2,
                            "workers_expected": 2, "replicas": []}
    assert r.headers["Cache-Control"] == "no-store"


def fail_a_job(client, database, n):
    """Queue F(n) and cancel its worker while it computes: a cancelled job
    fails at once."""
    assert client.get(f"/api/v1/fib/{n}").status_code == 202
    with database.su() as su:
        deadline = time.monotonic() + 30
        while su.execute("SELECT state FROM fib_status(%s)", (n,)).fetchone()[0] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        su.execute("SELECT pg_cancel_backend(worker_pid) FROM fib_jobs WHERE n = %s", (n,))
        while su.execute("SELECT state FROM fib_status(%s)", (n,)).fetchone()[0] != "failed":
            assert time.monotonic() < deadline
            time.sleep(0.02)


def test_a_failed_job_is_a_503_problem_then_asked_again(database):
    """A real failed job: its value URL answers the failure (503 with
    Retry-After and the worker's error) for FAILED_JOB_RETRY_SECONDS, its
    status URL the job with 200; after that, asking queues it again (202)."""
    app = make_app(database, FAILED_JOB_RETRY_SECONDS=3)
    try:
        client = app.test_client()
        n = 50000000 + random.randrange(1, 1000)
        fail_a_job(client, database, n)
        for url in (f"/api/v1/fib/{n}", f"/api/v1/fib/{n}/digits", f"/calculate/{n}"):
            r = client.get(url)
            body = assert_problem(r, 503)
            assert r.headers["Retry-After"] == "3"
            assert body["type"].endswith("/problems/job-failed") and body["state"] == "failed"
            assert "cancel" in body["error"], body
            assert body["job"] == f"/api/v1/fib/{n}/job"
        page = client.get(f"/?n={n}")
        assert page.status_code == 503 and b"cancel" in page.data
        job = client.get(f"/api/v1/fib/{n}/job")
        assert job.status_code == 200
        assert job.get_json()["state"] == "failed" and job.get_json()["error"]
        time.sleep(3.1)
        assert client.get(f"/api/v1/fib/{n}").status_code == 202
        assert client.get(f"/api/v1/fib/{n}/job").get_json()["state"] in ("queued", "running")
        with database.su() as su:
            assert su.execute("SELECT state FROM fib_wait(%s, '60 s')", (n,)).fetchone() == ("done",)
    finally:
        app.extensions["pg_fib_pools"].close()


def test_a_failed_job_row_is_a_503_problem(app):
    """The problem a failed job row gives wherever a route meets one."""
    from web.results import check_done
    with app.test_request_context():
        with pytest.raises(problems.Problem) as failed:
            check_done({"n": 7, "state": "failed", "error": "out of memory"})
        response = problems.problem_response(failed.value)
    assert response.status_code == 503 and response.mimetype == PROBLEM
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json(force=True)["error"] == "out of memory"


def test_head_of_digits_gives_its_connection_back(database):
    """HEAD never reads the streamed body: the connection still goes back
    to the pool (4 HEADs would otherwise leave a pool of 4 empty)."""
    app = make_app(database, POOL_MAX_SIZE=2, POOL_TIMEOUT=2)
    try:
        client = app.test_client()
        for _ in range(6):
            r = client.head("/api/v1/fib/77/digits")
            assert r.status_code == 200 and r.headers["Content-Length"] == str(len(decimal(77)))
            assert r.data == b""
        assert client.get("/api/v1/fib/77").status_code == 200
        stats = app.extensions["pg_fib_pools"].primary.pool.get_stats()
        assert stats["pool_available"] == stats["pool_size"]
    finally:
        app.extensions["pg_fib_pools"].close()


def test_if_none_match_star_and_weak_tags(client):
    """'*' is no match (the query decides: a 422 stays a 422); a weak tag,
    as Nginx sends after gzipping, matches for If-None-Match."""
    etag = client.get("/api/v1/fib/2000").headers["ETag"]
    assert client.get("/api/v1/fib/2000", headers={"If-None-Match": f"W/{etag}"}).status_code == 304
    assert client.get("/api/v1/fib/2000", headers={"If-None-Match": "*"}).status_code == 200
    assert_problem(client.get("/api/v1/fib/9223372036854775807", headers={"If-None-Match": "*"}),
                   422, "54000")
    assert_problem(client.get("/api/v1/fib/10/mod/0", headers={"If-None-Match": "*"}), 422)


def test_doubled_slashes_are_404_problems(client):
    for url in ("/api/v1/fib//5", "//api/v1/fib/5", "/api/v1//fib/5/digits"):
        assert_problem(client.get(url), 404)


def test_leading_doubled_slashes_are_404_problems(app):
    """Gunicorn gives "//metrics" (or "/%2Fmetrics") as PATH_INFO
    "//metrics", which Werkzeug's routing would match as /metrics: Nginx,
    whose locations see "//metrics", would then serve it from "location /",
    outside /metrics's loopback-only rule and the /digits location's limits.
    (Flask's test client reads "//x" as a host, so PATH_INFO is set as
    Gunicorn sets it; and Flask's plain client, since the description's
    checker would take request.path, "/metrics", for the path.)"""
    client = FlaskClient(app)
    for path in ("//metrics", "//api/v1/fib/5", "///api/v1/fib/5/digits", "//healthz", "//"):
        assert_problem(client.get("/", environ_overrides={"PATH_INFO": path}), 404)


def test_every_response_carries_its_request_id(client, database):
    """A well-formed X-Request-Id is kept (Nginx's), any other replaced; the
    id is the application_name of the request's statements."""
    given = "0123456789abcdef0123456789abcdef"
    for url in ("/api/v1/fib/5", "/api/v1/fib/x", "/nothing", "/healthz"):
        assert client.get(url, headers={"X-Request-Id": given}).headers["X-Request-Id"] == given
    for bad in ("", "short", "x" * 49, "id with spaces", "id\u00e9"):
        got = client.get("/api/v1/fib/5", headers={"X-Request-Id": bad}).headers["X-Request-Id"]
        assert got != bad and re.fullmatch(r"[0-9a-f]{32}", got)
    # The statements of a request set its id as application_name (it stays
    # on the pooled connection until the next request's).
    tagged = f"feedbeef{random.randrange(10 ** 12):012d}"
    client.get("/api/v1/fib/6", headers={"X-Request-Id": tagged})
    with database.su() as su:
        names = [row[0] for row in su.execute(
            "SELECT application_name FROM pg_stat_activity WHERE usename = 'fib_web'")]
    assert f"pg_fib web {tagged}" in names, names


def test_metrics_count_requests_queries_and_the_queue(client):
    before = client.get("/metrics").get_data(as_text=True)
    for _ in range(3):
        client.get("/api/v1/fib/31")
    client.get("/api/v1/fib/x")
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert r.headers["Cache-Control"] == "no-store"
    text = r.get_data(as_text=True)

    def value(text, line):
        found = [l.rsplit(" ", 1)[1] for l in text.splitlines() if l.startswith(line + " ")]
        return float(found[0]) if found else 0.0

    ok = 'fib_web_http_requests_total{route="/api/v1/fib/<n>",status="200"}'
    assert value(text, ok) - value(before, ok) == 3
    bad = 'fib_web_http_requests_total{route="/api/v1/fib/<n>",status="400"}'
    assert value(text, bad) - value(before, bad) == 1
    assert value(text, 'fib_web_queries_total{outcome="ok",server="primary"}') >= 3
    assert 'fib_web_http_request_duration_seconds_bucket{le="0.1",route="/api/v1/fib/<n>"}' in text
    assert value(text, 'fib_web_pool_connections{server="primary",state="max"}') == 4
    assert value(text, "pg_fib_up") == 1
    for state in ("queued", "running", "done", "failed"):
        assert f'pg_fib_jobs{{state="{state}"}}' in text
    assert "pg_fib_memo_rows" in text and "pg_fib_inline_computations_total" in text


def test_unknown_routes_and_methods_are_problems(client):
    assert_problem(client.get("/api/v1/nothing"), 404)
    assert_problem(client.get("/api/v1/fib/1/2/3"), 404)
    body = assert_problem(client.post("/api/v1/fib/1"), 405)
    assert body["title"] == "Method Not Allowed"


def test_the_http_docs_print_the_sqlstate_table_of_the_code():
    """docs/http.md's SQLSTATE table and problems.SQLSTATE_HTTP agree."""
    with open(f"{ROOT}/docs/http.md") as f:
        readme = f.read()
    section = readme.split("<!-- sqlstate-table -->")[1]
    rows = re.findall(r"^\| `(\w{5})` [^|]*\| (\d{3}) \| ?(\d*) ?\|", section, re.M)
    assert {s: (int(h), int(r) if r else None) for s, h, r in rows} == \
        {s: v[:3:2] for s, v in problems.SQLSTATE_HTTP.items()}


def test_a_restart_of_the_database_costs_no_request(database):
    """Pooled connections the server closed are replaced on the first
    failure: the request that met one is still answered."""
    app = make_app(database, POOL_MIN_SIZE=2, POOL_MAX_SIZE=2)
    try:
        client = app.test_client()
        assert client.get("/api/v1/fib/31").status_code == 200
        database.stop()
        database.start()
        for n in (32, 33, 34):
            r = client.get(f"/api/v1/fib/{n}")
            assert r.status_code == 200, r.get_data(as_text=True)
            assert r.get_json()["value"] == decimal(n)
    finally:
        app.extensions["pg_fib_pools"].close()


def test_proxy_fix_only_when_told(database):
    """X-Forwarded-* are trusted only with FIB_WEB_BEHIND_PROXY."""
    from flask import request

    for behind, expected in ((False, "127.0.0.1"), (True, "203.0.113.7")):
        app = make_app(database, BEHIND_PROXY=behind)
        try:
            @app.get("/whoami")
            def whoami():
                return {"remote_addr": request.remote_addr, "host": request.host}

            body = app.test_client().get(
                "/whoami", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Host": "fib.example"}
            ).get_json()
            assert body["remote_addr"] == expected
            assert (body["host"] == "fib.example") is behind
        finally:
            app.extensions["pg_fib_pools"].close()


@pytest.fixture
def hot_answers(monkeypatch):
    """The outcomes of web/hotpath.py's answers (None: passed on to Flask)."""
    from web.hotpath import HotPath
    answers = []
    answer = HotPath._answer

    def spy(self, n, environ):
        result = answer(self, n, environ)
        answers.append(result and result[0])
        return result

    monkeypatch.setattr(HotPath, "_answer", spy)
    return answers


@pytest.mark.parametrize("n", [0, 32, -33, 4000, 12000, 2 * 10 ** 6])
def test_the_hot_path_answers_as_the_flask_view_does(app, database, n, hot_answers):
    """GET /api/v1/fib/<n> is answered before Flask (web/hotpath.py) unless
    the request is conditional: both give the same status, headers and
    bytes, for a value computed inline, one from the memo, one too long to
    give whole, a negative one and a job under way."""
    client = app.test_client()
    if n == 12000:
        with database.su() as su:
            su.execute("SELECT fib_wait(12000)")
    miss = '"not-this-one"'
    hot = client.get(f"/api/v1/fib/{n}", headers={"X-Request-Id": "hot-path-0001"})
    flask = client.get(f"/api/v1/fib/{n}", headers={"X-Request-Id": "hot-path-0001",
                                                     "If-None-Match": miss})
    assert hot.status_code == flask.status_code == 200
    assert hot.get_data() == flask.get_data()
    for name in ("Content-Type", "Content-Length", "Cache-Control", "ETag", "X-Request-Id"):
        assert hot.headers.get(name) == flask.headers.get(name), name
    assert hot_answers == ["200 OK"]


def test_the_hot_path_answers_a_queued_job_as_the_flask_view_does(app, hot_answers):
    client = app.test_client()
    n = SYNC_MAX_N + random.randrange(800000, 900000)
    hot = client.get(f"/api/v1/fib/{n}")
    flask = client.get(f"/api/v1/fib/{n}", headers={"If-None-Match": '"x"'})
    assert hot.status_code == flask.status_code == 202
    assert hot.get_json()["n"] == flask.get_json()["n"] == str(n)
    assert {hot.get_json()["state"], flask.get_json()["state"]} <= {"queued", "running"}
    for name in ("Content-Type", "Cache-Control", "Location", "Retry-After"):
        assert hot.headers.get(name) == flask.headers.get(name), name
    assert client.head(f"/api/v1/fib/{n}").get_data() == b""
    assert hot_answers == ["202 ACCEPTED"] * 2


def test_the_hot_path_leaves_errors_to_flask(app, hot_answers):
    """A refusal of the database is answered by Flask's problem map."""
    client = app.test_client()
    body = assert_problem(client.get("/api/v1/fib/9223372036854775807"), 422, "54000")
    assert body["max_n"]
    assert hot_answers == [None]
