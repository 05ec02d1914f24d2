"""make run, make status and make stop for real (deploy/run.sh start,
status, stop), on free loopback ports, in copies of this tree.

- In a checkout the servers' users cannot reach (inside a directory of mode
  0700, as a checkout in /root is), with REPLICAS=1: the state goes to
  /var/lib/pg_fib-run/..., run/ is a link to it, the app runs from a copy;
  make run is quiet (a line per server, the URL, a curl, the psql command)
  and make status prints the psql command too; fib_web needs its password,
  which only the app's user can read, on the primary and the replica, and
  has the connection limit its pools need; only fib_web may connect over
  TCP; the Gunicorn master outlives its workers killed 5 ms apart, and
  supervisord brings back a Gunicorn or an Nginx master killed with
  SIGKILL within seconds; a change of the app's settings or code restarts
  Gunicorn on it and changes Nginx's cache keys (and changing back finds
  the old answers again); running it twice is harmless; data survives stop
  and start; REPLICAS=0 stops the replica; stop stops supervisord and every
  process under it.
- In ordinary checkouts (run/ inside them): make run checks every address
  before it starts anything and refuses a port another program holds
  (Nginx's, PostgreSQL's, a replica's) or one two parts would share,
  naming the port and the variable to change; ports side by side (PGPORT =
  PORT + 1) work; the connection limit follows the workers and the pool
  size, and holds; a part that does not come up makes it fail with its
  log's last lines.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import psycopg
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "python"))

from cluster import BINDIR, free_port  # noqa: E402
from procs import alive, children, stat  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="make run's users: needs root")

# A master killed with SIGKILL is serving again within this many seconds
# (measured: about 5 s for Gunicorn, whose workers import the app, and
# under 1 s for Nginx, on a loaded 2-core machine).
RESTART_SECONDS = 30


def copy_tree(dest):
    """The files git tracks, as they are in the working tree, and the built
    objects (with their times, so that make rebuilds nothing)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    built = [os.path.relpath(os.path.join(d, f), ROOT)
             for d, _, names in os.walk(os.path.join(ROOT, "pg_fib")) for f in names
             if f.endswith((".o", ".bc"))] + ["pg_fib.so"]
    for rel in filter(None, files + built):
        src = os.path.join(ROOT, rel)
        if os.path.isfile(src):
            os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
            shutil.copy2(src, os.path.join(dest, rel))
    # The npm packages deploy/install-npm.sh put in this checkout (the API's
    # documentation page among them), so that the copy needs no registry.
    if os.path.isdir(os.path.join(ROOT, "npm")):
        os.symlink(os.path.join(ROOT, "npm"), os.path.join(dest, "npm"))
    return dest


def default_workers():
    """Gunicorn's workers as deploy/gunicorn.conf.py sets them by default."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUNICORN_")}
    return int(subprocess.run(
        ["/usr/bin/python3", "-c", "import runpy; print(runpy.run_path("
         "'deploy/gunicorn.conf.py')['workers'])"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout)


def free_ports(count):
    """p such that p, p + 1, ..., p + count - 1 are free."""
    return free_port(span=count)


class Checkout:
    def __init__(self, root):
        self.root = root
        self.port, self.pgport = free_port(), free_ports(2)
        self.url = f"http://127.0.0.1:{self.port}"

    def run(self, command, check=True, **env):
        env = {**os.environ, "PORT": str(self.port), "PGPORT": str(self.pgport), **env}
        done = subprocess.run([os.path.join(self.root, "deploy", "run.sh"), command], env=env,
                              cwd=self.root, capture_output=True, text=True, timeout=600)
        if check and done.returncode != 0:
            raise AssertionError(f"run.sh {command} exited {done.returncode}:\n"
                                 f"{done.stdout}\n{done.stderr}")
        return done

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            return r.status, r.read()

    def status_of(self, path):
        try:
            return self.get(path)[0]
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return None

    def state(self):
        return os.path.realpath(os.path.join(self.root, "run"))

    def pid(self, name):
        """The pid in run/NAME, or None."""
        try:
            with open(os.path.join(self.state(), name)) as f:
                return int(f.readline())
        except (FileNotFoundError, ValueError):
            return None

    def pids(self):
        """The servers' main processes: the postmasters, supervisord and
        the masters of Gunicorn and Nginx."""
        names = ("pg/data/postmaster.pid", "replica1/data/postmaster.pid", "supervisord.pid",
                 "gunicorn.pid", "nginx/nginx.pid")
        return [pid for pid in map(self.pid, names) if pid is not None]

    def everything(self):
        """Every process of the stack, the main ones and their children, as
        (pid, start time): this machine's pids wrap at 32768, and a pid
        given again is another process."""
        pids = self.pids()
        return [identity(pid) for pid in pids + [child for pid in pids for child in children(pid)]]

    def dsn(self, port, **extra):
        return " ".join(f"{k}={v}" for k, v in dict(
            host="127.0.0.1", port=port, dbname="postgres", user="fib_web", **extra).items())

    def passfile(self):
        return os.path.join(self.state(), "fib_web.pgpass")

    def su(self):
        return psycopg.connect(f"host={self.state()}/pg port={self.pgport} user=postgres "
                               "dbname=postgres", autocommit=True)


@contextlib.contextmanager
def app_changed(checkout, text):
    """The checkout's web/results.py with text appended, for the block."""
    path = os.path.join(checkout.root, "web", "results.py")
    with open(path) as f:
        code = f.read()
    try:
        with open(path, "a") as f:
            f.write(text)
        yield
    finally:
        with open(path, "w") as f:
            f.write(code)


def identity(pid):
    fields = stat(pid)
    return pid, (int(fields[19]) if fields else None)


def survivors(processes):
    """Those of processes ((pid, start time)) still running, with their
    command lines."""
    left = []
    for pid, start in processes:
        fields = stat(pid)
        if fields is not None and fields[0] != "Z" and int(fields[19]) == start:
            try:
                with open(f"/proc/{pid}/cmdline") as f:
                    left.append((pid, f.read().replace("\0", " ")))
            except FileNotFoundError:
                pass
    return left


def wait_until(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def psql_as(user, dsn):
    """psql as an OS user; (exit code, output)."""
    done = subprocess.run(["runuser", "-u", user, "--", f"{BINDIR}/psql", "-X", "-At", dsn, "-c",
                           "SELECT current_user"], capture_output=True, text=True,
                          env=dict(os.environ, HOME="/nonexistent"), timeout=60)
    return done.returncode, done.stdout + done.stderr


def kill_and_time(c, pid):
    """SIGKILL pid, then the seconds until /healthz answers 200 again from
    another master than pid."""
    start = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not alive(pid), 10)
    assert wait_until(lambda: c.status_of("/healthz") == 200, RESTART_SECONDS), \
        f"not served again within {RESTART_SECONDS} s: {c.run('status', check=False).stdout}"
    return time.monotonic() - start


@pytest.fixture(scope="module")
def stack():
    """make run with REPLICAS=1 in a checkout the servers' users cannot
    reach (inside a directory of mode 0700); the tests below use it in
    turn, the last one stops it.  c.started is that first start's result."""
    outer = tempfile.mkdtemp(prefix="pg_fib-make-run.")
    os.chmod(outer, 0o700)
    c = Checkout(copy_tree(os.path.join(outer, "pg_fib")))
    try:
        # Only start makes the state directory: status before it leaves
        # no trace.
        assert c.run("status", check=False).returncode == 3
        assert not os.path.lexists(os.path.join(c.root, "run"))
        c.started = c.run("start", check=False, REPLICAS="1")
        yield c
    finally:
        c.run("stop", check=False)
        state = c.state()
        shutil.rmtree(outer, ignore_errors=True)
        if state.startswith("/var/lib/pg_fib-run/"):
            shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def ordinary_checkout():
    outer = tempfile.mkdtemp(prefix="pg_fib-make-run.")
    os.chmod(outer, 0o755)
    checkout = Checkout(copy_tree(os.path.join(outer, "pg_fib")))
    try:
        yield checkout
    finally:
        checkout.run("stop", check=False)
        shutil.rmtree(outer, ignore_errors=True)


def test_make_run_is_quiet_and_says_how_to_connect(stack):
    c = stack
    done = c.started
    assert done.returncode == 0, done.stdout + done.stderr
    state = c.state()
    assert os.path.islink(os.path.join(c.root, "run"))
    assert state.startswith("/var/lib/pg_fib-run/pg_fib-")
    assert os.path.isfile(os.path.join(state, "app", "web", "__init__.py"))
    # A line per server, the URL, a curl to try, the psql command; the
    # details are in run/*.log.
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    for part in ("supervisord: running", "postgres: running", "replica1: running",
                 "gunicorn: running", "nginx:    running"):
        assert sum(line.startswith(part) for line in lines) == 1, done.stdout
    assert f"pg_fib runs at {c.url}/" in lines
    assert f"try:   curl {c.url}/api/v1/fib/100" in lines
    assert f"-h {state}/pg -p {c.pgport} -U postgres postgres" in done.stdout
    assert len(lines) <= 12, done.stdout
    for noise in ("NOTICE", "[notice]", "curl:", "WARNING"):
        assert noise not in done.stdout, done.stdout

    status, body = c.get("/api/v1/fib/32")
    assert status == 200 and json.loads(body)["value"] == "2178309"
    # The API's documentation, Swagger UI's files beside its page.
    status, body = c.get("/api/docs/")
    assert status == 200 and b'src="swagger-ui-bundle.js"' in body
    assert c.get("/api/docs/swagger-ui-bundle.js")[0] == 200
    health = json.loads(c.get("/healthz")[1])
    assert health["status"] == "up" and health["replicas"] == [{"name": "replica1",
                                                                "state": "up"}]
    # make status says the same, with the psql command.
    out = c.run("status").stdout
    for what in ("supervisord: running", "postgres: running",
                 f"replica1: running, hot standby on 127.0.0.1:{c.pgport + 1}",
                 "gunicorn: running", "nginx:    running",
                 f"psql:     {BINDIR}/psql -h {state}/pg -p {c.pgport} -U postgres postgres"):
        assert what in out, out
    assert f"127.0.0.1:{c.port}/" in out


def test_fib_web_needs_its_password_and_has_a_connection_limit(stack):
    """On the primary and the replica: no password or a wrong one is
    refused, so is another local user (who cannot read the passfile); the
    app's user with the passfile gets in; the limit is 2 x 4 workers x 4
    connections + 2; only fib_web may connect over TCP."""
    c = stack
    for port in (c.pgport, c.pgport + 1):
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(c.dsn(port))
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(c.dsn(port, password="guess"))
        code, out = psql_as("nobody", c.dsn(port))
        assert code != 0 and "password" in out, out
        code, out = psql_as("nobody", c.dsn(port, passfile=c.passfile()))
        assert code != 0 and "password" in out, out
        code, out = psql_as("www-data", c.dsn(port, passfile=c.passfile()))
        assert code == 0 and out.strip() == "fib_web", out
    assert subprocess.run(["runuser", "-u", "nobody", "--", "cat", c.passfile()],
                          capture_output=True).returncode != 0
    st = os.stat(c.passfile())
    assert st.st_mode & 0o777 == 0o600 and st.st_uid == int(
        subprocess.run(["id", "-u", "www-data"], capture_output=True, text=True).stdout)
    assert c.get("/api/v1/fib/33")[0] == 200
    with c.su() as conn:
        assert conn.execute("SELECT rolconnlimit FROM pg_roles WHERE rolname = 'fib_web'"
                            ).fetchone() == (2 * default_workers() * 4 + 2,)
    # Only fib_web may connect over TCP; the superuser only on the socket.
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"host=127.0.0.1 port={c.pgport} user=postgres dbname=postgres")
    with psycopg.connect(c.dsn(c.pgport, passfile=c.passfile())) as web:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            web.execute("SELECT * FROM fib_memo")


def test_gunicorn_outlives_its_workers_and_supervisord_restarts_killed_masters(stack):
    c = stack
    assert c.get("/healthz")[0] == 200
    # Gunicorn's workers killed 5 ms apart: the same master serves on.
    master = c.pid("gunicorn.pid")
    workers = children(master)
    assert len(workers) == default_workers()
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.005)
    assert wait_until(lambda: c.status_of("/healthz") == 200
                      and not set(children(master)) & set(workers)
                      and len(children(master)) == default_workers(), RESTART_SECONDS)
    assert c.pid("gunicorn.pid") == master and alive(master)

    # The masters killed outright: supervisord starts them again, and what
    # the killed masters left (their workers) goes.
    for name in ("gunicorn.pid", "nginx/nginx.pid"):
        master = c.pid(name)
        left = [identity(pid) for pid in children(master)]
        seconds = kill_and_time(c, master)
        assert seconds < RESTART_SECONDS
        assert wait_until(lambda: c.pid(name) not in (None, master), 10)
        assert wait_until(lambda: not survivors(left), 35), \
            f"{name}: the killed master's processes are left"
    assert c.get("/api/v1/fib/34")[0] == 200
    out = c.run("status").stdout
    assert "gunicorn: running" in out and "nginx:    running" in out


def test_a_new_version_of_the_app_is_served_and_never_answered_from_the_old_cache(stack):
    """make run after the app's settings or code changed restarts Gunicorn
    on them, and Nginx's cache keys change with them (deploy/run.sh
    app_version): the old version's answers are not served, and are again
    when it comes back."""
    c = stack

    def f31():
        with urllib.request.urlopen(c.url + "/api/v1/fib/31", timeout=10) as r:
            return r.headers["X-Cache-Status"], json.loads(r.read())

    f31()
    assert f31() == ("HIT", {"n": "31", "digits": "7", "negative": False, "source": "computed",
                             "value": "1346269"})
    master = c.pid("gunicorn.pid")

    # Another setting: another answer, not the cached one.
    c.run("start", FIB_WEB_VALUE_MAX_DIGITS="5")
    assert c.pid("gunicorn.pid") != master
    status, body = f31()
    assert status == "MISS" and "value" not in body and body["leading"] == "1346269"

    # The setting as before: that version's answer, from the cache.
    c.run("start")
    assert f31() == ("HIT", {"n": "31", "digits": "7", "negative": False, "source": "computed",
                             "value": "1346269"})

    # fib_web's pg_fib.max_n (which n /about links to a value) counts too;
    # Gunicorn's settings, which change no answer, do not.
    c.run("start", FIB_WEB_MAX_N="1000")
    assert f31()[0] == "MISS"
    c.run("start", GUNICORN_MAX_REQUESTS="30000")
    assert f31()[0] == "HIT"
    c.run("start")
    assert f31()[0] == "HIT"

    # New code (a module of the app changed): served, and not from the cache.
    try:
        with app_changed(c, "\n# A change of the app's code.\n"):
            master = c.pid("gunicorn.pid")
            c.run("start")
            assert c.pid("gunicorn.pid") != master
            assert f31()[0] == "MISS"
    finally:
        c.run("start")
    assert f31()[0] == "HIT"


def test_make_run_twice_stop_start_and_replicas(stack):
    c = stack
    state = c.state()
    with c.su() as conn:
        assert conn.execute("SELECT count(*) FROM cron.job WHERE jobname = 'pg_fib maintenance'"
                            ).fetchone() == (1,)
        # Beyond pg_fib.sync_max_n: computed by the worker, into the memo.
        assert conn.execute("SELECT state FROM fib_wait(3000555, '60 s')").fetchone() == ("done",)

    # Twice is harmless: nothing restarted.
    before = c.pids()
    assert len(before) == 5
    done = c.run("start")
    assert done.stderr == "" and c.pids() == before and c.get("/healthz")[0] == 200

    # Data survives stop and start; stop stops supervisord and every
    # process under it.
    every = c.everything()
    c.run("stop")
    assert not survivors(every)
    assert c.run("status", check=False).returncode == 3
    c.run("start")
    with c.su() as conn:
        assert conn.execute("SELECT count(*) FROM fib_memo WHERE n = 3000555").fetchone() == (1,)
    assert json.loads(c.get("/healthz")[1])["replicas"] == [{"name": "replica1", "state": "up"}]

    # REPLICAS=0 stops the replica (its data stays) and points the app at
    # the primary alone.
    c.run("start", REPLICAS="0")
    assert json.loads(c.get("/healthz")[1])["replicas"] == []
    assert os.path.isdir(os.path.join(state, "replica1", "data"))
    assert "replica1: stopped" in c.run("status").stdout

    every = c.everything()
    c.run("stop")
    assert not survivors(every)


def listening(port):
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    s.listen()
    return s


def test_make_run_refuses_a_taken_or_shared_port_before_it_starts_anything(
        ordinary_checkout):
    c = ordinary_checkout
    run = os.path.join(c.root, "run")

    def nothing_started():
        assert not os.path.exists(os.path.join(run, "pg")), "it started PostgreSQL"
        assert not os.path.exists(os.path.join(run, "supervisord.pid")), "it started supervisord"
        assert c.status_of("/healthz") is None

    # A port another program holds, with the port and the variable to change.
    for port, env, variable in ((c.port, {}, "PORT"), (c.pgport, {}, "PGPORT"),
                                (c.pgport + 1, {"REPLICAS": "1"}, "PGPORT")):
        with listening(port):
            done = c.run("start", check=False, **env)
        assert done.returncode != 0
        assert f"port {port} on 127.0.0.1" in done.stderr and variable in done.stderr, \
            done.stderr
        assert "taken by another program" in done.stderr
        nothing_started()

    # Two parts on one port.
    done = c.run("start", check=False, REPLICAS="1", PORT=str(c.pgport + 1))
    assert done.returncode != 0 and f"port {c.pgport + 1} would be both" in done.stderr
    assert "PORT" in done.stderr
    nothing_started()


def test_make_run_with_ports_side_by_side(ordinary_checkout):
    """Nginx on PORT, PostgreSQL on PORT + 1, as a user picks them
    (Gunicorn is on a Unix socket); fewer workers and connections per
    pool, and the connection limit follows them and holds."""
    c = ordinary_checkout
    run = os.path.join(c.root, "run")
    c.port = free_ports(2)
    c.pgport = c.port + 1
    c.url = f"http://127.0.0.1:{c.port}"
    small = {"GUNICORN_WORKERS": "2", "FIB_WEB_POOL_MAX_SIZE": "2"}
    done = c.run("start", **small)
    assert not os.path.islink(run) and c.state() == run
    assert f"pg_fib runs at {c.url}/" in done.stdout
    status, body = c.get("/api/v1/fib/32")
    assert status == 200 and json.loads(body)["value"] == "2178309"
    limit = 2 * 2 * 2 + 2
    with c.su() as conn:
        assert conn.execute("SELECT rolconnlimit FROM pg_roles WHERE rolname = 'fib_web'"
                            ).fetchone() == (limit,)
        used = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = 'fib_web'"
                            ).fetchone()[0]
    # The limit holds: one connection more than it is refused.
    conns = [psycopg.connect(c.dsn(c.pgport, passfile=c.passfile())) for _ in range(limit - used)]
    try:
        with pytest.raises(psycopg.OperationalError, match="too many connections for role"):
            psycopg.connect(c.dsn(c.pgport, passfile=c.passfile()))
    finally:
        for conn in conns:
            conn.close()
    assert c.get("/healthz")[0] == 200

    # Twice, with the same settings: harmless.
    pids = c.pids()
    assert c.run("start", **small).returncode == 0 and c.pids() == pids

    # The app runs from its copy in run/app: workers started after the
    # checkout changed (here, killed ones) import the code make run started,
    # the code Nginx's cache keys name.
    master = c.pid("gunicorn.pid")
    workers = children(master)
    with app_changed(c, "\nraise RuntimeError('not the code make run started')\n"):
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        assert wait_until(lambda: len(set(children(master)) - set(workers)) == 2
                          and c.status_of("/healthz") == 200, RESTART_SECONDS)
        assert c.pid("gunicorn.pid") == master

    # A part that does not come up: make run fails and shows its log.
    done = c.run("start", check=False, GUNICORN_WORKER_CLASS="no_such_worker")
    assert done.returncode != 0
    assert "gunicorn could not start" in done.stderr and "no_such_worker" in done.stderr, \
        done.stderr
    assert "pg_fib runs at" not in done.stdout
    assert c.run("status", check=False).returncode == 3
    # Fixed, it starts again.
    c.run("start")
    assert c.get("/healthz")[0] == 200

    every = c.everything()
    c.run("stop")
    assert not survivors(every)
