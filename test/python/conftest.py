"""Fixtures of the Python suites.

test/run-tests.sh starts the shared cluster and exports PGHOST, PGPORT and
PGUSER.  The suites work in database "postgres", where the cluster's pg_fib
workers run: a session of the suite creates the extension afresh there and
drops it at the end.  Tests that need a cluster of their own (a standby, a
crash) start it with cluster.Cluster and always stop it.
"""

import os

import psycopg
import pytest

TEST_DB = "postgres"


def _require_server():
    if "PGHOST" not in os.environ:
        pytest.exit("PGHOST is not set: run the suites through 'make test'", returncode=2)


@pytest.fixture(scope="session")
def database():
    """The name of the database where pg_fib is freshly created and its
    workers run."""
    _require_server()
    with psycopg.connect(dbname=TEST_DB, autocommit=True) as conn:
        conn.execute("DROP EXTENSION IF EXISTS pg_fib CASCADE")
        conn.execute("CREATE EXTENSION pg_fib")
    yield TEST_DB
    with psycopg.connect(dbname=TEST_DB, autocommit=True) as conn:
        conn.execute("DROP EXTENSION IF EXISTS pg_fib CASCADE")


@pytest.fixture
def server_conn():
    """An autocommit connection to the shared cluster's database "postgres",
    for what needs the server but not the extension (pg_settings): pg_fib is
    neither created nor dropped."""
    _require_server()
    with psycopg.connect(dbname=TEST_DB, autocommit=True) as c:
        yield c


@pytest.fixture
def conn(database):
    """An autocommit connection to the test database."""
    with psycopg.connect(dbname=database, autocommit=True) as c:
        yield c


@pytest.fixture
def connect(database):
    """A function that opens more connections to the test database."""
    opened = []

    def _connect(**kwargs):
        c = psycopg.connect(dbname=database, autocommit=True, **kwargs)
        opened.append(c)
        return c

    yield _connect
    for c in opened:
        c.close()
