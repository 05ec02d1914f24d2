"""The JSON API, under /api/v1, and /healthz.

Integers that can exceed 2^53 (n, m, values, digit counts) are JSON strings,
which no JavaScript client rounds; small ones (progress, status) are numbers.
"""

import time

import psycopg
import psycopg_pool
from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context, url_for

from web import db
from web.inputs import parse_bigint
from web.problems import Problem
from web.results import (IMMUTABLE, NO_STORE, beyond_limit, check_done, etag_of,
                         queued_response, value_body)

bp = Blueprint("api", __name__)


@bp.url_value_preprocessor
def _path_integers(endpoint, values):
    """n and m in a path, as ints for the views.  One URL per value: a path
    that writes one of them other than canonically (leading zeros, -0) is
    redirected (301) to the canonical path, which is what Nginx caches."""
    if not values:
        return
    canonical = True
    for name in ("n", "m"):
        if name in values:
            text = values[name]
            values[name] = parse_bigint(text, name)
            canonical = canonical and str(values[name]) == text
    if not canonical:
        location = url_for(endpoint, **{k: str(v) for k, v in values.items()})
        raise Problem(301, "Moved Permanently", f"This value's URL is {location}.",
                      slug="non-canonical-url", headers={"Location": location},
                      location=location)


def _iso(ts):
    return ts.isoformat() if ts is not None else None


def _job_body(row):
    return {
        "n": str(row["n"]),
        "state": row["state"],
        "progress": row["progress"],
        "digits": str(row["digits"]) if row["digits"] is not None else None,
        "requested_at": _iso(row["requested_at"]),
        "started_at": _iso(row["started_at"]),
        "finished_at": _iso(row["finished_at"]),
        "compute_ms": row["compute_ms"],
        "error": row["error"],
    }


def _not_modified(etags):
    """304 when If-None-Match names one of the ETags this value can have:
    the value never changes, so the client's copy is still right.  The
    comparison is weak (RFC 9110, 13.1.2): Nginx weakens the ETag of a body it
    gzips, and the client sends back W/"...".  "*" is not taken for a match:
    whether F(n) can be had at all is for the query to say (a 422, a 202)."""
    if "If-None-Match" not in request.headers:
        return False
    given = request.if_none_match
    return not given.star_tag and any(given.contains_weak(tag) for tag in etags)


def _cached(response, etag):
    response.headers["Cache-Control"] = IMMUTABLE
    response.set_etag(etag)
    return response


def _304(etag):
    response = Response(status=304)
    return _cached(response, etag)


def value_etags(n):
    limit = current_app.config["VALUE_MAX_DIGITS"]
    return [etag_of(n, source, limit) for source in ("memo", "computed")]


@bp.get("/api/v1/fib/<n>")
def fib(n):
    if _not_modified(value_etags(n)):
        return _304(value_etags(n)[0])
    limit = current_app.config["VALUE_MAX_DIGITS"]
    # One query: the job, and the value when it is done.
    row = beyond_limit(n, db.value, limit)
    if not check_done(row):
        return queued_response(row)
    body = value_body(n, row, url_for("api.fib_digits", n=str(n)))
    return _cached(jsonify(body), etag_of(n, row["source"], limit))


@bp.get("/api/v1/fib/<n>/job")
def fib_job(n):
    row = beyond_limit(n, db.job)
    if row["state"] is None:
        raise Problem(404, "No such job", f"F({n}) was never requested; "
                      f"GET /api/v1/fib/{n} requests it.", slug="no-job")
    body = _job_body(row)
    if row["state"] == "done":
        body["value_url"] = url_for("api.fib", n=str(n))
    response = jsonify(body)
    response.headers["Cache-Control"] = NO_STORE
    return response


@bp.get("/api/v1/fib/<n>/digits")
def fib_digits(n):
    etag = etag_of(n, "digits")
    if _not_modified([etag]):
        return _304(etag)
    digits = db.Digits(n, int(current_app.config["DIGITS_CHUNK"]))
    row = beyond_limit(n, lambda _: digits.open())
    try:
        done = check_done(row)
    except Problem:
        digits.close()
        raise
    if not done or request.method == "HEAD":
        # HEAD reads no body: the connection goes back to the pool now.
        digits.close()
    if not done:
        return queued_response(row)
    body = iter(()) if request.method == "HEAD" else stream_with_context(digits.chunks())
    response = Response(body, mimetype="text/plain")
    # A client that leaves before the first chunk: the connection goes back
    # when the server closes the response.
    response.call_on_close(digits.close)
    response.headers["Content-Length"] = str(row["length"])
    response.headers["Content-Disposition"] = f"attachment; filename=fib-{n}.txt"
    return _cached(response, etag)


@bp.get("/api/v1/fib/<n>/about")
def fib_about(n):
    """What can be said of F(n) for every bigint n: its digit count, its
    first and last 20 digits, its sign, and a link to the value when this
    role may have it.  Cached like the values (the link follows the role's
    pg_fib.max_n, which the ETag names)."""
    row = db.about(n)
    etag = etag_of(n, "about", row["computable"])
    if _not_modified([etag]):
        return _304(etag)
    body = {"n": str(n), "digits": str(row["digits"]), "leading": row["leading"],
            "trailing": row["trailing"], "negative": row["negative"]}
    if row["computable"]:
        body["value_url"] = url_for("api.fib", n=str(n))
    return _cached(jsonify(body), etag)


@bp.get("/api/v1/fib/<n>/mod/<m>")
def fib_mod(n, m):
    if m < 1:
        raise Problem(422, "Invalid parameter", f"m = {m} is not a modulus: F(n) mod m is "
                      "given for m >= 1.", slug="non-positive-modulus", parameter="m")
    etag = etag_of(n, "mod", m)
    if _not_modified([etag]):
        return _304(etag)
    value = db.mod(n, m)
    return _cached(jsonify({"n": str(n), "m": str(m), "value": str(value)}), etag)


@bp.get("/healthz")
def healthz():
    """200 when the primary answers and the keeper and every compute worker
    run; 503 otherwise, with what is known.  Each replica is reported (up
    when it answers as a standby); one that is down does not make the
    service down, since the primary answers for it."""
    pools = db.pools()
    try:
        row = db.health()
    except (psycopg.Error, psycopg_pool.PoolTimeout) as error:
        current_app.logger.warning("healthz: %s", error)
        body = {"status": "down", "database": "down", "keeper": None, "workers": None,
                "workers_expected": None}
        up = False
    else:
        up = row["keeper"] >= 1 and row["workers"] >= row["workers_expected"]
        body = {"status": "up" if up else "down", "database": "up",
                "keeper": "up" if row["keeper"] >= 1 else "down",
                "workers": row["workers"], "workers_expected": row["workers_expected"]}
    body["replicas"] = [_replica_health(server) for server in pools.replicas]
    response = jsonify(body)
    response.status_code = 200 if up else 503
    if not up:
        response.headers["Retry-After"] = "5"
    response.headers["Cache-Control"] = NO_STORE
    return response


def _replica_health(server):
    if not server.available(time.monotonic()):
        return {"name": server.name, "state": "down"}
    try:
        row = db.replica_health(server)
    except (psycopg.Error, psycopg_pool.PoolTimeout) as error:
        current_app.logger.warning("healthz: %s: %s", server.name, error)
        return {"name": server.name, "state": "down"}
    return {"name": server.name, "state": "up" if row["in_recovery"] else "not a standby"}
