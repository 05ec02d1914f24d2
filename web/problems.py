"""Errors as RFC 9457 problem details (application/problem+json).

Every error the app answers goes through problem_response(): bad input found
by the app (web.inputs), HTTP errors raised by Flask and Werkzeug (404, 405,
...), refusals by the database (by SQLSTATE, through SQLSTATE_HTTP below, the
one table that maps them and that the README prints), and an unreachable
database.  What a client reads says what it can do; what the database said
is logged under the request's id.  No error is ever answered with a stack trace or a 500.
"""

from typing import NamedTuple

import psycopg
import psycopg_pool
from flask import current_app, json, make_response, url_for
from werkzeug.exceptions import HTTPException

from web import requestid

PROBLEM_JSON = "application/problem+json"

# SQLSTATE -> (HTTP status, title, Retry-After seconds or None, public
# detail): every SQLSTATE pg_fib raises, and the server's own that the web
# front can meet.  The README's "SQLSTATE table" prints this dict (test_api.py
# checks they agree).  The detail is what an anonymous client is told: what
# it can do, never the database's own message, which names roles, settings
# and counts; that message goes to the log under the request's id
# (log_database_error).  54000 gets a detail of its own, with the limit and
# the routes that still answer (web.results.beyond_limit).
SQLSTATE_HTTP = {
    # |n| beyond the role's pg_fib.max_n: a well-formed n the server will not
    # compute.
    "54000": (422, "n is beyond the limit", None,
              "F(n) is not computed for an n this large."),
    # fib() beyond numeric's range: the app calls fib_text, so only a
    # hand-written query would see it.
    "22003": (422, "Value out of range", None, "The value is out of range."),
    # A well-formed argument a function refuses: syntax is the app's 400,
    # meaning is the database's 422, as for 54000.
    "22023": (422, "Invalid parameter", None, "An argument is outside what the function accepts."),
    # The queue is full (pg_fib.max_queued), or this role or this client has
    # too many jobs waiting: try again when they have drained.
    "53400": (503, "Queue full", 10,
              "Too many computations are waiting, in all or from this client; retry after "
              "10 seconds."),
    # The keeper could not lock a job row within 1 s.
    "55P03": (503, "Job busy", 1, "The computation is busy; retry after 1 second."),
    # The keeper not answering, the database not ready for the request.
    "55000": (503, "Service not ready", 5, "The service is not ready; retry after 5 seconds."),
    # A hot standby cannot queue a job.
    "25006": (503, "Read-only database", 30,
              "The database is read-only for now; retry after 30 seconds."),
    # Memory ran out in a computation: an ordinary error, it may work later.
    "53200": (503, "Out of memory", 10,
              "The database ran out of memory; retry after 10 seconds."),
    # statement_timeout (FIB_WEB_STATEMENT_TIMEOUT_MS).
    "57014": (504, "Statement timeout", None, "The database took too long to answer."),
    # A memo row that is not F(n)'s (tampered with): no value is given.
    "XX001": (503, "Corrupt value", None,
              "The stored value failed its check and is not given; the operator is told."),
    # Deployment errors, not the client's: a missing grant, an argument the
    # app should never pass (NULL), an object dropped under the app.
    "42501": (503, "Missing privilege", None,
              "The service is misconfigured; try again later."),
    "22004": (503, "Service error", None, "The request could not be answered; try again later."),
    "42704": (503, "Service error", None, "The request could not be answered; try again later."),
}

# Any other SQLSTATE: the database refused for a reason the client cannot fix.
SQLSTATE_DEFAULT = (503, "Database error", None, "The database could not answer; try again later.")

# The database unreachable or not answering: psycopg.OperationalError
# without a SQLSTATE (refused, lost, or cut by web.deadline), or the pool's
# timeout.
UNREACHABLE = (503, "Database unreachable", 5,
               "The database cannot be reached; retry after 5 seconds.")

# A job that ended failed: the worker ran out of memory or was cancelled.
# Not the client's fault (not 4xx) and not a bug (not 500); asking again
# after Retry-After (FAILED_JOB_RETRY_SECONDS) queues the job again, so 503
# with Retry-After says the truth.
JOB_FAILED = (503, "Computation failed")


class ProblemType(NamedTuple):
    """What a problem's type URI names: its status and title, what it means
    and what a client can do about it (the page at /problems/<slug>)."""
    status: int
    title: str
    meaning: str
    remedy: str


# Every problem type the service answers with, by its slug: the app's own,
# HTTP's (answered by Flask or by Nginx, deploy/nginx.conf), and one per
# SQLSTATE of SQLSTATE_HTTP.  The problem pages, the API description and
# the README's tables are made from this; test_docs.py checks that every
# type a problem carries is here and its page answers.
PROBLEM_TYPES = {
    "malformed-integer": ProblemType(
        400, "Malformed integer",
        "A path or query parameter is not an integer as the API writes them.",
        "Write it as an optional '-' and 1 to 19 ASCII digits within the range of a 64-bit "
        "integer, such as 32 or -8: no '+', spaces, decimals, exponents, hexadecimal or other "
        "scripts' digits. The detail and the parameter field say which one and why."),
    "non-canonical-url": ProblemType(
        301, "Moved Permanently",
        "Each value has one URL: n and m without leading zeros, and 0 rather than -0.",
        "Follow the Location header (or the location field); use that URL from now on."),
    "non-positive-modulus": ProblemType(
        422, "Invalid parameter",
        "F(n) mod m is given for m >= 1 only.",
        "Ask again with a positive m."),
    "no-job": ProblemType(
        404, "No such job",
        "F(n) was never requested, so it has no job to report.",
        "GET /api/v1/fib/<n> requests it (202 while it is computed)."),
    "unknown-impl": ProblemType(
        400, "Unknown implementation",
        "The old stack's /calculate_v4/<impl>/<n> takes python, rust or c.",
        "Use one of those; all three are served by the pg_fib extension."),
    "job-failed": ProblemType(
        503, "Computation failed",
        "The computation of F(n) failed (the error field says why: out of memory, "
        "cancelled). The failure is reported for a while, so that clients see it.",
        "Ask again after Retry-After: that queues the computation anew. The job link shows "
        "the failed job meanwhile."),
    "database-unreachable": ProblemType(
        503, "Database unreachable",
        "The database could not be reached, or did not answer within the deadline.",
        "Retry after Retry-After; /healthz says when the service is up."),
    "database-error": ProblemType(
        *SQLSTATE_DEFAULT[:2],
        "The database refused for a reason the client cannot fix.",
        "Try again later; the sqlstate field names the error."),
    "service-error": ProblemType(
        503, "Service error",
        "The request met an error of the service itself; it is logged.",
        "Try again later."),
    "bad-request": ProblemType(
        400, "Bad Request",
        "The request is malformed: its request line or a header (Nginx refused it).",
        "Send a well-formed HTTP/1.1 request: GET, a path, short headers, no body."),
    "forbidden": ProblemType(
        403, "Forbidden", "/metrics is served to loopback addresses only.",
        "Scrape it from the machine itself."),
    "not-found": ProblemType(
        404, "Not Found", "No such resource.",
        "See /api/v1 for the routes, or /api/v1/openapi.json for their description."),
    "method-not-allowed": ProblemType(
        405, "Method Not Allowed", "Every route is read-only.",
        "Use GET or HEAD (OPTIONS says so too); the Allow header lists them."),
    "content-too-large": ProblemType(
        413, "Content Too Large", "Requests carry no body here.", "Send none."),
    "uri-too-long": ProblemType(
        414, "URI Too Long", "The request line is longer than Nginx accepts.",
        "n and m have at most 20 characters: check the URL."),
    "too-many-requests": ProblemType(
        429, "Too Many Requests",
        "This client address sent more requests than its share: per second, under way at "
        "once, or downloads of full decimals at once.",
        "Retry after Retry-After, and keep fewer requests in flight."),
    "proxy-error": ProblemType(
        500, "Internal Server Error", "Nginx failed to pass the request on.", "Try again later."),
    "bad-gateway": ProblemType(
        502, "Bad Gateway", "The application server is not answering.",
        "Retry after Retry-After; it is restarted within seconds."),
    "service-unavailable": ProblemType(
        503, "Service Unavailable", "The service is unavailable for a moment.",
        "Retry after Retry-After."),
    "gateway-timeout": ProblemType(
        504, "Gateway Timeout", "The application server took too long.", "Try again later."),
}
for _code, (_status, _title, _retry, _detail) in SQLSTATE_HTTP.items():
    PROBLEM_TYPES[f"sqlstate-{_code}"] = ProblemType(
        _status, _title, f"The database answered SQLSTATE {_code}. {_detail}",
        f"Retry after {_retry} seconds." if _retry else
        "Nothing on the client's side: change the request or try again later.")

# Flask's and Werkzeug's HTTP errors, by status.
HTTP_SLUGS = {400: "bad-request", 404: "not-found", 405: "method-not-allowed"}


class Problem(Exception):
    """An error answered as problem+json."""

    def __init__(self, status, title, detail, *, slug=None, retry_after=None, headers=None,
                 **extra):
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.slug = slug
        self.retry_after = retry_after
        self.headers = headers or {}
        self.extra = extra


def type_uri(slug):
    """The absolute URI of a problem type: its page (web.docs)."""
    return url_for("docs.problem", slug=slug, _external=True)


def problem_response(problem):
    """The Flask response for a Problem."""
    body = {
        "type": type_uri(problem.slug) if problem.slug else "about:blank",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
    }
    body.update(problem.extra)
    response = make_response(json.dumps(body), problem.status)
    response.mimetype = PROBLEM_JSON
    # Errors are not cached: the same request may succeed a second later.
    response.headers["Cache-Control"] = "no-store"
    if problem.retry_after is not None:
        response.headers["Retry-After"] = str(problem.retry_after)
    response.headers.update(problem.headers)
    return response


def from_database_error(error):
    """The public Problem for a psycopg.Error raised by a query; the
    database's own words go to the log."""
    if isinstance(error, psycopg.OperationalError) and error.sqlstate is None:
        return unreachable(error)
    log_database_error(error)
    if error.sqlstate in SQLSTATE_HTTP:
        status, title, retry, detail = SQLSTATE_HTTP[error.sqlstate]
        slug = f"sqlstate-{error.sqlstate}"
    else:
        (status, title, retry, detail), slug = SQLSTATE_DEFAULT, "database-error"
    return Problem(status, title, detail, slug=slug, retry_after=retry, sqlstate=error.sqlstate)


def log_database_error(error):
    """One line in Gunicorn's error log with what the database said, under
    the request's id."""
    diag = error.diag
    current_app.logger.warning(
        "request %s: SQLSTATE %s: %s%s%s", requestid.current(), error.sqlstate,
        diag.message_primary or str(error).strip(),
        f" DETAIL: {diag.message_detail}" if diag.message_detail else "",
        f" HINT: {diag.message_hint}" if diag.message_hint else "")


def as_problem(error):
    """The Problem for a database error or the pool's timeout."""
    if isinstance(error, psycopg.Error):
        return from_database_error(error)
    return unreachable(error)


def unreachable(error):
    status, title, retry, detail = UNREACHABLE
    return Problem(status, title, detail, slug="database-unreachable", retry_after=retry)


def job_failed(job, retry_after, job_url):
    """The problem of a job that ended failed: its error is the job's own
    (as /job shows it), the detail says what to do."""
    status, title = JOB_FAILED
    return Problem(status, title, f"The computation of F({job['n']}) failed; asking again after "
                   f"{retry_after} seconds queues it anew.", slug="job-failed",
                   retry_after=retry_after, n=str(job["n"]), state=job["state"],
                   error=job["error"], job=job_url)


def _log_unreachable(error):
    """One line in Gunicorn's error log per 503 of an unreachable database,
    with what psycopg said (the request id is in the access log line)."""
    current_app.logger.warning("request %s: database unreachable: %s: %s", requestid.current(),
                               type(error).__name__, str(error).strip())


def init_app(app):
    """Install the error handlers that turn every error into problem+json."""

    @app.errorhandler(Problem)
    def _problem(error):
        return problem_response(error)

    @app.errorhandler(psycopg.Error)
    def _database(error):
        problem = from_database_error(error)
        if problem.slug == "database-unreachable":
            _log_unreachable(error)
        return problem_response(problem)

    @app.errorhandler(psycopg_pool.PoolTimeout)
    def _pool_timeout(error):
        _log_unreachable(error)
        return problem_response(unreachable(error))

    @app.errorhandler(HTTPException)
    def _http(error):
        response = problem_response(Problem(error.code, error.name, error.description,
                                            slug=HTTP_SLUGS.get(error.code)))
        for name in ("Allow", "Retry-After"):
            if name in error.get_response().headers:
                response.headers[name] = error.get_response().headers[name]
        return response

    @app.errorhandler(Exception)
    def _unexpected(error):
        # A bug: logged with its traceback, answered without one.  Not a
        # 500 either: the rule is that no input produces one.
        app.logger.exception("unexpected error")
        return problem_response(Problem(503, "Service error",
                                        "The request could not be answered; try again later.",
                                        slug="service-error", retry_after=5))
