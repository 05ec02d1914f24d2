"""The request's id: Nginx's $request_id, or one of the app's own.

Nginx assigns every request an id (32 hex digits) and passes it as
X-Request-Id; Gunicorn's access log and Nginx's print it, the response
carries it, and every statement of the request sets it as PostgreSQL's
application_name (web.db), so that one slow request can be followed from
Nginx's log to Gunicorn's to PostgreSQL's.  Without Nginx in front (tests, a
direct call to Gunicorn) a well-formed X-Request-Id is kept, and any other
is replaced by a fresh id.
"""

import re
import uuid

from flask import g, has_request_context, request

HEADER = "X-Request-Id"
# application_name of the pool's connections, and the prefix of every
# request's (NAMEDATALEN - 1 = 63 bytes at most).
APPLICATION_NAME = "pg_fib web"
# What may pass into a log line and application_name unchanged.
_WELL_FORMED = re.compile(r"[0-9A-Za-z-]{8,48}", re.ASCII)


def choose(given):
    """The id of a request whose X-Request-Id header is given (or None):
    kept when well formed, else a fresh one."""
    return given if given and _WELL_FORMED.fullmatch(given) else uuid.uuid4().hex


def application_name_of(request_id):
    """The application_name of the statements of the request request_id."""
    return f"{APPLICATION_NAME} {request_id}" if request_id else APPLICATION_NAME


def current():
    """This request's id (None outside a request)."""
    if not has_request_context():
        return None
    if "request_id" not in g:
        g.request_id = choose(request.headers.get(HEADER))
    return g.request_id


def application_name():
    """The application_name of this request's statements."""
    return application_name_of(current())


def init_app(app):
    """Give every response its request's id."""

    @app.after_request
    def _tag(response):
        response.headers[HEADER] = current()
        return response
