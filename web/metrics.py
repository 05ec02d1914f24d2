"""GET /metrics: Prometheus's text format (Debian's python3-prometheus-client).

Under Gunicorn every worker is a process of its own: deploy/gunicorn.conf.py
sets PROMETHEUS_MULTIPROC_DIR before the workers start, each worker writes
its metrics to files there, and whichever worker answers /metrics adds them
all up (the client's multiprocess mode).  Without it (the Flask test client)
the process's own registry answers.

- fib_web_http_requests_total{route,status} and
  fib_web_http_request_duration_seconds{route}: every request the app
  answers (route is the rule, such as /api/v1/fib/<n>, so that the labels
  stay few; "unmatched" for 404s).  Nginx's cache hits never reach the app.
- fib_web_queries_total{server,outcome}: queries by server (primary,
  replica1, ...) and outcome (ok; error: refused by the database; deferred:
  a replica without the value sent it on to the primary; down).
- fib_web_pool_connections{server,state}: the pools' connections (size,
  available, waiting requests, max), summed over the live workers.
- pg_fib_*: the queue and the memo as the primary's fib_stats view has them
  (fib_web_stats(), deploy/fib_web.sql), read when /metrics is asked for;
  pg_fib_up is 0 when the primary does not answer.

Nginx answers /metrics only to loopback addresses (deploy/nginx.conf).
"""

import os
import time

import psycopg
import psycopg_pool
from flask import Blueprint, Response, current_app, g, request
from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge,
                               Histogram, generate_latest, multiprocess, values)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

bp = Blueprint("metrics", __name__)

# In multiprocess mode every value written first asks the kernel for the
# process's pid (os.getpid(), a system call: 1.2 us here), to notice a
# fork and start files of its own: four times per request.  The pid is
# kept here instead, and renewed in a forked child before anything else
# runs there, which the client's own check then notices as it would.
# (Before any metric's child exists: each takes values.ValueClass when it
# is made, at its first labels().)
_pid = os.getpid()


def _forked():
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)
if values.ValueClass is not values.MutexValue:
    values.ValueClass = values.MultiProcessValue(lambda: _pid)

REQUESTS = Counter("fib_web_http_requests", "HTTP requests answered by the app",
                   ["route", "status"])
LATENCY = Histogram("fib_web_http_request_duration_seconds",
                    "Time the app took to answer a request (until its first byte)", ["route"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
                             10, 30, 60))
QUERIES = Counter("fib_web_queries", "Queries sent to PostgreSQL, by server and outcome",
                  ["server", "outcome"])
POOL = Gauge("fib_web_pool_connections", "Connections of the pools, by server and state "
             "(size, available, waiting, max)", ["server", "state"], multiprocess_mode="livesum")

# pool_stats' names -> POOL's state label.
_POOL_STATES = {"pool_size": "size", "pool_available": "available",
                "requests_waiting": "waiting", "pool_max": "max"}
# The pools' gauges are refreshed at most this often per worker.
_POOL_REFRESH_SECONDS = 1.0
_pool_refreshed = 0.0


def count_query(server, outcome):
    """web.pools' report of each query."""
    _child(QUERIES, server, outcome).inc()


# The metrics' children by their labels: labels() takes a lock and builds
# the key at every call.
_children = {}


def _child(metric, *labels):
    key = (metric, labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def record(route, status, seconds, pools):
    """Count and time one request the app answered (route is its rule, or
    "unmatched"), and refresh the pools' gauges now and then."""
    _child(REQUESTS, route, str(status)).inc()
    if seconds is not None:
        _child(LATENCY, route).observe(seconds)
    _refresh_pools(pools)


def _refresh_pools(pools, force=False):
    global _pool_refreshed
    now = time.monotonic()
    if not force and now - _pool_refreshed < _POOL_REFRESH_SECONDS:
        return
    _pool_refreshed = now
    for server in pools.servers:
        stats = server.pool.get_stats()
        for key, state in _POOL_STATES.items():
            POOL.labels(server.name, state).set(stats.get(key, 0))


class _PgFibCollector:
    """pg_fib's queue and memo, read from the primary at each scrape by
    stats() (web.db.stats, given by create_app)."""

    def __init__(self, stats):
        self.stats = stats

    def collect(self):
        up = GaugeMetricFamily("pg_fib_up", "1 when the primary answered this scrape")
        try:
            row = self.stats()
        except (psycopg.Error, psycopg_pool.PoolTimeout) as error:
            current_app.logger.warning("metrics: %s", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        jobs = GaugeMetricFamily("pg_fib_jobs", "Jobs in the queue, by state", labels=["state"])
        for state in ("queued", "running", "done", "failed"):
            jobs.add_metric([state], row[state])
        yield jobs
        yield GaugeMetricFamily("pg_fib_memo_rows", "Values in the memo",
                                value=row["memo_rows"])
        yield GaugeMetricFamily("pg_fib_memo_bytes", "Bytes of the memo's values",
                                value=row["memo_bytes"])
        yield CounterMetricFamily("pg_fib_memo_hits", "Memo hits counted so far",
                                  value=row["memo_hits"])
        yield CounterMetricFamily("pg_fib_inline_computations",
                                  "Values computed inside queries since the server started",
                                  value=row["inline_computations"])
        yield GaugeMetricFamily("pg_fib_compute_seconds",
                                "Workers' computing time of the done jobs kept",
                                value=row["compute_ms"] / 1000.0)


@bp.get("/metrics")
def metrics():
    _refresh_pools(current_app.extensions["pg_fib_pools"], force=True)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Everything())
    registry.register(_PgFibCollector(current_app.extensions["pg_fib_stats"]))
    response = Response(generate_latest(registry), mimetype=None)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.headers["Cache-Control"] = "no-store"
    return response


class _Everything:
    """The process's own registry (no Gunicorn: a single process)."""

    def collect(self):
        return REGISTRY.collect()


def init_app(app, stats):
    """Count and time every request the app answers; stats() gives the row
    of pg_fib's queue and memo that /metrics reports."""
    app.extensions["pg_fib_stats"] = stats

    @app.before_request
    def _start():
        g.metrics_start = time.perf_counter()

    @app.after_request
    def _record(response):
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        seconds = time.perf_counter() - g.metrics_start if "metrics_start" in g else None
        record(route, response.status_code, seconds, app.extensions["pg_fib_pools"])
        return response

    app.register_blueprint(bp)
