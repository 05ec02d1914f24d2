"""pg_fib's web front: a Flask app that only SELECTs pg_fib functions.

create_app() builds it; configuration comes from the environment, variables
prefixed FIB_WEB_ (FIB_WEB_DATABASE_URL=..., see DEFAULTS), read by Flask's
from_prefixed_env (values that parse as JSON become numbers or booleans).
"""

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import Map

from web.appversion import AppVersion
from web.hotpath import HotPath
from web.rawpath import RawPath

DEFAULTS = {
    # libpq connection string of the fib_web role on the primary.
    "DATABASE_URL": "host=127.0.0.1 dbname=postgres user=fib_web",
    # Read replicas (hot standbys of the primary), a JSON list of connection
    # strings: value lookups go to them in turn (web/pools.py).
    "REPLICA_URLS": [],
    # Connections per server (the primary, each replica) and worker.
    "POOL_MIN_SIZE": 1,
    "POOL_MAX_SIZE": 4,
    # Seconds a request waits for a connection of the primary before 503.
    "POOL_TIMEOUT": 5,
    # Seconds it waits for a replica's before asking the primary, and how
    # long a replica found down is left alone.
    "REPLICA_POOL_TIMEOUT": 0.5,
    "REPLICA_RETRY_SECONDS": 5,
    # A primary found unreachable is answered for (503) at once for this
    # long, then tried again.
    "PRIMARY_RETRY_SECONDS": 1,
    # The database's statement_timeout: no query of the app's takes more
    # than a fraction of it (F(10^8)'s 20.9 MB decimal is built in about
    # 2 s); far below Gunicorn's timeout (deploy/gunicorn.conf.py, 60 s).
    "STATEMENT_TIMEOUT_MS": 5000,
    # Every call on a connection is cut off on the client this long after
    # the statement_timeout would have ended it: a server that has not
    # answered by then is hung, not slow (web/deadline.py).
    "DEADLINE_MARGIN_SECONDS": 1,
    # Above this many digits /api/v1/fib/<n> gives leading and trailing digits
    # and a link instead of the value (200,000 digits: 200 kB of JSON).
    "VALUE_MAX_DIGITS": 200000,
    # Chunk of /api/v1/fib/<n>/digits, in characters.
    "DIGITS_CHUNK": 262144,
    # A job that ended failed is answered with its error (503, this
    # Retry-After) for this long; then asking for F(n) queues it again.
    "FAILED_JOB_RETRY_SECONDS": 30,
    # Jobs one client (its address; an IPv6 /64) may have queued or running
    # (pg_fib.max_queued_per_requester, see web.requester); beyond, 503
    # with Retry-After for that client only.  Well below fib_web's share
    # of the queue (pg_fib.max_queued_per_role, 1000 by default).
    "MAX_JOBS_PER_CLIENT": 10,
    # Rows per page of /get, and the value shown there up to this many digits.
    "GET_PAGE_SIZE": 100,
    "GET_VALUE_MAX_DIGITS": 1000,
    # Set to true behind Nginx: trust one proxy's X-Forwarded-* headers.
    "BEHIND_PROXY": False,
    # The version of this app that Nginx's cache keys name, set by make run
    # (deploy/run.sh app_version, "v" and hex digits, never read as JSON):
    # an answer to a request from an Nginx whose keys name another one is
    # not stored (web.appversion).  Empty: no such check.
    "APP_VERSION": "",
}


class _Map(Map):
    """Werkzeug's URL map without merge_slashes: /api/v1/fib//5 is a 404
    problem like any other unknown path, not an HTML redirect (the matcher
    takes the setting when the map is made, so it is set here)."""

    def __init__(self, *args, **kwargs):
        kwargs["merge_slashes"] = False
        super().__init__(*args, **kwargs)


class _Flask(Flask):
    url_map_class = _Map


def create_app(config=None):
    """The application: DEFAULTS, then FIB_WEB_* variables, then config."""
    app = _Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("FIB_WEB")
    if config:
        app.config.from_mapping(config)
    app.json.sort_keys = False

    # Where the modules meet: what one needs of another is passed here, so
    # that no two import each other (test_layout.py checks).
    from web import api, cors, db, docs, metrics, page, problems, rawpath, requestid, seed
    problems.init_app(app)
    rawpath.init_app(app)
    requestid.init_app(app)
    cors.init_app(app)
    metrics.init_app(app, stats=db.stats)
    db.init_app(app, on_query=metrics.count_query)
    app.register_blueprint(api.bp)
    app.register_blueprint(seed.bp)
    app.register_blueprint(page.bp)
    app.register_blueprint(docs.bp)

    # What runs before Flask, outermost first: whether Nginx may cache the
    # answer (AppVersion), the client's address and scheme from Nginx
    # (ProxyFix), the path as sent (RawPath), the hot route (HotPath).
    app.wsgi_app = HotPath(app.wsgi_app, app)
    app.wsgi_app = RawPath(app.wsgi_app)
    if app.config["BEHIND_PROXY"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)
    if app.config["APP_VERSION"]:
        app.wsgi_app = AppVersion(app.wsgi_app, str(app.config["APP_VERSION"]))
    return app
