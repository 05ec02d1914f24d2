"""The old stack's routes, in its own sentences, against a real cluster."""

import random
import re

import gmpy2
import pytest

import oracle
from conftest import SYNC_MAX_N
from test_api import assert_problem, decimal, wait_done


def text(client, url):
    r = client.get(url)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "text/plain"
    assert r.headers["Cache-Control"] == "no-store"
    return r.get_data(as_text=True)


def test_calculate_computed_now(client):
    assert text(client, "/calculate/12") == "you entered 12 which has a Fibonacci number of 144"


def test_calculate_v2_v3_computed_now(client):
    for route in ("calculate_v2", "calculate_v3"):
        assert text(client, f"/{route}/12") == \
            "your entered number is: 12, which has a fibonacci number of: 144"


@pytest.mark.parametrize("impl", ["python", "rust", "c"])
def test_calculate_v4_reports_the_database_time(client, impl):
    sentence = text(client, f"/calculate_v4/{impl}/17")
    m = re.fullmatch(r"your entered number is: 17, which has a fibonacci number of: 1597, "
                     r"took (\d+\.\d+(?:e-\d+)?) seconds", sentence)
    assert m and 0 < float(m.group(1)) < 5


def test_calculate_v4_unknown_impl_is_400(client):
    body = assert_problem(client.get("/calculate_v4/java/17"), 400)
    assert "python, rust, c" in body["detail"]


def test_where_the_old_stack_failed_ours_answers(client):
    # n >= 47 overflowed the old Integer column; negative n gave 404.
    assert text(client, "/calculate/100") == \
        f"you entered 100 which has a Fibonacci number of {oracle.fib(100)}"
    assert text(client, "/calculate/-8") == "you entered -8 which has a Fibonacci number of -21"
    assert text(client, "/calculate_v2/-7") == \
        "your entered number is: -7, which has a fibonacci number of: 13"
    # A repeated request stores no duplicate and answers the same.
    for _ in range(3):
        assert text(client, "/calculate/47").endswith(f"of {oracle.fib(47)}")


def test_memo_values_are_existing(client):
    n = SYNC_MAX_N + random.randrange(200000, 300000)
    assert text(client, f"/calculate/{n}") == \
        "calculate fib sent to queue because it's above 3000000"
    assert text(client, f"/calculate_v2/{n}") == (
        f"your entered number is: {n}, which is too large to calculate immediately, "
        "and has been sent to the queue")
    assert text(client, f"/calculate_v4/c/{n}").endswith("has been sent to the queue")
    wait_done(client, n)
    expected = decimal(n)
    assert text(client, f"/calculate/{n}") == \
        f"you entered {n} which has an existing Fibonacci number of {expected}"
    assert text(client, f"/calculate_v3/{n}") == \
        f"your entered number is: {n}, which has an existing fibonacci number of: {expected}"
    sentence = text(client, f"/calculate_v4/python/{n}")
    assert sentence.startswith(f"your entered number is: {n}, which has an existing "
                               f"fibonacci number of: {expected}, took ")


def test_seed_routes_reject_bad_n(client):
    for url in ("/calculate/1.5", "/calculate_v2/abc", "/calculate_v3/%EF%BC%91",
                "/calculate_v4/c/0x10"):
        assert_problem(client.get(url), 400)


def digit_count(n):
    """The digits of F(n), n >= 1, without its decimal: GMP's count is exact
    or one too many."""
    f = gmpy2.fib(n)
    d = gmpy2.num_digits(f, 10)
    return d if f >= gmpy2.mpz(10) ** (d - 1) else d - 1


def test_get_lists_the_memo_by_pages(client, database):
    for n in (6000, 7000, 8000, 9000):
        client.get(f"/api/v1/fib/{n}")
    memo_sql = "SELECT n FROM fib_memo ORDER BY n"
    with database.su() as su:
        before = [r[0] for r in su.execute(memo_sql)]
    assert len(before) >= 2
    seen = []
    url = "/get?limit=2"
    while url:
        r = client.get(url)
        assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
        body = r.get_json()
        assert len(body["entries"]) <= 2
        for entry in body["entries"]:
            n = int(entry["n"])
            seen.append(n)
            # Earlier suites leave values of millions of digits in the memo:
            # their decimals are not built here.
            digits = digit_count(n)
            assert entry["digits"] == str(digits), n
            if digits <= 1000:
                assert entry["value"] == decimal(n)
            else:
                assert "value" not in entry
        url = body["next"]
    # The workers may memoize more meanwhile: every row there before is
    # seen, in order, once, and nothing that is not in the memo after.
    with database.su() as su:
        after = [r[0] for r in su.execute(memo_sql)]
    assert seen == sorted(set(seen))
    assert set(before) <= set(seen) <= set(after)


def test_get_rejects_bad_paging(client):
    for url in ("/get?after=x", "/get?limit=0", "/get?limit=101", "/get?limit=1e2"):
        assert_problem(client.get(url), 400)
