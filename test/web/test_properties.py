"""Property-based: for every route of the API's description, Hypothesis
draws parameters that the description allows (from their schemas'
patterns) and parameters it does not (any text), sends them, and checks
that no answer is a 5xx and that every answer is what the description says
(the CheckedClient of conftest.py validates status, headers and body), as
Schemathesis does for OpenAPI services.  Through Flask's test client, and a
smaller run through the real stack (Nginx and Gunicorn)."""

import json
import string
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import http_raw as http
from conftest import CHECKER

# Routes whose answers are not the client's to check: /metrics (loopback)
# and the docs Nginx serves are covered elsewhere.
SKIP = {"/metrics", "/api/docs", "/static/{filename}"}
PATHS = [path for path, item in CHECKER.doc["paths"].items() if path not in SKIP]

# Anything a client might put in a path segment or a query value.
ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
ODD_TEXT = st.sampled_from(["", "-", "+5", "0x1F", "1e5", "1.5", " 7", "%", "..", "١٢", "１２",
                            "-0", "007", "9" * 20, str(2 ** 63), str(-2 ** 63 - 1)])


def _value(schema):
    """A strategy for a parameter with this schema: what it allows, and what
    it does not."""
    if "enum" in schema:
        allowed = st.sampled_from(schema["enum"])
    elif "pattern" in schema:
        allowed = st.from_regex(schema["pattern"], fullmatch=True)
    else:
        allowed = st.text(alphabet=string.ascii_letters + string.digits, max_size=12)
    return st.one_of(allowed, ODD_TEXT, ANY_TEXT)


def _parameters(path):
    item = CHECKER.doc["paths"][path]
    return item.get("parameters", []) + item["get"].get("parameters", [])


def requests(path):
    """A strategy for (path with its parameters filled, query string)."""
    params = _parameters(path)
    in_path = [p for p in params if p["in"] == "path"]
    in_query = [p for p in params if p["in"] == "query"]

    @st.composite
    def draw(draw_):
        url = path
        for p in in_path:
            url = url.replace("{" + p["name"] + "}", quote(draw_(_value(p["schema"])), safe=""))
        query = "&".join(f"{p['name']}={quote(draw_(_value(p['schema'])), safe='')}"
                         for p in in_query if draw_(st.booleans()))
        return url, query
    return draw()


def server_error(status, body):
    """A 5xx other than the one a client earns by asking: the drawn n are
    often large, all from one address, and beyond FIB_WEB_MAX_JOBS_PER_CLIENT
    jobs under way its next new one is refused with 503 sqlstate-53400
    (Retry-After), as described."""
    if status < 500:
        return False
    if status == 503:
        try:
            return not json.loads(body)["type"].endswith("/problems/sqlstate-53400")
        except (ValueError, KeyError, TypeError):
            return True
    return True


@pytest.mark.parametrize("path", PATHS)
def test_no_drawn_request_gets_a_5xx_and_every_answer_is_described(client, path):
    @settings(max_examples=60, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(requests(path))
    def check(request):
        url, query = request
        response = client.get(url, query_string=query)  # CheckedClient checks it
        assert not server_error(response.status_code, response.get_data()), \
            (url, query, response.get_data(as_text=True))
    check()


@pytest.mark.parametrize("path", [p for p in PATHS if "{n}" in p])
def test_through_the_stack_no_drawn_request_gets_a_5xx(stack, path):
    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(requests(path))
    def check(request):
        url, query = request
        answer = http.get(stack.url, url + (f"?{query}" if query else ""))  # checked too
        assert not server_error(answer.status, answer.body), \
            (url, query, answer.status, answer.body[:300])
    check()


def test_a_percent_encoded_question_mark_stays_in_its_segment(client):
    """Hypothesis drew /api/v1/fib/0%3F/mod/: n is "0?" and m is empty, so
    no route matches (404); the checker once took the decoded "?" for the
    start of a query and judged the answer as /api/v1/fib/{n}'s."""
    assert client.get("/api/v1/fib/0%3F/mod/").status_code == 404
    assert client.get("/api/v1/fib/0%3F").status_code == 400
    assert client.get("/api/v1/fib/1%25").status_code == 400
