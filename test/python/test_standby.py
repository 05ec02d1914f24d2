"""fib() and fib_mod() answer on a hot standby, where nothing can be written."""

import os

import pytest

import oracle
from cluster import Cluster


@pytest.fixture
def standby(database):
    node = Cluster()
    try:
        node.base_backup_of(os.environ["PGHOST"], os.environ["PGPORT"]).start()
        node.wait_ready()
        yield node
    finally:
        node.destroy()


def test_fib_on_hot_standby(standby, database):
    with standby.connect(dbname=database, autocommit=True) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
        text, mod = conn.execute("SELECT fib(100000)::text, fib_mod(-1000000, 1000000007)").fetchone()
        assert oracle.parse(text) == oracle.fib(100000)
        assert mod == oracle.fib_mod(-1000000, 1000000007)
