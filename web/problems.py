"""Errors as RFC 9457 problem details (application/problem+json).

Every error the app answers goes through problem_response(): bad input found
by the app (web.inputs), HTTP errors raised by Flask and Werkzeug (404, 405,
...), refusals by the database (by SQLSTATE, through SQLSTATE_HTTP below, the
one table that maps them and that the README prints), and an unreachable
database.  No error is ever answered with a stack trace or a 500.
"""

import psycopg
import psycopg_pool
from flask import current_app, json, make_response
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"

# SQLSTATE -> (HTTP status, title, Retry-After seconds or None).  The README's
# "SQLSTATE table" prints this dict (test_problems.py checks they agree).
SQLSTATE_HTTP = {
    # |n| beyond the role's pg_fib.max_n: a well-formed n the server will not
    # compute; the database's message says the limit.
    "54000": (422, "n is beyond the limit", None),
    # fib() beyond numeric's range: the app calls fib_text, so only a
    # hand-written query would see it.
    "22003": (422, "Value out of range", None),
    # A well-formed argument the function refuses (fib_mod with m <= 0):
    # syntax is the app's 400, meaning is the database's 422, as for 54000.
    "22023": (422, "Invalid parameter", None),
    # The queue is full (pg_fib.max_queued), or this role has too many jobs
    # waiting (pg_fib.max_queued_per_role): try again when it has drained.
    "53400": (503, "Queue full", 10),
    # The keeper could not lock a job row within 1 s.
    "55P03": (503, "Job busy", 1),
    # The keeper not answering, the database not ready for the request.
    "55000": (503, "Service not ready", 5),
    # A hot standby cannot queue a job.
    "25006": (503, "Read-only database", 30),
    # Memory ran out in a computation: an ordinary error, it may work later.
    "53200": (503, "Out of memory", 10),
    # statement_timeout, set below Gunicorn's timeout.
    "57014": (504, "Statement timeout", None),
    # A missing privilege is a deployment error, not the client's.
    "42501": (503, "Missing privilege", None),
}

# Any other SQLSTATE: the database refused for a reason the client cannot fix.
SQLSTATE_DEFAULT = (503, "Database error", None)

# The database unreachable: psycopg.OperationalError or the pool's timeout.
UNREACHABLE = (503, "Database unreachable", 5)

# A job that ended failed: the worker ran out of memory or was cancelled.
# Not the client's fault (not 4xx) and not a bug (not 500); asking again
# after Retry-After (FAILED_JOB_RETRY_SECONDS) queues the job again, so 503
# with Retry-After says the truth.
JOB_FAILED = (503, "Computation failed")


class Problem(Exception):
    """An error answered as problem+json."""

    def __init__(self, status, title, detail, *, slug=None, retry_after=None, **extra):
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.slug = slug
        self.retry_after = retry_after
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
    return response


def from_database_error(error):
    """A Problem for a psycopg.Error raised by a query."""
    if isinstance(error, psycopg.OperationalError) and error.sqlstate is None:
        return unreachable(error)
    status, title, retry = SQLSTATE_HTTP.get(error.sqlstate, SQLSTATE_DEFAULT)
    diag = error.diag
    detail = diag.message_primary or str(error).strip()
    if diag.message_detail:
        detail = f"{detail}. {diag.message_detail}"
    extra = {"sqlstate": error.sqlstate}
    if diag.message_hint:
        extra["hint"] = diag.message_hint
    return Problem(status, title, detail, slug=f"sqlstate-{error.sqlstate}", retry_after=retry,
                   **extra)


def as_problem(error):
    """The Problem for a database error or the pool's timeout."""
    if isinstance(error, psycopg.Error):
        return from_database_error(error)
    return unreachable(error)


def unreachable(error):
    status, title, retry = UNREACHABLE
    return Problem(status, title, "The database cannot be reached; try again shortly.",
                   slug="database-unreachable", retry_after=retry)


def job_failed(job, retry_after):
    status, title = JOB_FAILED
    return Problem(status, title, f"The computation of F({job['n']}) failed: {job['error']}",
                   slug="job-failed", retry_after=retry_after, n=str(job["n"]),
                   state=job["state"])


def _log_unreachable(error):
    """One line in Gunicorn's error log per 503 of an unreachable database,
    with what psycopg said (the request id is in the access log line)."""
    current_app.logger.warning("database unreachable: %s: %s",
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
