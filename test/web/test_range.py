"""Runs of values, GET /api/v1/fib?from=<a>&to=<b>, through Flask's test
client against the suites' cluster: every value against Python's exact int
(test/python/oracle.py), the pages followed to the end, the page's bounds
(1,000 values, FIB_WEB_VALUE_MAX_DIGITS digits), the canonical query, and
every refusal by status and problem type."""

import random
import re

import gmpy2
import pytest

import oracle
from conftest import make_app
from test_api import assert_problem

IMMUTABLE = "public, max-age=31536000, immutable"


def walk(client, first, last):
    """Every item of the range, following next; and the pages' sizes."""
    url = f"/api/v1/fib?from={first}&to={last}"
    items, sizes = [], []
    while url is not None:
        r = client.get(url)
        assert r.status_code == 200, r.get_data(as_text=True)
        assert r.headers["Cache-Control"] == IMMUTABLE and r.headers["ETag"]
        body = r.get_json()
        items += body["items"]
        sizes.append(len(body["items"]))
        url = body["next"]
    return items, sizes


def assert_run(items, first, last):
    assert [item["n"] for item in items] == [str(n) for n in range(first, last + 1)]
    for item in items:
        # Python's exact int (oracle.fib), compared as a number: the text is
        # parsed by gmpy2, CPython's own conversion is quadratic.
        value = item["value"]
        assert re.fullmatch(r"0|-?[1-9][0-9]*", value), item["n"]
        assert gmpy2.mpz(value) == oracle.fib(int(item["n"])), item["n"]


@pytest.mark.parametrize("first,last", [(0, 0), (-5, 5), (-1, 1), (1, 1), (-93, -90),
                                        (90, 95), (-1200, 300), (5000, 5020)])
def test_small_ranges_and_ranges_across_0(client, first, last):
    items, _ = walk(client, first, last)
    assert_run(items, first, last)


def test_random_ranges_match_python_int(client):
    rng = random.Random(19)
    for _ in range(12):
        first = rng.randrange(-300000, 300000)
        last = first + rng.randrange(0, 60)
        items, _ = walk(client, first, last)
        assert_run(items, first, last)


def test_pages_of_1000_values_followed_to_the_end(client):
    items, sizes = walk(client, -1500, 1700)
    assert_run(items, -1500, 1700)
    # |F(n)| has at most 357 digits here: 1,000 values fit in 200,000 digits
    # only while they are short, so the budget cuts the pages near the ends.
    assert max(sizes) == 1000 and all(s >= 1 for s in sizes)
    assert sum(sizes) == 3201


def test_the_digit_budget_bounds_a_page(client, app):
    limit = app.config["VALUE_MAX_DIGITS"]
    body = client.get("/api/v1/fib?from=100000&to=101000").get_json()
    digits = sum(len(item["value"].lstrip("-")) for item in body["items"])
    # F(100000) has 20,899 digits: 9 values fit in 200,000, not 10.
    assert digits <= limit
    next_n = 100000 + len(body["items"])
    assert digits + len(gmpy2.mpz(oracle.fib(next_n)).digits(10)) > limit
    assert body["next"] == f"/api/v1/fib?from={next_n}&to=101000"


def test_a_small_budget_still_gives_one_value_per_page(database):
    app = make_app(database, VALUE_MAX_DIGITS=10)
    try:
        client = app.test_client()
        items, sizes = walk(client, 40, 60)
        assert_run(items, 40, 60)
        # F(40) = 102334155 (9 digits): alone; from F(45) on, 10 digits and more.
        assert sizes[0] == 1 and all(size == 1 for size in sizes)
    finally:
        app.extensions["pg_fib_pools"].close()


@pytest.mark.parametrize("first,last", [(627165, 627177), (-627177, -627170)])
def test_ranges_at_the_numeric_limit(client, first, last):
    items, sizes = walk(client, first, last)
    # 131,067 digits each: one value per page of 200,000 digits.
    assert set(sizes) == {1}
    assert_run(items, first, last)


@pytest.mark.parametrize("query,parameter", [
    ("from=627177&to=627178", "to"), ("from=-627178&to=0", "from"),
    ("from=0&to=9223372036854775807", "to"),
    ("from=-9223372036854775808&to=9223372036854775807", "from")])
def test_an_end_beyond_the_limit_refuses_the_range(client, query, parameter):
    body = assert_problem(client.get(f"/api/v1/fib?{query}"), 422)
    assert body["parameter"] == parameter
    assert body["type"].endswith(("/sqlstate-22003", "/sqlstate-54000"))
    assert body["max_n"] == "627177"
    n = dict(p.split("=") for p in query.split("&"))[parameter]
    assert body["about"] == f"/api/v1/fib/{n}/about"
    assert f"{parameter} = {n} is beyond" in body["detail"]


def test_the_role_limit_refuses_the_range(client, database):
    """A lower pg_fib.max_n for fib_web: 54000, with that limit."""
    with database.su() as su:
        su.execute("ALTER ROLE fib_web SET pg_fib.max_n = 1000")
    try:
        app = make_app(database)
        try:
            body = assert_problem(app.test_client().get("/api/v1/fib?from=990&to=1001"), 422,
                                  "54000")
            assert body["max_n"] == "1000" and body["parameter"] == "to"
            assert app.test_client().get("/api/v1/fib?from=990&to=1000").status_code == 200
        finally:
            app.extensions["pg_fib_pools"].close()
    finally:
        with database.su() as su:
            su.execute("ALTER ROLE fib_web RESET pg_fib.max_n")


@pytest.mark.parametrize("query", ["from=1&to=0", "from=5&to=-5",
                                   "from=9223372036854775807&to=-9223372036854775808"])
def test_from_beyond_to_is_422_empty_range(client, query):
    body = assert_problem(client.get(f"/api/v1/fib?{query}"), 422)
    assert body["type"].endswith("/problems/empty-range")


@pytest.mark.parametrize("query,location", [
    ("from=05&to=10", "from=5&to=10"), ("from=-0&to=3", "from=0&to=3"),
    ("to=10&from=5", "from=5&to=10"), ("from=%35&to=10", "from=5&to=10"),
    ("from=5&to=10&", "from=5&to=10"), ("&from=5&to=10", "from=5&to=10"),
    ("from=5&&to=10", "from=5&to=10"), ("from=-007&to=-0", "from=-7&to=0"),
    ("to=-1&from=2", "from=2&to=-1")])
def test_non_canonical_queries_are_301_to_the_canonical(client, query, location):
    r = client.get(f"/api/v1/fib?{query}")
    body = assert_problem(r, 301)
    assert r.headers["Location"] == f"/api/v1/fib?{location}"
    assert body["type"].endswith("/problems/non-canonical-url")


@pytest.mark.parametrize("query,parameter,slug", [
    ("", "from", "malformed-query"), ("from=1", "to", "malformed-query"),
    ("to=1", "from", "malformed-query"), ("from=1&from=1&to=2", "from", "malformed-query"),
    ("from=1&to=2&to=2", "to", "malformed-query"), ("from=1&to=2&x=1", "x", "malformed-query"),
    ("from=1&to=2&n=1", "n", "malformed-query"), ("from=1&to=2&from", "from", "malformed-query"),
    ("n=5", "n", "malformed-query"), ("FROM=1&TO=2", "FROM", "malformed-query"),
    ("from=&to=2", "from", "malformed-integer"), ("from=1.5&to=2", "from", "malformed-integer"),
    ("from=1&to=%2B2", "to", "malformed-integer"), ("from=1&to=+2", "to", "malformed-integer"),
    ("from=%D9%A1&to=2", "from", "malformed-integer"),
    ("from=1&to=9223372036854775808", "to", "malformed-integer")])
def test_malformed_queries_are_400(client, query, parameter, slug):
    body = assert_problem(client.get(f"/api/v1/fib?{query}"), 400)
    assert body["type"].endswith(f"/problems/{slug}")
    assert body["parameter"] == parameter


def test_if_none_match_is_304_and_head_has_no_body(client):
    r = client.get("/api/v1/fib?from=10&to=20")
    again = client.get("/api/v1/fib?from=10&to=20",
                       headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == r.headers["ETag"]
    other = client.get("/api/v1/fib?from=10&to=21", headers={"If-None-Match": r.headers["ETag"]})
    assert other.status_code == 200
    head = client.head("/api/v1/fib?from=10&to=20")
    assert head.status_code == 200 and head.get_data() == b""
    assert head.headers["ETag"] == r.headers["ETag"]


def _table(html):
    """The (n, value) rows of the page's table of a run."""
    body = html.split('id="range-table"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr><th scope=\"row\">(-?[0-9]+)</th><td>(-?[0-9]+)</td></tr>", body)


def test_the_page_shows_a_run_as_a_table(client):
    r = client.get("/?from=-5&to=5")
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert _table(html) == [(str(n), str(oracle.fib(n))) for n in range(-5, 6)]
    assert 'id="range-next"' not in html
    assert 'value="-5"' in html and 'value="5"' in html


def test_the_page_links_the_next_part_of_a_long_run(client):
    r = client.get("/?from=0&to=1500")
    rows = _table(r.get_data(as_text=True))
    assert rows[0] == ("0", "0") and len(rows) == 1000
    assert 'href="/?from=1000&amp;to=1500"' in r.get_data(as_text=True)
    rest = _table(client.get("/?from=1000&to=1500").get_data(as_text=True))
    assert [int(n) for n, _ in rows + rest] == list(range(0, 1501))
    assert all(gmpy2.mpz(v) == oracle.fib(int(n)) for n, v in rows + rest)


@pytest.mark.parametrize("query,status,detail", [
    ("from=5&to=1", 422, "greater than to"), ("from=1e5&to=7", 400, "&#39;e&#39;"),
    ("from=1", 400, "to is empty"), ("from=0&to=700000", 422, "to = 700000 is beyond")])
def test_the_page_shows_what_a_run_refuses(client, query, status, detail):
    r = client.get(f"/?{query}")
    assert r.status_code == status and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert 'id="range-problem-detail"' in html and detail in html
    assert "range-table" not in html
