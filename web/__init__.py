"""pg_fib's web front: a Flask app that only SELECTs pg_fib functions.

create_app() builds it; configuration comes from the environment, variables
prefixed FIB_WEB_ (FIB_WEB_DATABASE_URL=..., see DEFAULTS), read by Flask's
from_prefixed_env (values that parse as JSON become numbers or booleans).
"""

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

DEFAULTS = {
    # libpq connection string of the fib_web role.
    "DATABASE_URL": "host=127.0.0.1 dbname=postgres user=fib_web",
    "POOL_MIN_SIZE": 1,
    "POOL_MAX_SIZE": 4,
    # Seconds a request waits for a connection before 503.
    "POOL_TIMEOUT": 5,
    # Below Gunicorn's timeout (deploy/gunicorn.conf.py, 60 s).
    "STATEMENT_TIMEOUT_MS": 30000,
    # Above this many digits /api/v1/fib/<n> gives leading and trailing digits
    # and a link instead of the value (200,000 digits: 200 kB of JSON).
    "VALUE_MAX_DIGITS": 200000,
    # Chunk of /api/v1/fib/<n>/digits, in characters.
    "DIGITS_CHUNK": 262144,
    # Rows per page of /get, and the value shown there up to this many digits.
    "GET_PAGE_SIZE": 100,
    "GET_VALUE_MAX_DIGITS": 1000,
    # Set to true behind Nginx: trust one proxy's X-Forwarded-* headers.
    "BEHIND_PROXY": False,
}


def create_app(config=None):
    """The application: DEFAULTS, then FIB_WEB_* variables, then config."""
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("FIB_WEB")
    if config:
        app.config.from_mapping(config)
    app.json.sort_keys = False

    if app.config["BEHIND_PROXY"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)

    from web import api, db, page, problems, seed
    problems.init_app(app)
    db.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(seed.bp)
    app.register_blueprint(page.bp)
    return app
