"""Gunicorn's master (deploy/gunicorn.conf.py) outlives any pattern of
worker deaths: its workers killed with SIGKILL 5 ms apart, and all at once,
round after round, on several fresh masters (the first deaths after a start
are the ones that once stopped it), and each time the master is alive,
serves again with all its workers, and has dropped the dead workers'
metrics files.

Gunicorn 20.1 runs the child_exit hook inside the master's SIGCHLD handler,
which re-enters when workers die close together; a hook that imported a
module there stopped the master ("partially initialized module").  The app
runs without a database here: the page's static files and /metrics answer
without one.
"""

import glob
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "python"))

from cluster import free_port  # noqa: E402
from procs import alive, children  # noqa: E402

WORKERS = 8
MASTERS = 5


class Master:
    """Gunicorn with make run's configuration on a free loopback port."""

    def __init__(self, tmp):
        self.port = free_port()
        self.metrics = os.path.join(tmp, "metrics")
        self.log_path = os.path.join(tmp, "gunicorn.log")
        env = dict(os.environ, GUNICORN_BIND=f"127.0.0.1:{self.port}",
                   GUNICORN_WORKERS=str(WORKERS), PROMETHEUS_MULTIPROC_DIR=self.metrics,
                   # No database: a pool that gives up at once.
                   FIB_WEB_DATABASE_URL="host=127.0.0.1 port=1 dbname=postgres user=fib_web",
                   FIB_WEB_POOL_TIMEOUT="0.2")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                ["gunicorn", "--config", os.path.join(ROOT, "deploy", "gunicorn.conf.py"),
                 "web:create_app()"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def workers(self):
        return [pid for pid in children(self.process.pid) if alive(pid)]

    def get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
                return r.status
        except Exception as error:  # noqa: BLE001 - any failure is "not served"
            return repr(error)

    def wait_serving(self, exclude=(), workers=WORKERS):
        """Until the master serves the stylesheet with this many workers,
        none of them in exclude; False after 60 s or when the master
        exited."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            pids = self.workers()
            if (len(pids) >= workers and not set(pids) & set(exclude)
                    and self.get("/static/fib.css") == 200):
                return True
            time.sleep(0.1)
        return False

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in self.workers():
            os.kill(pid, signal.SIGKILL)


def kill(pids, spacing):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if spacing:
            time.sleep(spacing)


def live_gauge_pids(metrics):
    return {int(path.rsplit("_", 1)[1][:-3])
            for path in glob.glob(os.path.join(metrics, "gauge_live*_*.db"))}


@pytest.fixture
def master():
    with tempfile.TemporaryDirectory(prefix="pg_fib-gunicorn.") as tmp:
        m = Master(tmp)
        try:
            yield m
        finally:
            m.stop()


def test_workers_keep_their_heartbeat_in_memory(master):
    """The file each worker fchmods at every request (its heartbeat) is in
    /dev/shm, not on disk."""
    m = master
    assert m.wait_serving(), m.log()[-3000:]
    for pid in m.workers():
        fds = os.path.join("/proc", str(pid), "fd")
        files = [os.readlink(os.path.join(fds, fd)) for fd in os.listdir(fds)]
        beats = [f for f in files if os.path.basename(f).startswith("wgunicorn-")]
        assert beats and all(f.startswith("/dev/shm/") for f in beats), (pid, files)


@pytest.mark.parametrize("attempt", range(MASTERS))
def test_a_burst_of_deaths_after_the_start(master, attempt):
    """The first deaths after a start, 5 ms apart, of workers that serve."""
    m = master
    assert m.wait_serving(), m.log()[-3000:]
    dead = m.workers()
    kill(dead, 0.005)
    time.sleep(0.5)
    assert m.process.poll() is None, f"the master died: {m.log()[-3000:]}"
    assert m.wait_serving(exclude=dead, workers=1), f"not serving again: {m.log()[-3000:]}"
    assert "Unhandled exception in main loop" not in m.log()


def test_rounds_of_deaths_at_once_and_in_bursts(master):
    """Every worker at once, then 5 ms apart, then at once again, each time
    after they served; the dead workers' metrics files are gone each time."""
    m = master
    assert m.wait_serving(), m.log()[-3000:]
    for round_, spacing in enumerate((0, 0.005, 0)):
        # /metrics makes the workers that answer write their live gauges
        # (a file each), which must go with them.
        for _ in range(2 * WORKERS):
            m.get("/metrics")
        dead = m.workers()
        assert live_gauge_pids(m.metrics) & set(dead)
        kill(dead, spacing)
        time.sleep(0.5)
        assert m.process.poll() is None, f"round {round_}: the master died: {m.log()[-3000:]}"
        assert m.wait_serving(exclude=dead), \
            f"round {round_}: not serving again: {m.log()[-3000:]}"
        assert not live_gauge_pids(m.metrics) & set(dead), \
            f"round {round_}: dead workers' live gauges are left"
    assert "Unhandled exception in main loop" not in m.log()
