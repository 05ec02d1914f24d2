"""docker/db-entrypoint.sh run for real on this host, outside any
container (no Docker engine runs here): as the "db" service, it creates
the cluster with make run's settings, runs make run's setup SQL and the
passwords, and serves; the compose file's health check passes against it;
a second start of the same data is harmless; as the "replica" service it
copies the primary with pg_basebackup -R and serves a hot standby that
receives the primary's memo rows, and passes the replica's health check.

PG_FIB_DATA puts the "volume" in a temporary directory and
LISTEN_ADDRESSES keeps the servers on loopback.  Every server is stopped
as docker stop would (SIGINT, the compose file's stop_signal), and by
pg_ctl if it was left behind."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import psycopg
import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "python"))

from cluster import BINDIR, as_owner, free_port  # noqa: E402

ENTRYPOINT = os.path.join(ROOT, "docker", "db-entrypoint.sh")
SYNC_MAX_N = 3_000_000
IMAGE_DATA = "/var/lib/pg_fib"
IMAGE_PORT = "25432"


def two_free_ports():
    """A port whose predecessor (the entrypoint's setup port) is free too."""
    return free_port(span=2) + 1


class Server:
    """docker/db-entrypoint.sh MODE with its "volume" in a temporary directory."""

    def __init__(self, mode, **env):
        self.mode = mode
        self.data = tempfile.mkdtemp(prefix="pg_fib-volume.")
        os.chmod(self.data, 0o755)
        self.port = two_free_ports()
        self.log = os.path.join(self.data, "entrypoint.log")
        self.env = dict(os.environ, PG_FIB_DATA=self.data, PGPORT=str(self.port),
                        LISTEN_ADDRESSES="127.0.0.1", FIB_WEB_PASSWORD="web-secret",
                        REPLICATION_PASSWORD="replication-secret", **env)
        self.proc = None

    @property
    def socket_dir(self):
        return os.path.join(self.data, "pg")

    def start(self, timeout=90):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([ENTRYPOINT, self.mode], env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"the entrypoint exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                with self.connect(connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                    return self
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"not ready after {timeout} s:\n{self.tail()}")
                time.sleep(0.2)

    def tail(self):
        with open(self.log, errors="replace") as f:
            return f.read()[-3000:]

    def connect(self, user="postgres", **kwargs):
        return psycopg.connect(host=self.socket_dir, port=self.port, user=user, dbname="postgres",
                               autocommit=True, **kwargs)

    def stop(self):
        """SIGINT, as docker stop with stop_signal SIGINT: the server's
        fast shutdown; returns its exit status."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return None if self.proc is None else self.proc.returncode

    def destroy(self):
        self.stop()
        datadir = os.path.join(self.socket_dir, "data")
        if os.path.exists(os.path.join(datadir, "postmaster.pid")):
            subprocess.run(as_owner([f"{BINDIR}/pg_ctl", f"--pgdata={datadir}", "--mode=immediate",
                                     "--wait", "--silent", "stop"]), check=False)
        shutil.rmtree(self.data, ignore_errors=True)

    def healthcheck(self, service):
        """The compose file's health check of service, run against this
        server (its paths and port in place of the image's)."""
        with open(os.path.join(ROOT, "docker-compose.yml")) as f:
            test = yaml.safe_load(f)["services"][service]["healthcheck"]["test"]
        assert test[0] == "CMD-SHELL"
        command = test[1]
        for image, here in ((f"{IMAGE_DATA}/pg", self.socket_dir), (f"-p {IMAGE_PORT}", f"-p {self.port}"),
                            ("/usr/lib/postgresql/15/bin", BINDIR)):
            assert image in command, (image, command)
            command = command.replace(image, here)
        return subprocess.run(["sh", "-c", command], capture_output=True, timeout=30).returncode


@pytest.fixture
def primary():
    server = Server("primary")
    try:
        yield server
    finally:
        server.destroy()


def test_the_primary_is_set_up_as_make_run_and_its_health_check_passes(primary):
    assert primary.healthcheck("db") != 0        # nothing runs yet
    primary.start()
    with primary.connect() as su:
        settings = dict(su.execute("SELECT name, setting FROM pg_settings WHERE name IN"
                                   " ('shared_preload_libraries', 'pg_fib.workers', 'max_worker_processes',"
                                   "  'cron.database_name', 'cron.use_background_workers',"
                                   "  'listen_addresses', 'port')").fetchall())
        assert settings == {"shared_preload_libraries": "pg_fib, pg_cron", "pg_fib.workers": "1",
                            "max_worker_processes": "16", "cron.database_name": "postgres",
                            "cron.use_background_workers": "on", "listen_addresses": "127.0.0.1",
                            "port": str(primary.port)}
        assert su.execute("SELECT extname FROM pg_extension WHERE extname IN ('pg_fib', 'pg_cron')"
                          " ORDER BY 1").fetchall() == [("pg_cron",), ("pg_fib",)]
        assert su.execute("SELECT count(*) FROM cron.job WHERE jobname = 'pg_fib maintenance'").fetchone() == (1,)
        roles = su.execute("SELECT rolname, rolcanlogin, rolreplication, rolsuper,"
                           " left(rolpassword, 14) FROM pg_authid"
                           " WHERE rolname IN ('fib_web', 'replicator') ORDER BY 1").fetchall()
        assert roles == [("fib_web", True, False, False, "SCRAM-SHA-256$"),
                         ("replicator", True, True, False, "SCRAM-SHA-256$")]
        assert su.execute("SELECT setconfig FROM pg_db_role_setting"
                          " WHERE setrole = 'fib_web'::regrole").fetchone() == (["pg_fib.max_n=100000000"],)
        # pg_hba.conf parses, with the containers' lines.
        rules = su.execute("SELECT type, database, user_name, address, auth_method, error"
                           " FROM pg_hba_file_rules").fetchall()
        assert all(r[5] is None for r in rules), rules
        assert ("host", ["all"], ["fib_web"], "all", "scram-sha-256", None) in rules
        assert ("host", ["replication"], ["replicator"], "all", "scram-sha-256", None) in rules
        # The setup's server is gone: nothing on the setup port.
        assert not os.path.exists(os.path.join(primary.socket_dir, f".s.PGSQL.{primary.port - 1}"))
    with psycopg.connect(host="127.0.0.1", port=primary.port, user="fib_web", dbname="postgres",
                         autocommit=True) as web:
        assert web.execute("SELECT fib_text(100)").fetchone() == ("354224848179261915075",)
        deadline = time.monotonic() + 30
        while web.execute("SELECT keeper, workers FROM fib_web_health()").fetchone() != (1, 1):
            assert time.monotonic() < deadline, "pg_fib's keeper and worker did not start"
            time.sleep(0.2)
    assert primary.healthcheck("db") == 0

    # docker stop, then docker start: the same volume, the setup again,
    # nothing lost.
    with primary.connect() as su:
        assert su.execute("SELECT state FROM fib_wait(%s)", (SYNC_MAX_N + 1,)).fetchone() == ("done",)
    assert primary.stop() == 0
    assert primary.healthcheck("db") != 0
    primary.start()
    with primary.connect() as su:
        assert su.execute("SELECT count(*) FROM fib_memo WHERE n = %s", (SYNC_MAX_N + 1,)).fetchone() == (1,)
        assert su.execute("SELECT count(*) FROM pg_roles WHERE rolname IN ('fib_web', 'replicator')").fetchone() == (2,)
    assert primary.healthcheck("db") == 0


def test_the_replica_is_a_hot_standby_of_the_primary(primary):
    primary.start()
    replica = Server("replica", PRIMARY_HOST="127.0.0.1", PRIMARY_PORT=str(primary.port))
    try:
        replica.start()
        n = SYNC_MAX_N + 2
        with primary.connect() as su:
            assert su.execute("SELECT state FROM fib_wait(%s)", (n,)).fetchone() == ("done",)
            value = su.execute("SELECT fib_text(%s)", (n,)).fetchone()[0]
        with replica.connect() as ro:
            assert ro.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
            deadline = time.monotonic() + 30
            while ro.execute("SELECT count(*) FROM fib_memo WHERE n = %s", (n,)).fetchone() != (1,):
                assert time.monotonic() < deadline, "the replica did not receive the memo row"
                time.sleep(0.1)
            assert ro.execute("SELECT fib_text(%s)", (n,)).fetchone() == (value,)
            with pytest.raises(psycopg.Error) as refused:
                ro.execute("SELECT fib_request(%s)", (n + 1,))
            assert refused.value.sqlstate == "25006"
        assert replica.healthcheck("replica") == 0
        assert primary.healthcheck("replica") != 0      # a primary is not a replica
        assert replica.stop() == 0
    finally:
        replica.destroy()
