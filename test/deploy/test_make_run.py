"""make run, make status and make stop for real (deploy/run.sh start,
status, stop), on free loopback ports, in copies of this tree.

- In a checkout the servers' users cannot reach (inside a directory of mode
  0700, as a checkout in /root is), with REPLICAS=1: the state goes to
  /var/lib/pg_fib-run/..., run/ is a link to it, the app runs from a copy;
  the URL and the psql command are printed, the stack and the replica
  answer, running it twice is harmless, only fib_web may connect over TCP,
  data survives stop and start, REPLICAS=0 stops the replica, and stop
  stops every process start started.
- In an ordinary checkout: run/ inside it.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import psycopg
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "python"))

from cluster import free_port  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="make run's users: needs root")


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
    return dest


def two_free_ports():
    """p such that p and p + 1 are free (the primary and its replica)."""
    for _ in range(100):
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue
    raise RuntimeError("no two free ports")


class Checkout:
    def __init__(self, root):
        self.root = root
        self.port, self.gunicorn_port, self.pgport = free_port(), free_port(), two_free_ports()
        self.url = f"http://127.0.0.1:{self.port}"

    def run(self, command, check=True, **env):
        env = dict(os.environ, PORT=str(self.port), GUNICORN_PORT=str(self.gunicorn_port),
                   PGPORT=str(self.pgport), **env)
        return subprocess.run([os.path.join(self.root, "deploy", "run.sh"), command], env=env,
                              cwd=self.root, capture_output=True, text=True, check=check,
                              timeout=600)

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            return r.status, r.read()

    def state(self):
        return os.path.realpath(os.path.join(self.root, "run"))

    def pids(self):
        state = self.state()
        pids = []
        for name in ("pg/data/postmaster.pid", "replica1/data/postmaster.pid", "gunicorn.pid",
                     "nginx/nginx.pid"):
            path = os.path.join(state, name)
            if os.path.exists(path):
                with open(path) as f:
                    pids.append(int(f.readline()))
        return pids


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def private_checkout():
    outer = tempfile.mkdtemp(prefix="pg_fib-make-run.")
    os.chmod(outer, 0o700)
    checkout = Checkout(copy_tree(os.path.join(outer, "pg_fib")))
    try:
        yield checkout
    finally:
        checkout.run("stop", check=False)
        state = checkout.state()
        shutil.rmtree(outer, ignore_errors=True)
        if state.startswith("/var/lib/pg_fib-run/"):
            shutil.rmtree(state, ignore_errors=True)


def test_make_run_where_the_servers_cannot_reach_the_checkout(private_checkout):
    c = private_checkout
    # Only start makes the state directory: status before it leaves no trace.
    assert c.run("status", check=False).returncode == 3
    assert not os.path.lexists(os.path.join(c.root, "run"))
    out = c.run("start", REPLICAS="1").stdout
    state = c.state()
    assert os.path.islink(os.path.join(c.root, "run"))
    assert state.startswith("/var/lib/pg_fib-run/pg_fib-")
    assert f"pg_fib runs at {c.url}/" in out
    assert f"-h {state}/pg -p {c.pgport} -U postgres postgres" in out
    assert os.path.isfile(os.path.join(state, "app", "web", "__init__.py"))

    status, body = c.get("/api/v1/fib/32")
    assert status == 200 and json.loads(body)["value"] == "2178309"
    health = json.loads(c.get("/healthz")[1])
    assert health["status"] == "up" and health["replicas"] == [{"name": "replica1",
                                                                "state": "up"}]
    lines = c.run("status").stdout
    for what in ("postgres: running", "replica1: running, hot standby on 127.0.0.1:"
                 f"{c.pgport + 1}", "gunicorn: running", f"nginx:    running"):
        assert what in lines, lines
    assert f"127.0.0.1:{c.port}/" in lines

    # Only fib_web may connect over TCP; the superuser only on the socket.
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"host=127.0.0.1 port={c.pgport} user=postgres dbname=postgres")
    with psycopg.connect(f"host=127.0.0.1 port={c.pgport} user=fib_web dbname=postgres") as web:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            web.execute("SELECT * FROM fib_memo")
    su = f"host={state}/pg port={c.pgport} user=postgres dbname=postgres"
    with psycopg.connect(su, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM cron.job WHERE jobname = 'pg_fib maintenance'"
                            ).fetchone() == (1,)
        assert conn.execute("SELECT rolname FROM pg_roles WHERE rolname = 'fib_web'").fetchone()
        # Beyond pg_fib.sync_max_n: computed by the worker, into the memo.
        assert conn.execute("SELECT state FROM fib_wait(3000555, '60 s')").fetchone() == ("done",)

    # Twice is harmless: nothing restarted.
    before = c.pids()
    c.run("start")
    assert c.pids() == before and c.get("/healthz")[0] == 200

    # Data survives stop and start; stop stops every process by its pid.
    c.run("stop")
    assert not any(alive(pid) for pid in before), before
    assert c.run("status", check=False).returncode == 3
    c.run("start")
    with psycopg.connect(su, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM fib_memo WHERE n = 3000555").fetchone() == (1,)
    assert json.loads(c.get("/healthz")[1])["replicas"] == [{"name": "replica1", "state": "up"}]

    # REPLICAS=0 stops the replica (its data stays) and points the app at
    # the primary alone.
    c.run("start", REPLICAS="0")
    assert json.loads(c.get("/healthz")[1])["replicas"] == []
    assert os.path.isdir(os.path.join(state, "replica1", "data"))
    assert "replica1: stopped" in c.run("status").stdout

    pids = c.pids()
    c.run("stop")
    assert not any(alive(pid) for pid in pids)


def test_make_run_in_an_ordinary_checkout():
    outer = tempfile.mkdtemp(prefix="pg_fib-make-run.")
    os.chmod(outer, 0o755)
    c = Checkout(copy_tree(os.path.join(outer, "pg_fib")))
    try:
        out = c.run("start").stdout
        assert not os.path.islink(os.path.join(c.root, "run"))
        assert c.state() == os.path.join(c.root, "run")
        assert f"pg_fib runs at {c.url}/" in out
        assert c.get("/healthz")[0] == 200
        pids = c.pids()
        assert len(pids) == 3
        c.run("stop")
        assert not any(alive(pid) for pid in pids)
    finally:
        c.run("stop", check=False)
        shutil.rmtree(outer, ignore_errors=True)
