"""GET /api/v1/fib/<n>, the hot path, answered before Flask.

A memo hit through Flask cost the workers' CPU three times what a bare Flask
route costs, and Flask's own request handling was most of the difference
that psycopg's and the hooks' did not make (bench/web_profile.py: the app
without Flask, with one prepared statement through libpq, runs at the bare
route's speed).  So this WSGI middleware, in front of Flask, answers the
route's common outcomes itself: the value (200) and a job under way (202),
with everything Flask's answer has: the same JSON and headers (built by
web.results, which the Flask view uses too), the request's id (in the
answer, and as PostgreSQL's application_name), the metrics, the replicas
and the deadlines (the same pools, the same statement).

Everything else goes on to Flask, which answers it as before: another
method, a path that is not the canonical /api/v1/fib/<n>, a conditional
request (If-None-Match), a failed job, and any error (the query raises, or
the job failed): for those the query runs again in Flask, so an error costs
a second query, a value never does.
"""

import json
import re
import time

import psycopg
import psycopg_pool

from web import cors, db, metrics, requestid
from web.inputs import BIGINT_MAX, BIGINT_MIN
from web.results import (IMMUTABLE, NO_STORE, POLL_SECONDS, etag_of, queued_body,
                         value_body)

# The route's rule, as web.api declares it and the metrics label it.
ROUTE = "/api/v1/fib/<n>"
# The canonical way of writing n (web.api redirects the others).
_PATH = re.compile(r"/api/v1/fib/(0|-?[1-9][0-9]{0,18})", re.ASCII)


class HotPath:
    """WSGI middleware: the hot route's common outcomes, then Flask."""

    def __init__(self, wsgi_app, app):
        self.next = wsgi_app
        self.pools = app.extensions["pg_fib_pools"]
        self.max_digits = int(app.config["VALUE_MAX_DIGITS"])
        self.failed_hold = float(app.config["FAILED_JOB_RETRY_SECONDS"])
        # Flask's JSON provider as app.json.response() uses it, for plain
        # types: the same bytes as jsonify (test_api.py compares them).
        self.ensure_ascii = app.json.ensure_ascii
        # Paths of the other routes, from Flask's own URL map.
        self.urls = app.url_map.bind("localhost")

    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        if method in ("GET", "HEAD") and "HTTP_IF_NONE_MATCH" not in environ:
            match = _PATH.fullmatch(environ.get("PATH_INFO", ""))
            if match:
                n = int(match.group(1))
                if BIGINT_MIN <= n <= BIGINT_MAX:
                    answer = self._answer(n, environ)
                    if answer is not None:
                        status, headers, body = answer
                        start_response(status, headers)
                        return [] if method == "HEAD" else [body]
        return self.next(environ, start_response)

    def _answer(self, n, environ):
        """(status, headers, body) of the value or the job under way, or
        None to let Flask answer."""
        start = time.perf_counter()
        request_id = requestid.choose(environ.get("HTTP_X_REQUEST_ID"))
        try:
            row = db.value_row(self.pools, db.VALUE, n, self.max_digits, self.failed_hold,
                               requestid.application_name_of(request_id))
        except (psycopg.Error, psycopg_pool.PoolTimeout):
            return None
        if row["state"] == "done":
            digits_url = None if row["value"] is not None else \
                self.urls.build("api.fib_digits", {"n": str(n)})
            status, code = "200 OK", 200
            body = value_body(n, row, digits_url)
            headers = [("Cache-Control", IMMUTABLE),
                       ("ETag", f'"{etag_of(n, row["source"], self.max_digits)}"')]
        elif row["state"] in ("queued", "running"):
            status, code = "202 ACCEPTED", 202
            body = queued_body(row)
            headers = [("Location", self.urls.build("api.fib_job", {"n": str(n)})),
                       ("Retry-After", POLL_SECONDS), ("Cache-Control", NO_STORE)]
        else:
            return None
        data = (json.dumps(body, ensure_ascii=self.ensure_ascii, separators=(",", ":"))
                + "\n").encode()
        headers += [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                    (requestid.HEADER, request_id), cors.ALLOW_ORIGIN]
        metrics.record(ROUTE, code, time.perf_counter() - start, self.pools)
        return status, headers, data
