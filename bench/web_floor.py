"""What-if apps for bench/web.sh's alternatives: the least a value lookup
can cost, one statement per request through Debian's psycopg2 (C),
prepared once per connection on the server (PREPARE, then EXECUTE: one
round trip).  No pool, no middleware, no metrics, no error handling.
Whatever pg_fib's web front becomes, with a query per request it will not
be cheaper than these: their ratios to the bare route bound the issue's.

create_app(), Flask:
    GET /floor/<n>         SELECT fib_text(n)
    GET /floor_tagged/<n>  the same, setting application_name to the
                           request's id (X-Request-Id) in the statement, as
                           web/db.py does
create_wsgi(), a WSGI function without a framework:
    GET /wsgi/<n>          as /floor_tagged/<n>

All answer {"n", "source", "value"} like /api/v1/fib/<n>.  Run by
bench/web.sh as Gunicorn apps of their own (deploy/gunicorn.conf.py, also
with gthread workers), with BENCH_FLOOR_DATABASE_URL (a libpq connection
string of fib_web) set:

    gunicorn --config deploy/gunicorn.conf.py 'bench.web_floor:create_app()'
    gunicorn --config deploy/gunicorn.conf.py 'bench.web_floor:create_wsgi()'
"""

import json
import os
import threading

import psycopg2

PLAIN = "SELECT public.fib_text($1)"
# The argument comes from a row, as in web/db.py, so that the one-time
# filter runs first.
TAGGED = """
SELECT public.fib_text(a.n) FROM (SELECT $1::bigint AS n OFFSET 0) AS a
WHERE (SELECT pg_catalog.set_config('application_name', $2, false)) IS NOT NULL
"""


def _cursors():
    """A function giving a cursor on this thread's connection (made after
    Gunicorn's fork, with the statements prepared)."""
    url = os.environ["BENCH_FLOOR_DATABASE_URL"]
    local = threading.local()

    def cursor():
        conn = getattr(local, "conn", None)
        if conn is None or conn.closed:
            conn = local.conn = psycopg2.connect(url)
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"PREPARE plain(bigint) AS {PLAIN}; "
                            f"PREPARE tagged(bigint, text) AS {TAGGED}")
        return conn.cursor()
    return cursor


def _application_name(request_id):
    return "pg_fib web " + (request_id or "-")[:48]


def create_app():
    from flask import Flask, request
    app = Flask(__name__)
    cursor = _cursors()

    @app.get("/floor/<int:n>")
    def floor(n):
        with cursor() as cur:
            cur.execute("EXECUTE plain(%s)", (n,))
            (value,) = cur.fetchone()
        return {"n": str(n), "source": "memo", "value": value}

    @app.get("/floor_tagged/<int:n>")
    def floor_tagged(n):
        with cursor() as cur:
            cur.execute("EXECUTE tagged(%s, %s)",
                        (n, _application_name(request.headers.get("X-Request-Id"))))
            (value,) = cur.fetchone()
        return {"n": str(n), "source": "memo", "value": value}

    return app


def create_wsgi():
    cursor = _cursors()

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/wsgi/") or not path[6:].isdigit():
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        n = int(path[6:])
        with cursor() as cur:
            cur.execute("EXECUTE tagged(%s, %s)",
                        (n, _application_name(environ.get("HTTP_X_REQUEST_ID"))))
            (value,) = cur.fetchone()
        body = json.dumps({"n": str(n), "source": "memo", "value": value}).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    return app
