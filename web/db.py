"""The database: one psycopg connection pool per process, and every query.

Each request issues one parameterised SELECT of a pg_fib function; all of
them are below, and nowhere else.  The pool's connections prepare every
statement on its first use (prepare_threshold=0), run in autocommit (each
SELECT is its own transaction) and carry a statement_timeout below
Gunicorn's timeout.  The app never computes: Python only slices and formats.
"""

import time

import psycopg
from flask import current_app
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

# Where a value comes from, the one rule: a row with finished_at set is the
# memo's; a 'done' row without it is computed inline by this query.
_SOURCE = "CASE WHEN j.finished_at IS NOT NULL THEN 'memo' ELSE 'computed' END"

# The job of F(n), queued when needed (fib_request), and when it is done the
# value: whole up to %(max_digits)s digits, else its leading and trailing 20
# digits, which fib_leading and fib_trailing give in microseconds without
# building the text (only the columns the routes use: parsing timestamps
# costs).
VALUE_SQL = f"""
SELECT j.n, j.state, j.progress, j.digits, j.error, {_SOURCE} AS source,
       current_setting('pg_fib.sync_max_n')::bigint AS sync_max_n,
       fib_sign(j.n) < 0 AS negative,
       CASE WHEN j.state = 'done' AND j.digits <= %(max_digits)s THEN fib_text(j.n) END AS value,
       CASE WHEN j.state = 'done' AND j.digits > %(max_digits)s THEN fib_leading(j.n, 20) END AS leading,
       CASE WHEN j.state = 'done' AND j.digits > %(max_digits)s THEN fib_trailing(j.n, 20) END AS trailing
FROM fib_request(%(n)s) AS j
"""

# The job as it stands, queuing nothing; NULL columns when F(n) was never
# requested nor memoized.
JOB_SQL = f"SELECT j.*, {_SOURCE} AS source FROM fib_status(%(n)s) AS j"

MOD_SQL = "SELECT fib_mod(%(n)s, %(m)s) AS value"

# The full decimal in chunks, for a server-side cursor: the first row carries
# the job; when it is done, every row carries one chunk of the text, which
# the server builds once.
DIGITS_SQL = """
SELECT j.n, j.state, j.progress, j.digits, j.error, length(t.t) AS length,
       substr(t.t, i.i::integer, %(chunk)s) AS chunk
FROM fib_request(%(n)s) AS j
LEFT JOIN LATERAL (SELECT fib_text(j.n) AS t WHERE j.state = 'done' OFFSET 0) AS t ON true
LEFT JOIN LATERAL generate_series(1, length(t.t), %(chunk)s) AS i(i) ON true
"""

# A page of the memo (fib_web_memo_page, deploy/fib_web.sql), with the value
# when it is short.
MEMO_PAGE_SQL = """
SELECT p.n, p.digits, CASE WHEN p.digits <= %(max_digits)s THEN fib_text(p.n) END AS value
FROM fib_web_memo_page(%(after)s, %(limit)s) AS p
"""

# What can be said of F(n) for every bigint n, exactly and in microseconds
# (extension 1.1), and whether the value itself can be had: |n| up to this
# role's pg_fib.max_n.
ABOUT_SQL = """
SELECT fib_digits(%(n)s) AS digits, fib_leading(%(n)s, 20) AS leading,
       fib_trailing(%(n)s, 20) AS trailing, fib_sign(%(n)s) < 0 AS negative,
       abs(%(n)s::numeric) <= current_setting('pg_fib.max_n')::numeric AS computable
"""

# The keeper and the compute workers (fib_web_health, deploy/fib_web.sql).
HEALTH_SQL = "SELECT * FROM fib_web_health()"


def init_app(app):
    """Create this process's pool (Gunicorn imports the app in each worker,
    after the fork) and open it without waiting for the database."""
    timeout_ms = int(app.config["STATEMENT_TIMEOUT_MS"])
    pool = ConnectionPool(
        app.config["DATABASE_URL"],
        min_size=int(app.config["POOL_MIN_SIZE"]),
        max_size=int(app.config["POOL_MAX_SIZE"]),
        timeout=float(app.config["POOL_TIMEOUT"]),
        kwargs={
            "autocommit": True,
            "prepare_threshold": 0,
            "row_factory": dict_row,
            "connect_timeout": 3,
            "application_name": "pg_fib web",
            "options": f"-c statement_timeout={timeout_ms}",
        },
        open=False,
        name="pg_fib-web",
    )
    pool.open(wait=False)
    app.extensions["pg_fib_pool"] = pool


def _pool():
    return current_app.extensions["pg_fib_pool"]


def check_pool():
    """Drop the pool's broken idle connections (after a connection error)."""
    try:
        _pool().check()
    except Exception:  # the pool reports its own failures in its log
        pass


def _one(sql, params):
    return _run(sql, params, lambda cursor: cursor.fetchone())


def _run(sql, params, fetch):
    """fetch(cursor) of one query.  A pooled connection that the server
    closed (after a restart) fails the first query sent on it: then the pool
    checks its idle connections and the query runs once more on another one.
    Every query here may run twice: fib_request is idempotent."""
    for attempt in (1, 2):
        conn = None
        try:
            with _pool().connection() as conn:
                return fetch(conn.execute(sql, params))
        except psycopg.OperationalError:
            if attempt == 2 or conn is None or not conn.broken:
                raise
            check_pool()


def value(n, max_digits):
    """The job row of F(n) with its value when done (VALUE_SQL)."""
    return _one(VALUE_SQL, {"n": n, "max_digits": max_digits})


def timed_value(n, max_digits):
    """value(n), and the seconds the query took, measured around it."""
    start = time.perf_counter()
    row = value(n, max_digits)
    return row, time.perf_counter() - start


def job(n):
    return _one(JOB_SQL, {"n": n})


def mod(n, m):
    return _one(MOD_SQL, {"n": n, "m": m})["value"]


def memo_page(after, limit, max_digits):
    return _run(MEMO_PAGE_SQL, {"after": after, "limit": limit, "max_digits": max_digits},
                lambda cursor: cursor.fetchall())


def about(n):
    return _one(ABOUT_SQL, {"n": n})


def health():
    return _one(HEALTH_SQL, {})


class Digits:
    """The decimal of F(n), read in chunks from a server-side cursor.

    open() runs the query and fetches the first row (the job); chunks()
    yields the text chunk by chunk and then gives the connection back, as
    close() does.  The worker holds one chunk at a time.
    """

    def __init__(self, n, chunk):
        self.n = n
        self.chunk = chunk
        self._conn = None
        self._cursor = None
        self.first = None

    def open(self):
        self._conn = _pool().getconn()
        try:
            self._conn.autocommit = False  # a named cursor lives in a transaction
            self._cursor = self._conn.cursor(name="pg_fib_digits")
            self._cursor.execute(DIGITS_SQL, {"n": self.n, "chunk": self.chunk})
            self.first = self._cursor.fetchone()
        except BaseException:
            self.close()
            raise
        return self.first

    def chunks(self):
        try:
            if self.first["chunk"] is not None:
                yield self.first["chunk"]
            while True:
                row = self._cursor.fetchone()
                if row is None:
                    break
                yield row["chunk"]
        finally:
            self.close()

    def close(self):
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.rollback()
            conn.autocommit = True
        except psycopg.Error:
            pass  # a broken connection: the pool discards it
        _pool().putconn(conn)
