"""Cross-origin reads: a page on any origin may read the public answers
(values never change and carry nothing private), so they carry
Access-Control-Allow-Origin: *, and a preflight is answered and cached for
a day.  Not /metrics (loopback only) and not the page."""

from flask import request

# What every public answer carries (web.hotpath adds it too).
ALLOW_ORIGIN = ("Access-Control-Allow-Origin", "*")
# The public routes, by the start of their path.
PUBLIC = ("/api/", "/problems", "/healthz")
# A preflight's answer.
PREFLIGHT = {"Access-Control-Allow-Methods": "GET, HEAD",
             "Access-Control-Allow-Headers": "If-None-Match",
             "Access-Control-Max-Age": "86400"}


def init_app(app):
    """Add CORS headers to the public routes' answers."""

    @app.after_request
    def _cors(response):
        if request.path.startswith(PUBLIC):
            response.headers[ALLOW_ORIGIN[0]] = ALLOW_ORIGIN[1]
            if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
                response.headers.update(PREFLIGHT)
        return response
