"""Malformed paths, query strings and headers, through Nginx and straight to
Gunicorn: no 5xx ever, every error body problem+json, and for a malformed
integer a 400 whose detail names what is wrong."""

import json

import pytest

import http_raw as http

# (path as sent, what the detail must contain, or None for any 4xx problem)
BAD_N = [
    ("1.5", "'.'"), ("1e5", "'e'"), ("1E5", "'E'"), ("0x10", "'x'"), ("0X1F", "'X'"),
    ("+5", "'+'"), ("%2B5", "'+'"), ("%205", "whitespace"), ("5%20", "whitespace"),
    ("%095", "whitespace"), ("%E2%80%8B5", "U+200B"), ("%D9%A1%D9%A2", "U+0661"),
    ("%EF%BC%91%EF%BC%92", "U+FF11"), ("%E0%A5%A7", "U+0967"), ("%F0%9D%9F%8F", "U+1D7CF"),
    ("-", "no digits"), ("--5", "'-'"), ("5-", "'-'"), ("-%2D5", "'-'"),
    ("1" * 20, "20 digits"), ("9" * 19, "out of range"), ("9223372036854775808", "out of range"),
    ("-9223372036854775809", "out of range"), ("1" * 200, "200 digits"),
    ("abc", "'a'"), ("NaN", "'N'"), ("Infinity", "'I'"), ("inf", "'i'"), ("null", "'n'"),
    ("true", "'t'"), ("1_000", "'_'"), ("1,000", "','"), ("%2C5", "','"), ("5;x", "';'"),
    ("%00", "U+0000"), ("5%00", "U+0000"), ("%FF", "U+FFFD"), ("%C0%AE", "U+FFFD"),
    ("%25", "'%'"), ("%2525", "'%'"), ("5%23", "'#'"), ("(5)", "'('"), ("0b101", "'b'"),
    ("0o17", "'o'"), ("١٢".encode().decode("latin-1"), None), ("5e", "'e'"), (".5", "'.'"),
]

OTHER_PATHS = [
    "/api/v1/fib/", "/api/v1/fib", "/api/v1/fib//job", "/api/v1/fib/5/mod/", "/api/v1/fib/5/mod/x",
    "/api/v1/fib/5/mod/1.0", "/api/v1/fib/5/mod/%2D", "/api/v1/fib/%2F5", "/api/v1/fib/..%2F..%2Fetc",
    "/api/v1/fib/5/../../../etc/passwd", "/api/v2/fib/5", "/calculate/", "/calculate/x",
    "/calculate_v4/python/", "/calculate_v4/%2E%2E/5", "/calculate_v4/PYTHON/5",
    "/get?after=", "/get?after=1.5", "/get?limit=-1", "/get?limit=99999999999999999999",
    "/get?after=%EF%BC%91", "/api/v1/fib/5?n=6", "/api/v1/fib/5/digits/x", "/healthz/x",
    "/static/../web/db.py", "/static/%2e%2e/db.py", "/" + "a" * 5000,
]

BAD_HEADERS = [
    ["If-None-Match: garbage"], ["If-None-Match: *"], ["If-None-Match: " + '"x",' * 500],
    ["Accept: text/html"], ["Accept-Encoding: bogus"], ["Range: bytes=5-1"],
    ["X-Forwarded-For: not-an-ip"], ["X-Forwarded-Host: evil.example"],
    ["Cookie: " + "a" * 9000], ["X-Big: " + "b" * 20000], ["Content-Length: abc"], ["Content-Length: -1"],
    ["Transfer-Encoding: gzip"], ["Transfer-Encoding: chunked", "Content-Length: 3"],
    ["Host: "], ["Expect: 100-continue"], ["Authorization: Basic !!!"],
]


def assert_problem_or_ok(answer, where):
    assert answer.status < 500, (where, answer.status, answer.body[:300])
    if answer.status >= 400:
        assert answer.headers.get("content-type") == "application/problem+json", \
            (where, answer.headers, answer.body[:300])
        body = json.loads(answer.body)
        assert body["status"] == answer.status and body["title"] and body["detail"], where
        assert b"Traceback" not in answer.body
        return body
    return None


def _base(stack, via):
    return stack.url if via == "nginx" else stack.gunicorn_url


@pytest.mark.parametrize("via", ["nginx", "gunicorn"])
@pytest.mark.parametrize("segment,named", BAD_N)
def test_malformed_n_is_400_naming_the_fault(stack, via, segment, named):
    for template in ("/api/v1/fib/{}", "/api/v1/fib/{}/digits", "/calculate_v2/{}",
                     "/api/v1/fib/7/mod/{}"):
        path = template.format(segment)
        answer = http.get(_base(stack, via), path)
        body = assert_problem_or_ok(answer, path)
        assert answer.status in (400, 404), (path, answer.status)
        if answer.status == 400 and named and body.get("parameter"):
            assert named in body["detail"], (path, body["detail"])


@pytest.mark.parametrize("via", ["nginx", "gunicorn"])
@pytest.mark.parametrize("path", OTHER_PATHS)
def test_other_malformed_paths(stack, via, path):
    answer = http.get(_base(stack, via), path)
    assert_problem_or_ok(answer, path)


@pytest.mark.parametrize("headers", BAD_HEADERS, ids=lambda h: h[0][:30])
def test_malformed_headers_through_nginx(stack, headers):
    answer = http.get(stack.url, "/api/v1/fib/12", headers)
    body = assert_problem_or_ok(answer, headers[0][:40])
    if body is None and answer.status == 200:
        assert json.loads(answer.body)["value"] == "144"


@pytest.mark.parametrize("line", [
    "GET /api/v1/fib/1 2 HTTP/1.1", "GET /api/v1/fib/\x7f HTTP/1.1", "BREW /api/v1/fib/1 HTTP/1.1",
    "POST /api/v1/fib/1 HTTP/1.1", "DELETE /api/v1/fib/1 HTTP/1.1", "GET api/v1/fib/1 HTTP/1.1",
    "GET /api/v1/fib/1 HTTP/9.9", "GET /api/v1/fib/1 HTTP/2.0", "GET /?n=%FF HTTP/1.1",
])
def test_malformed_request_lines_through_nginx(stack, line):
    answer = http.raw(stack.url, line)
    assert answer.status < 500, (line, answer.status)
    if answer.status >= 400 and not line.startswith("GET /?"):
        assert answer.headers.get("content-type") == "application/problem+json", line


def test_page_with_a_malformed_n_is_400_html_naming_the_fault(stack):
    answer = http.get(stack.url, "/?n=1e5")
    assert answer.status == 400
    assert answer.headers["content-type"].startswith("text/html")
    assert b"contains &#39;e&#39;" in answer.body or b"contains 'e'" in answer.body


def test_more_than_fifty_cases():
    assert len(BAD_N) * 4 + len(OTHER_PATHS) + len(BAD_HEADERS) >= 50
