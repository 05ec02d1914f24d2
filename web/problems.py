"""Errors as RFC 9457 problem details (application/problem+json).

Every error the app answers goes through problem_response(): bad input found
by the app (web.inputs), HTTP errors raised by Flask and Werkzeug (404, 405,
...), refusals by the database (by SQLSTATE, through SQLSTATE_HTTP below, the
one table that maps them and that the README prints), and an unreachable
database.  What a client reads says what it can do; what the database said
is logged under the request's id.  No error is ever answered with a stack trace or a 500.
"""

import psycopg
import psycopg_pool
from flask import current_app, json, make_response
from werkzeug.exceptions import HTTPException

from web import requestid

PROBLEM_JSON = "application/problem+json"

# SQLSTATE -> (HTTP status, title, Retry-After seconds or None, public
# detail).  The README's "SQLSTATE table" prints this dict (test_api.py
# checks they agree).  The detail is what an anonymous client is told: what
# it can do, never the database's own message, which names roles, settings
# and counts; that message goes to the log under the request's id
# (log_database_error).  54000 gets a detail of its own, with the limit and
# the routes that still answer (web.api.beyond_limit).
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
    # A missing privilege is a deployment error, not the client's.
    "42501": (503, "Missing privilege", None,
              "The service is misconfigured; try again later."),
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


def problem_response(problem):
    """The Flask response for a Problem."""
    body = {
        "type": f"/problems/{problem.slug}" if problem.slug else "about:blank",
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
    status, title, retry, detail = SQLSTATE_HTTP.get(error.sqlstate, SQLSTATE_DEFAULT)
    return Problem(status, title, detail, slug=f"sqlstate-{error.sqlstate}", retry_after=retry,
                   sqlstate=error.sqlstate)


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
        response = problem_response(Problem(error.code, error.name, error.description))
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
