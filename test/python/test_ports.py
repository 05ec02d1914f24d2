"""Every place a test or benchmark picks a port picks it in the range
PG_FIB_TEST_PORTS sets (deploy/free_ports.py), and the variable's bad values
are refused with a message.  Needs no server."""

import os
import random
import subprocess

import pytest

import cluster

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FREE_PORTS = os.path.join(ROOT, "deploy", "free_ports.py")


@pytest.fixture
def window(monkeypatch):
    """A narrow range of 100 ports, set in PG_FIB_TEST_PORTS: a port picked
    anywhere in 20000-31999 falls in it once in 120 draws."""
    low = random.randrange(20000, 31900)
    high = low + 99
    monkeypatch.setenv("PG_FIB_TEST_PORTS", f"{low}-{high}")
    return low, high


def in_window(port, window):
    return window[0] <= port <= window[1]


def test_the_python_suites_ports_fall_in_the_range(window):
    ports = [cluster.free_port() for _ in range(30)]
    assert all(in_window(p, window) for p in ports), ports


def test_ports_side_by_side_all_fall_in_the_range(window):
    for _ in range(30):
        first = cluster.free_port(span=3)
        assert in_window(first, window) and in_window(first + 2, window), first


def test_a_new_clusters_port_falls_in_the_range(window):
    c = cluster.Cluster()
    try:
        assert in_window(c.port, window), c.port
    finally:
        c.destroy()


def test_the_shell_scripts_ports_fall_in_the_range(window):
    """deploy/pgcluster.sh's pgcluster_free_port (test/run-tests.sh and
    bench/*.sh) and bench/web.sh's command line."""
    script = f"source {ROOT}/deploy/pgcluster.sh; for i in $(seq 20); do pgcluster_free_port; done"
    out = subprocess.run(["bash", "-c", script], check=True, capture_output=True, text=True,
                         cwd=ROOT).stdout.split()
    assert len(out) == 20 and all(in_window(int(p), window) for p in out), out
    out = subprocess.run(["/usr/bin/python3", FREE_PORTS, "21"], check=True, capture_output=True,
                         text=True).stdout.split()
    assert len(set(out)) == 21 and all(in_window(int(p), window) for p in out), out


def test_the_shared_clusters_port_falls_in_the_range():
    """The cluster test/run-tests.sh started, when the range was set."""
    if "PG_FIB_TEST_PORTS" not in os.environ or "PGPORT" not in os.environ:
        pytest.skip("run by test/run-tests.sh with PG_FIB_TEST_PORTS set")
    low, high = cluster.free_ports.port_range()
    assert low <= int(os.environ["PGPORT"]) <= high


def test_unset_or_empty_is_the_default_range(monkeypatch):
    monkeypatch.delenv("PG_FIB_TEST_PORTS", raising=False)
    assert cluster.free_ports.port_range() == (20000, 31999)
    monkeypatch.setenv("PG_FIB_TEST_PORTS", "")
    assert cluster.free_ports.port_range() == (20000, 31999)


@pytest.mark.parametrize("value,says", [
    ("20000", "is not LOW-HIGH"),
    ("20000:20999", "is not LOW-HIGH"),
    ("a-b", "is not LOW-HIGH"),
    ("-20000-20999", "is not LOW-HIGH"),
    ("20999-20000", "LOW <= HIGH"),
    ("80-1000", "1024 <= LOW"),
    ("20000-70000", "HIGH <= 65535"),
    ("30000-40000", "ephemeral range"),
])
def test_a_bad_range_is_refused_saying_why(monkeypatch, value, says):
    monkeypatch.setenv("PG_FIB_TEST_PORTS", value)
    with pytest.raises(cluster.free_ports.PortRangeError, match=says):
        cluster.free_port()
    done = subprocess.run(["/usr/bin/python3", FREE_PORTS], capture_output=True, text=True)
    assert done.returncode == 1 and says in done.stderr and not done.stdout
    done = subprocess.run(["bash", "-c", f"set -e; source {ROOT}/deploy/pgcluster.sh; "
                           "port=$(pgcluster_free_port); echo started on $port"],
                          capture_output=True, text=True)
    assert done.returncode != 0 and "started" not in done.stdout


def test_a_range_smaller_than_asked_is_refused(monkeypatch):
    monkeypatch.setenv("PG_FIB_TEST_PORTS", "21000-21001")
    with pytest.raises(cluster.free_ports.PortRangeError, match="fewer than 3"):
        cluster.free_port(span=3)
    done = subprocess.run(["/usr/bin/python3", FREE_PORTS, "3"], capture_output=True, text=True)
    assert done.returncode == 1 and "fewer than 3" in done.stderr
