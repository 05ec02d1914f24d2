"""The database: every query, and the pools they run on (web.pools).

Each request issues one parameterised SELECT of a pg_fib function; all of
them are below, and nowhere else.  The pools' connections prepare every
statement on its first use (prepare_threshold=0), run in autocommit (each
SELECT is its own transaction) and carry a statement_timeout below
Gunicorn's timeout.  Each statement first sets application_name to the
request's id (web.requestid), so that a slow or failed request can be found
in PostgreSQL's log (%a in log_line_prefix) and in pg_stat_activity: the
condition of WHERE is a one-time filter, evaluated before anything else the
statement does.  The app never computes: Python only slices and formats.
"""

import re

import psycopg
from flask import current_app, request

from web import requester, requestid
from web.pools import Pools

# How many of a value's first and last digits the routes give where they do
# not give it whole (beyond FIB_WEB_VALUE_MAX_DIGITS, and /about).
ENDS = 20

# Where a value comes from, the one rule: a row with finished_at set is the
# memo's; a 'done' row without it is computed inline by this query.
_SOURCE = "CASE WHEN j.finished_at IS NOT NULL THEN 'memo' ELSE 'computed' END"

# The condition every statement ends with: the request's id as the
# session's application_name, set before the rest of the statement runs
# (a one-time filter, checked before any row is made), so that its log
# lines, an error's too, carry the id.  The arguments of pg_fib's
# IMMUTABLE functions therefore come from a row (_N, _N_M), never as bare
# parameters: the planner would call such a function on constants while
# planning, before the filter runs, and an error would be logged under the
# previous request's id.
_TAGGED = "WHERE (SELECT pg_catalog.set_config('application_name', %(application_name)s, false)) IS NOT NULL"
_N = "(SELECT %(n)s::bigint AS n OFFSET 0) AS a"
_N_M = "(SELECT %(n)s::bigint AS n, %(m)s::bigint AS m OFFSET 0) AS a"

# The job of F(n) as a lateral row j: queued when needed (fib_request, for
# the client %(requester)s names: web.requester).  A done job (a memo hit,
# or n small enough to compute inline) is fib_status's row as it is:
# fib_request would read the same row again and answer it unchanged.  A
# job which ended failed less than %(failed_hold)s seconds ago is reported
# as it is too (fib_request would queue it again at once, and a client
# would never see why it failed); after that, asking queues it again.
_JOB = """
fib_status(%(n)s) AS s
CROSS JOIN LATERAL (
    SELECT CASE WHEN s.state = 'done'
                  OR (s.state = 'failed'
                      AND s.finished_at > now() - make_interval(secs => %(failed_hold)s))
                THEN s ELSE fib_request(%(n)s, %(requester)s) END AS job
    OFFSET 0) AS r
CROSS JOIN LATERAL (SELECT (r.job).*) AS j
"""

# The job of F(n), and when it is done the value: whole up to
# %(max_digits)s digits, else its leading and trailing ENDS digits, which
# fib_leading and fib_trailing give in microseconds without building the
# text (only the columns the routes use: parsing timestamps costs).
_VALUE_COLUMNS = f"""
SELECT j.n, j.state, j.progress, j.digits, j.error, {_SOURCE} AS source,
       fib_sign(j.n) < 0 AS negative,
       CASE WHEN j.state = 'done' AND j.digits <= %(max_digits)s THEN fib_text(j.n) END AS value,
       CASE WHEN j.state = 'done' AND j.digits > %(max_digits)s THEN fib_leading(j.n, {ENDS}) END AS leading,
       CASE WHEN j.state = 'done' AND j.digits > %(max_digits)s THEN fib_trailing(j.n, {ENDS}) END AS trailing"""


def _text(value):
    return value.decode()


def _bool(value):
    return value == b"t"


class Statement:
    """A statement run through libpq's own calls (web.pools.Server.fetch_row):
    its SQL with psycopg's %(name)s placeholders numbered $1, $2, ... in
    the order they first appear, and how to read each column of its row
    from text."""

    def __init__(self, name, sql, columns):
        self.name = name.encode()
        self.template = sql
        self.params = []

        def number(match):
            if match.group(1) not in self.params:
                self.params.append(match.group(1))
            return f"${self.params.index(match.group(1)) + 1}"

        self.sql = re.sub(r"%\((\w+)\)s", number, sql).encode()
        self.columns = columns

    def values(self, params):
        """The parameters as libpq's text values, in their order."""
        return [str(params[name]).encode() for name in self.params]

    def row(self, values):
        """The row as a dict, from the text values fetch_row gives."""
        if values is None:
            return None
        return {name: None if value is None else read(value)
                for (name, read), value in zip(self.columns, values)}


_VALUE_READ = [("n", int), ("state", _text), ("progress", float), ("digits", int),
               ("error", _text), ("source", _text), ("negative", _bool), ("value", _text),
               ("leading", _text), ("trailing", _text)]

# The API's and the page's: the job and the value.
VALUE = Statement("pg_fib_web_value", f"{_VALUE_COLUMNS} FROM {_JOB} {_TAGGED}", _VALUE_READ)

# The old stack's routes', which also say pg_fib.sync_max_n and the seconds
# the database has spent on the statement.
SENTENCE = Statement("pg_fib_web_sentence", f"""{_VALUE_COLUMNS},
       current_setting('pg_fib.sync_max_n')::bigint AS sync_max_n,
       extract(epoch FROM clock_timestamp() - statement_timestamp())::float8 AS db_seconds
FROM {_JOB} {_TAGGED}""", _VALUE_READ + [("sync_max_n", int), ("db_seconds", float)])

# The job as it stands, queuing nothing; NULL columns when F(n) was never
# requested nor memoized.
JOB_SQL = f"SELECT j.*, {_SOURCE} AS source FROM fib_status(%(n)s) AS j {_TAGGED}"

MOD_SQL = f"SELECT fib_mod(a.n, a.m) AS value FROM {_N_M} {_TAGGED}"

# The full decimal in chunks, for a server-side cursor: the first row carries
# the job; when it is done, every row carries one chunk of the text, which
# the server builds once.  The chunks are cut from the text's bytes (it is
# ASCII): substr() of a text counts characters from its start in a UTF-8
# database, which made the 80 chunks of F(10^8) take 11 s instead of 0.5 s.
DIGITS_SQL = f"""
SELECT j.n, j.state, j.progress, j.digits, j.error, octet_length(t.b) AS length,
       convert_from(substring(t.b FROM i.i::integer FOR %(chunk)s), 'UTF8') AS chunk
FROM {_JOB}
LEFT JOIN LATERAL (SELECT convert_to(fib_text(j.n), 'UTF8') AS b
                   WHERE j.state = 'done' OFFSET 0) AS t ON true
LEFT JOIN LATERAL generate_series(1, octet_length(t.b), %(chunk)s) AS i(i) ON true
{_TAGGED}
"""

# A page of the memo (fib_web_memo_page, deploy/fib_web.sql), with the value
# when it is short.
MEMO_PAGE_SQL = f"""
SELECT p.n, p.digits, CASE WHEN p.digits <= %(max_digits)s THEN fib_text(p.n) END AS value
FROM fib_web_memo_page(%(after)s, %(limit)s) AS p
{_TAGGED}
"""

# A page of the run F(first), ..., F(last) (fib_series): its first %(rows)s
# values, where rows is how many of F(first), ..., F(stop) fit in
# %(max_digits)s digits in all (fib_digits, without building a value), and
# at least one.  fib_series refuses first and last as fib(n) refuses n
# (54000, 22003) before any row, and computes each row as it is read, so the
# LIMIT stops the run.  stop (first + 999 at most, never beyond last) comes
# from the app, which has no bigint overflow to fear.
SERIES_SQL = f"""
SELECT s.n, s.value::text AS value
FROM (SELECT %(first)s::bigint AS a, %(last)s::bigint AS b, %(stop)s::bigint AS c
      OFFSET 0) AS r
CROSS JOIN LATERAL (
    SELECT greatest(count(*) FILTER (WHERE d.total <= %(max_digits)s), 1) AS rows
    FROM (SELECT sum(fib_digits(k.k)) OVER (ORDER BY k.k) AS total
          FROM pg_catalog.generate_series(r.a, r.c) AS k(k)) AS d) AS e
CROSS JOIN LATERAL (SELECT f.n, f.value FROM fib_series(r.a, r.b) AS f LIMIT e.rows) AS s
{_TAGGED}
ORDER BY s.n
"""

# What can be said of F(n) for every bigint n, exactly and in microseconds
# (extension 1.1), and whether the value itself can be had: |n| up to this
# role's pg_fib.max_n, which max_n gives.
ABOUT_SQL = f"""
SELECT fib_digits(a.n) AS digits, fib_leading(a.n, {ENDS}) AS leading,
       fib_trailing(a.n, {ENDS}) AS trailing, fib_sign(a.n) < 0 AS negative,
       abs(a.n::numeric) <= l.max_n AS computable, l.max_n
FROM {_N}
CROSS JOIN (SELECT current_setting('pg_fib.max_n')::bigint AS max_n) AS l
{_TAGGED}
"""

# The keeper and the compute workers, and whether the server is a standby
# (fib_web_health, deploy/fib_web.sql).
HEALTH_SQL = f"SELECT * FROM fib_web_health() {_TAGGED}"

# The queue and the memo at a glance, for /metrics (fib_web_stats,
# deploy/fib_web.sql).
STATS_SQL = f"SELECT * FROM fib_web_stats() {_TAGGED}"


def init_app(app, on_query):
    """Create this process's pools (Gunicorn imports the app in each worker,
    after the fork) and open them without waiting for the database;
    on_query(server name, outcome) hears of every query (web.metrics)."""
    timeout_ms = int(app.config["STATEMENT_TIMEOUT_MS"])
    app.extensions["pg_fib_pools"] = Pools(
        app.config["DATABASE_URL"],
        replica_urls(app.config["REPLICA_URLS"]),
        min_size=int(app.config["POOL_MIN_SIZE"]),
        max_size=int(app.config["POOL_MAX_SIZE"]),
        timeout=float(app.config["POOL_TIMEOUT"]),
        replica_timeout=float(app.config["REPLICA_POOL_TIMEOUT"]),
        retry_seconds=float(app.config["REPLICA_RETRY_SECONDS"]),
        primary_retry_seconds=float(app.config["PRIMARY_RETRY_SECONDS"]),
        deadline=timeout_ms / 1000 + float(app.config["DEADLINE_MARGIN_SECONDS"]),
        connect_kwargs={
            "autocommit": True,
            "prepare_threshold": 0,
            "connect_timeout": 3,
            "application_name": requestid.APPLICATION_NAME,
            # A client's jobs queued or running (web.requester): beyond,
            # 53400 for that client only.
            "options": f"-c statement_timeout={timeout_ms} -c pg_fib.max_queued_per_requester="
                       f"{int(app.config['MAX_JOBS_PER_CLIENT'])}",
        },
        on_query=on_query,
    )


def replica_urls(setting):
    """FIB_WEB_REPLICA_URLS: a JSON list of libpq connection strings (from
    the environment), a list (from a config mapping), or empty."""
    if not setting:
        return []
    if isinstance(setting, str):
        return [setting]
    return list(setting)


def pools():
    return current_app.extensions["pg_fib_pools"]


def _run(sql, params, fetch, read):
    params = dict(params, application_name=requestid.application_name())
    return pools().run(lambda server: server.query(sql, params, fetch), read=read)


def _one(sql, params, read):
    return _run(sql, params, lambda cursor: cursor.fetchone(), read)


def _failed_hold():
    return float(current_app.config["FAILED_JOB_RETRY_SECONDS"])


def value_row(pools_, statement, n, max_digits, failed_hold, application_name, requester_key):
    """The job row of F(n) with its value when done (VALUE or SENTENCE),
    queued for requester_key when needed, from a replica when one has it;
    usable outside a Flask request (web.hotpath)."""
    values = statement.values({"n": n, "max_digits": max_digits, "failed_hold": failed_hold,
                               "application_name": application_name,
                               "requester": requester_key})
    return statement.row(pools_.run(lambda server: server.fetch_row(statement, values),
                                    read=True))


def value(n, max_digits, statement=VALUE):
    """value_row in this request."""
    return value_row(pools(), statement, n, max_digits, _failed_hold(),
                     requestid.application_name(), requester.of(request.environ))


def job(n):
    """The job as the queue, on the primary, has it."""
    return _one(JOB_SQL, {"n": n}, read=False)


def mod(n, m):
    return _one(MOD_SQL, {"n": n, "m": m}, read=True)["value"]


def memo_page(after, limit, max_digits):
    return _run(MEMO_PAGE_SQL, {"after": after, "limit": limit, "max_digits": max_digits},
                lambda cursor: cursor.fetchall(), read=True)


def series(first, last, stop, max_digits):
    """A page of the run F(first), ..., F(last) (SERIES_SQL): rows n, value."""
    return _run(SERIES_SQL, {"first": first, "last": last, "stop": stop,
                             "max_digits": max_digits},
                lambda cursor: cursor.fetchall(), read=True)


def about(n):
    return _one(ABOUT_SQL, {"n": n}, read=True)


def health():
    """fib_web_health() on the primary."""
    return _one(HEALTH_SQL, {}, read=False)


def replica_health(server):
    """fib_web_health() on one replica, asked directly (not in turn)."""
    params = {"application_name": requestid.application_name()}
    return server.query(HEALTH_SQL, params, lambda cursor: cursor.fetchone())


def stats():
    return _one(STATS_SQL, {}, read=False)


class Digits:
    """The decimal of F(n), read in chunks from a server-side cursor, on a
    replica when one has the value.

    open() runs the query and fetches the first row (the job); chunks()
    yields the text chunk by chunk and then gives the connection back, as
    close() does.  The worker holds one chunk at a time.
    """

    def __init__(self, n, chunk):
        self.n = n
        self.chunk = chunk
        self._pool = None
        self._server = None
        self._conn = None
        self._cursor = None
        self.first = None

    def open(self):
        params = {"n": self.n, "chunk": self.chunk, "failed_hold": _failed_hold(),
                  "application_name": requestid.application_name(),
                  "requester": requester.of(request.environ)}
        self.first = pools().run(lambda server: self._open_on(server, params), read=True)
        return self.first

    def _open_on(self, server, params):
        self._server = server
        self._pool, self._conn = server.getconn()
        try:
            self._conn.autocommit = False  # a named cursor lives in a transaction
            self._cursor = self._conn.cursor(name="pg_fib_digits")
            first = server.call(self._conn, lambda: self._fetch(DIGITS_SQL, params))
            server.answered()
            return first
        except BaseException:
            self.close()
            raise

    def _fetch(self, sql=None, params=None):
        if sql is not None:
            self._cursor.execute(sql, params)
        return self._cursor.fetchone()

    def chunks(self):
        try:
            if self.first["chunk"] is not None:
                yield self.first["chunk"]
            while True:
                row = self._server.call(self._conn, self._fetch)
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
            self._server.call(conn, conn.rollback)
            conn.autocommit = True
        except psycopg.Error:
            pass  # a broken connection: the pool discards it
        self._pool.putconn(conn)
