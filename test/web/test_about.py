"""GET /api/v1/fib/<n>/about (fib_digits, fib_leading and fib_trailing over
HTTP): the digit count, the
leading and trailing 20 digits and the sign of F(n) for every bigint n,
against Python's int where F(n) can be built and against the database's
functions beyond; the 422 for an n beyond fib_web's pg_fib.max_n links to
it, and the page shows it for such an n, with and without JavaScript."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from test_api import assert_problem, decimal
from test_page import _driver, _quit, browser, csp_violations, shot, submit  # noqa: F401

BIG = 10 ** 18
MAX_N = 100000000  # fib_web's pg_fib.max_n in these suites (the default)


@pytest.mark.parametrize("n", [0, 1, 2, -1, -2, -7, -8, 12, 92, 93, 1000, -1001, 12345, 300001])
def test_about_matches_python_int(client, n):
    r = client.get(f"/api/v1/fib/{n}/about")
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    text = decimal(abs(n))
    assert body == {"n": str(n), "digits": str(len(text)), "leading": text[:20],
                    "trailing": text[-20:], "negative": n < 0 and n % 2 == 0,
                    "value_url": f"/api/v1/fib/{n}"}
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert r.headers["ETag"]


@pytest.mark.parametrize("n", [BIG, 2 ** 63 - 1, -(2 ** 63 - 1), -(2 ** 63), MAX_N + 1])
def test_about_of_any_bigint_n_is_what_the_database_says(client, database, n):
    with database.su() as conn:
        digits, leading, trailing, sign = conn.execute(
            "SELECT fib_digits(%s), fib_leading(%s), fib_trailing(%s), fib_sign(%s)",
            (n, n, n, n)).fetchone()
    r = client.get(f"/api/v1/fib/{n}/about")
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    # strings: every one of these numbers exceeds 2^53 or may
    assert body == {"n": str(n), "digits": str(digits), "leading": leading,
                    "trailing": trailing, "negative": sign < 0}
    assert "value_url" not in body, "beyond fib_web's pg_fib.max_n: no link to a value"


@pytest.mark.parametrize("n", [MAX_N, -MAX_N])
def test_about_links_to_the_value_up_to_exactly_the_limit(client, n):
    body = client.get(f"/api/v1/fib/{n}/about").get_json()
    assert body["value_url"] == f"/api/v1/fib/{n}"
    assert body["digits"] == "20898764"


def test_about_10_18_is_known(client):
    body = client.get(f"/api/v1/fib/{BIG}/about").get_json()
    assert (body["digits"], body["leading"], body["trailing"]) == (
        "208987640249978734", "26289788186792204674", "41183788299560546875")


def test_about_gets_304(client):
    r = client.get("/api/v1/fib/777/about")
    again = client.get("/api/v1/fib/777/about", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("path", ["abc/about", "1.5/about", "+3/about", "99999999999999999999/about"])
def test_about_refuses_a_malformed_n(client, path):
    assert_problem(client.get(f"/api/v1/fib/{path}"), 400)


@pytest.mark.parametrize("route", ["", "/job", "/digits"])
def test_beyond_the_limit_422_links_to_about(client, route):
    n = MAX_N + 1
    body = assert_problem(client.get(f"/api/v1/fib/{n}{route}"), 422, "54000")
    assert body["about"] == f"/api/v1/fib/{n}/about"
    assert client.get(body["about"]).status_code == 200


def test_the_page_shows_what_is_known_beyond_the_limit(stack, browser):
    browser.get(stack.url + "/")
    submit(browser, BIG)
    count = WebDriverWait(browser, 10).until(
        EC.presence_of_element_located((By.ID, "digit-count")))
    assert count.text == "208,987,640,249,978,734"
    assert browser.find_element(By.ID, "leading").text == "26289788186792204674"
    assert browser.find_element(By.ID, "trailing").text == "41183788299560546875"
    assert browser.find_element(By.ID, "problem-detail").text
    shot(browser, "07-beyond-the-limit")
    assert csp_violations(browser) == []


def test_without_javascript_the_page_shows_what_is_known_beyond_the_limit(stack):
    driver = _driver(javascript=False)
    try:
        driver.get(stack.url + f"/?n=-{BIG}")
        assert driver.find_element(By.ID, "digit-count").text == "208,987,640,249,978,734"
        assert "negative" in driver.find_element(By.ID, "about").text
        shot(driver, "08-no-js-beyond-the-limit")
    finally:
        _quit(driver)
