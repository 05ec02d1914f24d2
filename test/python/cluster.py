"""Throwaway PostgreSQL clusters for tests that need one of their own.

The same rules as deploy/pgcluster.sh: servers run as the "postgres" user
when the tests run as root, listen on 127.0.0.1 on a port in
PG_FIB_TEST_PORTS (deploy/free_ports.py), and keep their socket in their own
directory.
"""

import contextlib
import importlib.util
import os
import shutil
import subprocess
import tempfile
import time

import psycopg

# The line that makes a cluster load pg_fib at start, as production does.
PRELOAD_PG_FIB = "shared_preload_libraries = 'pg_fib'"

PG_CONFIG = os.environ.get("PG_CONFIG", "pg_config")
BINDIR = subprocess.run([PG_CONFIG, "--bindir"], check=True, capture_output=True,
                        text=True).stdout.strip()


def as_owner(args):
    """The command line args, run as the owner of the clusters."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + list(args)
    return list(args)


def _load_free_ports():
    """deploy/free_ports.py, the one place that picks test ports (it honours
    PG_FIB_TEST_PORTS)."""
    path = os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "free_ports.py")
    spec = importlib.util.spec_from_file_location("free_ports", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


free_ports = _load_free_ports()


def free_port(span=1):
    """A free port on 127.0.0.1 in PG_FIB_TEST_PORTS (default 20000-31999);
    with span, the first of span free ports side by side."""
    return free_ports.free_port(span)


class Cluster:
    """A PostgreSQL cluster in a temporary directory."""

    def __init__(self, settings=()):
        self.dir = tempfile.mkdtemp(prefix="pg_fib-cluster.")
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        self.port = free_port()
        self.settings = list(settings)

    def _conf_lines(self):
        return [f"port = {self.port}", "listen_addresses = '127.0.0.1'",
                f"unix_socket_directories = '{self.dir}'"] + self.settings

    def _append_conf(self, lines):
        subprocess.run(as_owner(["tee", "-a", os.path.join(self.data, "postgresql.conf")]),
                       input="\n".join(lines) + "\n", text=True, check=True,
                       stdout=subprocess.DEVNULL)

    def init(self):
        subprocess.run(as_owner([f"{BINDIR}/initdb", f"--pgdata={self.data}", "--username=postgres",
                                 "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8",
                                 "--no-sync"]), check=True, capture_output=True)
        self._append_conf(self._conf_lines())
        return self

    def base_backup_of(self, primary_host, primary_port):
        """Make this cluster a hot standby of the given primary."""
        subprocess.run(as_owner([f"{BINDIR}/pg_basebackup", f"--pgdata={self.data}",
                                 f"--host={primary_host}", f"--port={primary_port}",
                                 "--username=postgres", "--write-recovery-conf",
                                 "--checkpoint=fast", "--wal-method=stream"]),
                       check=True, capture_output=True)
        self._append_conf(self._conf_lines() + ["hot_standby = on"])
        return self

    def start(self):
        subprocess.run(as_owner([f"{BINDIR}/pg_ctl", f"--pgdata={self.data}", f"--log={self.log}",
                                 "--wait", "--silent", "start"]), check=True)
        return self

    def stop(self, mode="fast"):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            subprocess.run(as_owner([f"{BINDIR}/pg_ctl", f"--pgdata={self.data}", f"--mode={mode}",
                                     "--wait", "--silent", "stop"]), check=False)

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def connect(self, dbname="postgres", user="postgres", **kwargs):
        return psycopg.connect(host=self.dir, port=self.port, user=user, dbname=dbname,
                               **kwargs)

    def session(self, user="postgres", dbname="postgres", statement_timeout="30s"):
        """An autocommit connection whose statements are cancelled after
        statement_timeout, so that a test that would hang on this cluster
        fails instead; set with SET, as a session of the test would."""
        conn = self.connect(dbname=dbname, user=user, autocommit=True)
        conn.execute(f"SET statement_timeout = '{statement_timeout}'")
        return conn

    def client(self, tool, *args, timeout=120):
        """Run PostgreSQL's client program tool (pg_dump, pg_restore, ...)
        with args on this cluster as postgres; fail with what it said
        unless it succeeds."""
        done = subprocess.run([f"{BINDIR}/{tool}", f"--host={self.dir}", f"--port={self.port}",
                               "--username=postgres", *args], capture_output=True, text=True,
                              timeout=timeout)
        assert done.returncode == 0, (tool, done.stderr)
        return done

    def wait_ready(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.connect(connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


@contextlib.contextmanager
def standby_of(host, port, settings=()):
    """A hot standby of the cluster at host (its socket directory) and
    port, made by pg_basebackup -R, started and accepting connections, for
    a with block; stopped and deleted when the block ends."""
    node = Cluster(settings)
    try:
        node.base_backup_of(host, port).start()
        node.wait_ready()
        yield node
    finally:
        node.destroy()


@contextlib.contextmanager
def running(settings=(), extension=False):
    """A Cluster with settings, initialised, started and accepting
    connections, for a with block; with extension, pg_fib is created in its
    database "postgres".  The cluster is stopped and deleted when the block
    ends, whatever happened, also when it failed to start."""
    c = Cluster(settings)
    try:
        c.init().start()
        c.wait_ready()
        if extension:
            with c.connect(autocommit=True) as conn:
                conn.execute("CREATE EXTENSION pg_fib")
        yield c
    finally:
        c.destroy()
