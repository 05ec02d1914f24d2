"""Fixtures of the Python suites.

test/run-tests.sh starts the shared cluster and exports PGHOST, PGPORT and
PGUSER.  The suites work in database "postgres", where the cluster's pg_fib
workers run: a session of the suite creates the extension afresh there and
drops it at the end.  Tests that need a cluster of their own (a standby, a
crash) start it with cluster.running (or cluster.Cluster) and always stop
it.  Roles and the pgmp schema that a test makes come from the fixtures
role and pgmp, which drop them whatever the test did.
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


def drop_role(conn, name):
    """Drop role name, if it exists, with what it owns and was granted in
    conn's database."""
    if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
        conn.execute(f"DROP OWNED BY {name} CASCADE")
        conn.execute(f"DROP ROLE {name}")


@pytest.fixture
def role(database):
    """A function that makes a throwaway role in the shared cluster:
    role(name, options="") drops a role of that name left over by an earlier
    run, runs CREATE ROLE name options (options such as "LOGIN" or
    "LOGIN IN ROLE pg_monitor") and returns name.  Every role made is
    dropped at the end of the test, with what it owns (schemas, tables,
    functions) and its grants, on a connection of the fixture's own, so
    that what the test did to its connections (SET ROLE) does not matter."""
    with psycopg.connect(dbname=database, autocommit=True) as admin:
        made = []

        def _role(name, options=""):
            drop_role(admin, name)
            admin.execute(f"CREATE ROLE {name} {options}")
            made.append(name)
            return name

        yield _role
        for name in reversed(made):
            drop_role(admin, name)


@pytest.fixture
def pgmp(database):
    """The pgmp extension (GMP's types, with its own allocation functions)
    created afresh in schema pgmp of the test database, for tests of pg_fib
    beside it; the schema is dropped with it at the end of the test, on a
    connection of the fixture's own (as the role fixture does)."""
    with psycopg.connect(dbname=database, autocommit=True) as admin:
        admin.execute("DROP SCHEMA IF EXISTS pgmp CASCADE")
        admin.execute("CREATE SCHEMA pgmp")
        admin.execute("CREATE EXTENSION pgmp SCHEMA pgmp")
        yield "pgmp"
        admin.execute("DROP SCHEMA pgmp CASCADE")
