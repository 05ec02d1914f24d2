"""The request's path as the client sent it, where Gunicorn 20.1 garbles it.

WSGI's PATH_INFO holds the path's bytes, percent-decoded, as Latin-1 text;
Werkzeug decodes that as UTF-8.  Gunicorn 20.1 reads the request line as
Latin-1 and then percent-decodes it through urllib, which encodes the text as
UTF-8 first: a byte of 0x80 or more sent raw (unencoded UTF-8, as some
clients send) is encoded twice, and /api/v1/fib/١ reached the app as
/api/v1/fib/Ù¡.  For such a request this middleware derives PATH_INFO again
from the raw request target (RAW_URI, Gunicorn's), as PEP 3333 says; other
requests (ASCII, the common case) pass untouched.

Werkzeug's routing and request.path drop a path's leading slashes, so that
"//metrics" (sent so, or as "/%2Fmetrics") would be answered as /metrics,
while Nginx, whose locations see "//metrics", passes it on from
"location /": outside /metrics's loopback-only rule, and for
"//api/v1/fib/<n>/digits" outside the /digits location's limits and cache.
init_app makes such a path the 404 that "/api/v1/fib//5" is.
"""

from urllib.parse import unquote_to_bytes, urlsplit

from flask import request
from werkzeug.exceptions import NotFound


def _path(target):
    if target.startswith("/"):
        return target.split("?", 1)[0].split("#", 1)[0]
    return urlsplit(target).path  # absolute form: http://host/path


class RawPath:
    """WSGI middleware: PATH_INFO from RAW_URI when the target is not ASCII."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        target = environ.get("RAW_URI")
        if target is not None and not target.isascii() and not environ.get("SCRIPT_NAME"):
            environ["PATH_INFO"] = unquote_to_bytes(
                _path(target).encode("latin-1")).decode("latin-1")
        return self.app(environ, start_response)


def init_app(app):
    """A path that starts with "//" names no route (404), as any other
    doubled slash does."""

    @app.before_request
    def _leading_slashes():
        if request.environ.get("PATH_INFO", "").startswith("//"):
            raise NotFound()
