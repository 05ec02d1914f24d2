"""Fixtures of the web suites: a cluster of their own, the app, and the
real stack (Gunicorn and Nginx on free loopback ports).

The suites start their own PostgreSQL cluster (test/python/cluster.py) with
pg_fib and pg_cron preloaded, because the end-to-end test stops and starts
the database.  They create the extension and run deploy/fib_web.sql, the
same file "make run" uses.  Everything started here is stopped at the end of
the session, also when a test fails.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import psycopg
import pytest
from flask.testing import FlaskClient

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "python"))
sys.path.insert(0, ROOT)

from cluster import Cluster, free_port, standby_of  # noqa: E402
import http_raw  # noqa: E402
from openapi_check import Checker  # noqa: E402
from web import DEFAULTS  # noqa: E402

# Every answer the suites receive is checked against the API's description.
CHECKER = Checker(DEFAULTS)
http_raw.CHECK = CHECKER.check


class CheckedClient(FlaskClient):
    """Flask's test client, checking each answer against the description."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        # request.path is decoded: a "?" or "%" in it was part of a segment
        # (sent as %3F or %25), so it is encoded again for the checker,
        # which splits off the query and decodes the path as a client sends it.
        path = response.request.path.replace("%", "%25").replace("?", "%3F")
        CHECKER.check(response.request.method, path, response.status_code,
                      response.headers, response.get_data())
        return response

ARTIFACTS = os.path.join(ROOT, "test", "web", "artifacts")
FIB_WEB_SQL = os.path.join(ROOT, "deploy", "fib_web.sql")
PSQL = os.path.join(subprocess.run([os.environ.get("PG_CONFIG", "pg_config"), "--bindir"],
                                   check=True, capture_output=True, text=True).stdout.strip(),
                    "psql")

# Jobs the suites' apps let one client have under way (see make_app).
SUITES_JOBS_PER_CLIENT = 1000

# Values above pg_fib.sync_max_n (3,000,000) go to the queue.
SYNC_MAX_N = 3000000


class Database:
    """The suites' cluster, with pg_fib created in database postgres."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.url = (f"host=127.0.0.1 port={cluster.port} dbname=postgres user=fib_web "
                    "connect_timeout=3")

    @classmethod
    def create(cls, cluster):
        """Start cluster, create pg_fib and fib_web (deploy/fib_web.sql) in
        database postgres, and wait for pg_fib's workers."""
        cluster.init().start()
        cluster.wait_ready()
        db = cls(cluster)
        with db.su() as conn:
            conn.execute("CREATE EXTENSION pg_fib")
        db.run_fib_web_sql()
        db.wait_workers()
        return db

    def su(self):
        """An autocommit superuser connection."""
        return self.cluster.connect(autocommit=True)

    def web(self):
        """An autocommit connection as fib_web."""
        return psycopg.connect(self.url, autocommit=True)

    def run_fib_web_sql(self):
        subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.cluster.dir,
                        "-p", str(self.cluster.port), "-U", "postgres", "-d", "postgres",
                        "-f", FIB_WEB_SQL], check=True, capture_output=True)

    def stop(self):
        self.cluster.stop()

    def start(self):
        self.cluster.start()
        self.cluster.wait_ready()
        self.wait_workers()

    def wait_workers(self, timeout=30.0):
        """Wait until the keeper and every compute worker run (they connect
        a moment after the server starts)."""
        deadline = time.monotonic() + timeout
        with self.su() as conn:
            while True:
                keeper, workers, expected = conn.execute(
                    "SELECT keeper, workers, workers_expected FROM fib_web_health()").fetchone()
                if keeper >= 1 and workers >= expected:
                    return
                assert time.monotonic() < deadline, "pg_fib's workers did not start"
                time.sleep(0.1)


@pytest.fixture(scope="session")
def database():
    cluster = Cluster(settings=[
        "shared_preload_libraries = 'pg_fib, pg_cron'",
        "pg_fib.workers = 2",
        "max_worker_processes = 16",
        "cron.database_name = 'postgres'",
        "cron.use_background_workers = on",
    ])
    try:
        yield Database.create(cluster)
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def standby(database):
    """A hot standby of the suites' cluster (pg_basebackup -R)."""
    with standby_of(database.cluster.dir, database.cluster.port) as replica:
        yield replica


def replica_url(replica):
    return f"host=127.0.0.1 port={replica.port} dbname=postgres user=fib_web connect_timeout=2"


def make_app(database, **config):
    from web import create_app
    # The suites are one client asking for many large values (all from
    # 127.0.0.1): a client's share of the queue as in production would refuse
    # them in turn; test_clients.py tests that share with its own apps.
    settings = {"DATABASE_URL": database.url, "TESTING": True,
                "MAX_JOBS_PER_CLIENT": SUITES_JOBS_PER_CLIENT}
    settings.update(config)
    app = create_app(settings)
    app.test_client_class = CheckedClient
    return app


@pytest.fixture(scope="session")
def app(database):
    app = make_app(database)
    yield app
    app.extensions["pg_fib_pools"].close()


@pytest.fixture
def client(app):
    return app.test_client()


def _wait_http(url, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class Stack:
    """Gunicorn serving web/ as fib_web, and Nginx in front of it."""

    def __init__(self, database, rate="2000r/s", burst="4000", env=None, conn="1000",
                 uncached=None):
        self.database = database
        self.env = env or {}
        self.dir = tempfile.mkdtemp(prefix="pg_fib-web.")
        os.chmod(self.dir, 0o755)
        self.gunicorn_port = free_port()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.gunicorn_url = f"http://127.0.0.1:{self.gunicorn_port}"
        self.gunicorn_log = os.path.join(self.dir, "gunicorn.log")
        self.nginx_dir = os.path.join(self.dir, "nginx")
        self.rate, self.burst, self.conn, self.uncached = rate, burst, conn, uncached
        self.gunicorn = None

    def start(self):
        env = dict(os.environ,
                   FIB_WEB_DATABASE_URL=self.database.url,
                   FIB_WEB_MAX_JOBS_PER_CLIENT=str(SUITES_JOBS_PER_CLIENT),
                   GUNICORN_BIND=f"127.0.0.1:{self.gunicorn_port}",
                   GUNICORN_WORKERS="2")
        env.update(self.env)
        with open(self.gunicorn_log, "ab") as log:
            self.gunicorn = subprocess.Popen(
                ["gunicorn", "--config", os.path.join(ROOT, "deploy", "gunicorn.conf.py"),
                 "web:create_app()"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        os.makedirs(self.nginx_dir)
        self.nginx_conf = start_nginx(self.nginx_dir, f"127.0.0.1:{self.port}",
                                      f"127.0.0.1:{self.gunicorn_port}", self.rate, self.burst,
                                      self.conn, self.uncached)
        _wait_http(self.gunicorn_url + "/healthz")
        _wait_http(self.url + "/healthz")
        return self

    def reload_nginx(self):
        subprocess.run(["nginx", "-q", "-p", self.nginx_dir, "-c", self.nginx_conf, "-s", "reload"],
                       check=True)

    def gunicorn_lines(self, needle):
        """Gunicorn's access-log lines that contain needle."""
        with open(self.gunicorn_log, errors="replace") as f:
            return [line for line in f if needle in line]

    def extra_nginx(self, upstream, rate, burst, uncached=None):
        """Another Nginx from the same template, in front of upstream
        ("127.0.0.1:port"): a context manager giving its URL."""
        return _ExtraNginx(self, upstream, rate, burst, uncached)

    def stop(self):
        stop_nginx(self.nginx_dir)
        if self.gunicorn is not None and self.gunicorn.poll() is None:
            self.gunicorn.send_signal(signal.SIGTERM)
            try:
                self.gunicorn.wait(20)
            except subprocess.TimeoutExpired:
                self.gunicorn.kill()
                self.gunicorn.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_nginx(prefix, listen, upstream, rate, burst, conn="1000", uncached=None):
    """Fill deploy/nginx.conf with deploy/run.sh and start Nginx on it
    (uncached: requests under way per address on the routes never cached,
    make run's 2 by default)."""
    os.makedirs(os.path.join(prefix, "cache"), exist_ok=True)
    os.chmod(prefix, 0o755)
    if os.geteuid() == 0:
        shutil.chown(os.path.join(prefix, "cache"), "www-data", "www-data")
    conf = subprocess.run([os.path.join(ROOT, "deploy", "run.sh"), "nginx-conf", prefix, listen,
                           upstream, rate, burst, conn] + ([uncached] if uncached else []),
                          check=True, capture_output=True, text=True).stdout
    subprocess.run([os.path.join(ROOT, "deploy", "run.sh"), "api-docs",
                    os.path.join(prefix, "api-docs")], check=True)
    path = os.path.join(prefix, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    subprocess.run(["nginx", "-q", "-p", prefix, "-c", path], check=True)
    return path


def stop_nginx(prefix):
    pidfile = os.path.join(prefix, "nginx.pid")
    if os.path.exists(pidfile):
        with open(pidfile) as f:
            os.kill(int(f.read()), signal.SIGQUIT)
        for _ in range(50):
            if not os.path.exists(pidfile):
                break
            time.sleep(0.1)


class _ExtraNginx:
    def __init__(self, stack, upstream, rate, burst, uncached):
        self.prefix = tempfile.mkdtemp(prefix="nginx.", dir=stack.dir)
        self.args = (upstream, rate, burst)
        self.uncached = uncached

    def __enter__(self):
        port = free_port()
        start_nginx(self.prefix, f"127.0.0.1:{port}", *self.args, uncached=self.uncached)
        url = f"http://127.0.0.1:{port}"
        _wait_http(url + "/")
        return url

    def __exit__(self, *exc):
        stop_nginx(self.prefix)


@pytest.fixture(scope="session")
def stack(database):
    stack = Stack(database)
    try:
        yield stack.start()
    finally:
        if os.environ.get("PG_FIB_WEB_KEEP_LOGS"):
            print(open(stack.gunicorn_log).read()[-5000:])
        stack.stop()
