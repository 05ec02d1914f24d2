"""Where a query goes: the primary, or a read replica.

One psycopg connection pool per server per process (Gunicorn imports the
app in each worker, after the fork).  The rule, in one place:

- Queue requests and job states go to the primary (it has the queue).  A
  primary found unreachable is answered for at once (503) for
  PRIMARY_RETRY_SECONDS, then tried again with a fresh pool, rather than
  have every request wait POOL_TIMEOUT for a connection that cannot be
  made; so each worker answers again with the first request after the
  server is back.
- Value lookups go to the replicas in turn (round robin), skipping one that
  is down for REPLICA_RETRY_SECONDS, and fall back to the primary when every
  replica is down or busy, or when the replica cannot answer yet: a hot
  standby that has not replayed a value the primary finished (or that was
  never computed) refuses to queue it with 25006, and the primary then
  answers, 200 when it has the value and 202 when it queues it.  A replica
  never turns an answer the primary could give into an error.

Every call on a connection has a client-side deadline (web.deadline): a
server that does not answer within it (hung, not merely slow: its own
statement_timeout, shorter, ends a slow query) has the connection cut, and
counts as down like one that cannot be reached.  A hung replica is then
left alone and the primary answers; a hung primary gives 503 within the
deadline.

Every query here may run twice (once on a replica, once on the primary, or
twice on the primary after a restart): each is a SELECT of pg_fib functions,
and fib_request is idempotent.
"""

import itertools
import threading
import time
import weakref

import psycopg
import psycopg_pool
from psycopg.pq import ConnStatus, ExecStatus
from psycopg.rows import dict_row

from web.deadline import WATCHDOG

PRIMARY = "primary"

# A hot standby cannot queue a job: the replica has no value for this n
# yet, and the primary answers.
_ASK_THE_PRIMARY = {"25006"}
# A server shutting down, crashed or starting (admin_shutdown,
# crash_shutdown, cannot_connect_now): down, like one that cannot be reached.
_GOING_DOWN = {"57P01", "57P02", "57P03"}


# See Server.
_PROBE_SECONDS = 0.5
_RECONNECT_SECONDS = 2.0


class Hung(psycopg.OperationalError):
    """A call that the deadline cut off: the server did not answer."""


def _is_down(error):
    """Whether a query's error says the server is not there (no SQLSTATE:
    the connection failed or was lost)."""
    return isinstance(error, psycopg_pool.PoolTimeout) or (
        isinstance(error, psycopg.OperationalError)
        and (error.sqlstate is None or error.sqlstate in _GOING_DOWN))


class Server:
    """One PostgreSQL server (the primary or a replica) and its pool.

    A server found down is left alone for a while (mark_down).  The first
    request after that probes it: it gets a fresh pool, whose first
    connection is made at once (the old pool's attempts back off by seconds
    after failures, and a server that is back would wait for them), and
    waits at most _PROBE_SECONDS for it.  The old pool is closed in the
    background; a connection taken from it goes back to it (and so is
    closed).
    """

    def __init__(self, name, url, pool_kwargs, timeout, deadline):
        self.name = name
        self.timeout = timeout
        self.deadline = deadline
        self._url = url
        self._pool_kwargs = pool_kwargs
        self._lock = threading.Lock()
        self.down_until = 0.0
        self.probing = False
        self._stale = False
        self.pool = self._new_pool()

    def _new_pool(self):
        # Without requests the pool's own reconnection attempts stop after
        # _RECONNECT_SECONDS (rather than fill the log for minutes); the
        # next request starts them again.
        pool = psycopg_pool.ConnectionPool(
            self._url, timeout=self.timeout, reconnect_timeout=_RECONNECT_SECONDS, open=False,
            name=f"pg_fib-web-{self.name}", **self._pool_kwargs)
        pool.open(wait=False)
        return pool

    def mark_down(self, seconds):
        """Leave this server alone for seconds, then probe it."""
        with self._lock:
            self.down_until = time.monotonic() + seconds
            self.probing = True
            self._stale = True

    def available(self, now):
        """Whether the server may be tried now."""
        return self.down_until <= now

    def _current_pool(self):
        """The pool to take a connection from, and how long to wait for one."""
        with self._lock:
            if self._stale:
                old, self.pool, self._stale = self.pool, self._new_pool(), False
                threading.Thread(target=old.close, name=f"close {old.name}",
                                 daemon=True).start()
            wait = min(_PROBE_SECONDS, self.timeout) if self.probing else self.timeout
            return self.pool, wait

    def getconn(self):
        """A connection and the pool it goes back to (pool.putconn), waited
        for no longer than the deadline."""
        pool, wait = self._current_pool()
        return pool, pool.getconn(timeout=min(wait, self.deadline))

    def answered(self):
        """A query succeeded: the server is up."""
        self.probing = False

    def call(self, conn, action, deadline=None):
        """action() on conn, cut off after deadline seconds (this server's
        by default): then Hung."""
        seconds = deadline or self.deadline
        with WATCHDOG.guard(conn.pgconn.socket, seconds) as watch:
            try:
                return action()
            except psycopg.OperationalError as error:
                if watch.fired:
                    raise Hung(f"{self.name} did not answer within {seconds:g} s") from error
                raise

    def query(self, sql, params, fetch):
        """fetch(cursor) of one query on this server (see run)."""
        return self.run(lambda conn: fetch(conn.execute(sql, params)))

    def fetch_row(self, statement, values):
        """The one row (a list of bytes or None, or None for no row) of a
        Statement of web.db with these text values, through libpq's own
        calls (see _exec_prepared)."""
        return self.run(lambda conn: _exec_prepared(conn, statement, values))

    def run(self, action):
        """action(connection) on this server, within the deadline from
        waiting for a connection to the last row.  A pooled connection
        that the server closed (after a restart) fails the first query sent
        on it: then the pool is replaced (renew) and the action runs once
        more, on a fresh connection."""
        end = time.monotonic() + self.deadline
        for attempt in (1, 2):
            pool, wait = self._current_pool()
            conn = None
            try:
                # getconn and putconn rather than pool.connection(), whose
                # "with conn" commits on the way out: a round of psycopg's
                # machinery for nothing on an autocommit connection.
                left = max(end - time.monotonic(), 0.001)
                conn = pool.getconn(timeout=min(wait, left))
                try:
                    left = max(end - time.monotonic(), 0.001)
                    result = self.call(conn, lambda: action(conn), left)
                finally:
                    pool.putconn(conn)
                self.answered()
                return result
            except Hung:
                raise
            except psycopg.OperationalError:
                if attempt == 2 or conn is None or not conn.broken:
                    raise
                self.renew()

    def renew(self):
        """Replace the pool (at the next action): its idle connections are
        suspect after one of them turned out broken, as after a restart of
        the server, and checking them with a query would hang on a server
        that hangs."""
        with self._lock:
            self._stale = True

    def close(self):
        self.pool.close()


# The statements prepared on each connection by _exec_prepared.
_PREPARED = weakref.WeakKeyDictionary()


def _exec_prepared(conn, statement, values):
    """statement's first row on conn, prepared on its first use there.

    libpq's own PQprepare and PQexecPrepared (psycopg's pq module), with
    text parameters and text results, instead of a psycopg cursor: Debian
    12's psycopg 3.1 is pure Python, and its cursor's adaptation, row
    making and wait loop cost 75 µs of the worker's CPU per query more
    than this (bench/web_profile.py), a third of a memo hit's in the app.
    The blocking libpq call releases the GIL, so web.deadline can cut it
    off like any other call.  The connection is in autocommit, as psycopg
    left it, whatever the outcome.  psycopg deallocates every prepared
    statement of a connection when it rolls back (web.db.Digits does), so
    a statement found missing (26000) is prepared again.
    """
    pgconn = conn.pgconn
    names = _PREPARED.setdefault(conn, set())
    for attempt in (1, 2):
        if statement.name not in names:
            _result(conn, pgconn.prepare(statement.name, statement.sql))
            names.add(statement.name)
        try:
            result = _result(conn, pgconn.exec_prepared(statement.name, values))
            break
        except psycopg.errors.InvalidSqlStatementName:
            if attempt == 2:
                raise
            names.discard(statement.name)
    if not result.ntuples:
        return None
    return [result.get_value(0, i) for i in range(result.nfields)]


def _result(conn, result):
    """result, or the psycopg error it carries: OperationalError without a
    SQLSTATE when the connection was lost, as psycopg's cursors raise."""
    if result.status in (ExecStatus.COMMAND_OK, ExecStatus.TUPLES_OK):
        return result
    if conn.pgconn.status == ConnStatus.BAD:
        raise psycopg.OperationalError(
            conn.pgconn.error_message.decode("utf-8", "replace").strip())
    raise psycopg.errors.error_from_result(result, encoding=conn.info.encoding)


class Pools:
    """The primary and the replicas of one process, and the routing rule."""

    def __init__(self, primary_url, replica_urls, *, min_size, max_size, timeout,
                 replica_timeout, retry_seconds, primary_retry_seconds, deadline,
                 connect_kwargs, on_query=None):
        pool_kwargs = {"min_size": min_size, "max_size": max_size,
                       "kwargs": dict(connect_kwargs, row_factory=dict_row)}
        self.primary = Server(PRIMARY, primary_url, pool_kwargs, timeout, deadline)
        self.replicas = [Server(f"replica{i}", url, pool_kwargs, replica_timeout, deadline)
                         for i, url in enumerate(replica_urls, 1)]
        self.retry_seconds = retry_seconds
        self.primary_retry_seconds = primary_retry_seconds
        self._turn = itertools.count()
        self._lock = threading.Lock()
        # on_query(server name, outcome): outcome "ok", "error" (the query
        # was refused), "deferred" (a replica sent it on) or "down".
        self._on_query = on_query or (lambda server, outcome: None)

    @property
    def servers(self):
        return [self.primary] + self.replicas

    def _replicas_in_turn(self):
        """The replicas that are not marked down, starting with the next
        one's turn."""
        if not self.replicas:
            return []
        with self._lock:
            start = next(self._turn) % len(self.replicas)
        now = time.monotonic()
        turn = self.replicas[start:] + self.replicas[:start]
        return [server for server in turn if server.available(now)]

    def run(self, action, *, read):
        """action(server) on the primary, or (read=True) on the next replica
        that answers, else on the primary.  action runs the query (through
        server.query, or with a connection of server.pool)."""
        if read:
            for server in self._replicas_in_turn():
                try:
                    result = action(server)
                except (psycopg.Error, psycopg_pool.PoolTimeout) as error:
                    if _is_down(error):
                        # Unreachable, or no connection within
                        # REPLICA_POOL_TIMEOUT (too busy): the primary
                        # answers for REPLICA_RETRY_SECONDS.
                        self._mark_down(server)
                        continue
                    if error.sqlstate in _ASK_THE_PRIMARY:
                        self._on_query(server.name, "deferred")
                        continue
                    self._on_query(server.name, "error")
                    raise
                self._on_query(server.name, "ok")
                return result
        if not self.primary.available(time.monotonic()):
            # Down a moment ago: answer at once rather than after the pool's
            # timeout, and try a fresh pool after PRIMARY_RETRY_SECONDS.
            self._on_query(PRIMARY, "down")
            raise psycopg_pool.PoolTimeout("the primary was unreachable a moment ago")
        try:
            result = action(self.primary)
        except (psycopg.Error, psycopg_pool.PoolTimeout) as error:
            if _is_down(error):
                self.primary.mark_down(self.primary_retry_seconds)
                self._on_query(PRIMARY, "down")
            else:
                self._on_query(PRIMARY, "error")
            raise
        self._on_query(PRIMARY, "ok")
        return result

    def _mark_down(self, server):
        server.mark_down(self.retry_seconds)
        self._on_query(server.name, "down")

    def close(self):
        for server in self.servers:
            server.close()
