"""A what-if app for bench/web.sh's alternatives: the bare Flask route plus
the least a value lookup can cost, one statement per request through
Debian's psycopg2 (C), prepared once per connection on the server
(PREPARE, then EXECUTE: one round trip).  No pool, no middleware, no
metrics.  Whatever pg_fib's web front becomes, with Flask under Gunicorn's
sync workers and a query per request it will not be faster than this: its
ratio to the bare route is the ceiling of the issue's goals.

    GET /floor/<n>         SELECT fib_text(n)
    GET /floor_tagged/<n>  the same, setting application_name to the
                           request's id (X-Request-Id) in the statement, as
                           web/db.py does

Both answer {"n", "source", "value"} like /api/v1/fib/<n>.  Run by
bench/web.sh as a Gunicorn app of its own (deploy/gunicorn.conf.py), with
BENCH_FLOOR_DATABASE_URL (a libpq connection string of fib_web) set:

    gunicorn --config deploy/gunicorn.conf.py 'bench.web_floor:create_app()'
"""

import os

import psycopg2
from flask import Flask, request

PLAIN = "SELECT public.fib_text($1)"
# The argument comes from a row, as in web/db.py, so that the one-time
# filter runs first.
TAGGED = """
SELECT public.fib_text(a.n) FROM (SELECT $1::bigint AS n OFFSET 0) AS a
WHERE (SELECT pg_catalog.set_config('application_name', $2, false)) IS NOT NULL
"""


def create_app():
    app = Flask(__name__)
    url = os.environ["BENCH_FLOOR_DATABASE_URL"]
    conn = None

    def cursor():
        # One connection per worker, made after Gunicorn's fork.
        nonlocal conn
        if conn is None or conn.closed:
            conn = psycopg2.connect(url)
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"PREPARE plain(bigint) AS {PLAIN}; "
                            f"PREPARE tagged(bigint, text) AS {TAGGED}")
        return conn.cursor()

    @app.get("/floor/<int:n>")
    def floor(n):
        with cursor() as cur:
            cur.execute("EXECUTE plain(%s)", (n,))
            (value,) = cur.fetchone()
        return {"n": str(n), "source": "memo", "value": value}

    @app.get("/floor_tagged/<int:n>")
    def floor_tagged(n):
        name = "pg_fib web " + request.headers.get("X-Request-Id", "-")[:48]
        with cursor() as cur:
            cur.execute("EXECUTE tagged(%s, %s)", (n, name))
            (value,) = cur.fetchone()
        return {"n": str(n), "source": "memo", "value": value}

    return app
