"""pg_fib's schema (issue 6, D1, D10): the keeper, the workers and
fib_maintain() find the extension's objects by identity, so that a renamed
schema keeps working and nobody but a superuser can make them run code of
theirs; and fib_schedule_maintenance() quotes a schema name once.

On a cluster of its own (pg_fib and pg_cron preloaded, one compute worker):
the tests create and drop schemas, roles and the extension, and the attack
of D1, if it works, makes a role superuser."""

import time

import pytest
from psycopg import errors

from cluster import Cluster
from jobs import restart_pg_fib_workers, wait_for

SYNC_MAX_N = 3_000_000


@pytest.fixture(scope="module")
def node():
    c = Cluster(["shared_preload_libraries = 'pg_fib, pg_cron'", "pg_fib.workers = 1",
                 "cron.database_name = 'postgres'", "cron.use_background_workers = on",
                 "max_worker_processes = 16"]).init().start()
    try:
        c.wait_ready()
        yield c
    finally:
        c.destroy()


@pytest.fixture
def admin(node):
    with node.connect(autocommit=True) as conn:
        conn.execute("SET statement_timeout = '30s'")
        yield conn


def _log_size(node):
    with open(node.log, "rb") as f:
        return len(f.read())


def _log_since(node, offset):
    with open(node.log, "rb") as f:
        return f.read()[offset:].decode(errors="replace").splitlines()


def _drop_everything(admin, schemas=(), roles=()):
    admin.execute("DROP EXTENSION IF EXISTS pg_fib CASCADE")
    if admin.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_cron'").fetchone():
        admin.execute("SELECT cron.unschedule(jobid) FROM cron.job")
        admin.execute("DROP EXTENSION pg_cron")
    for schema in schemas:
        admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    for role in roles:
        if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
            admin.execute(f"DROP OWNED BY {role} CASCADE")
            admin.execute(f"DROP ROLE {role}")


def test_a_renamed_schema_keeps_working(node, admin):
    """D1: after ALTER SCHEMA ... RENAME, fib_wait of a new n completes, the
    keeper still requeues a dead worker's job, fib_maintain() works, and
    the keeper logs no error."""
    try:
        admin.execute("CREATE SCHEMA fibs")
        admin.execute("CREATE EXTENSION pg_fib SCHEMA fibs")
        assert admin.execute("SELECT state FROM fibs.fib_wait(%s)", (SYNC_MAX_N + 1,)).fetchone()[0] == "done"
        mark = _log_size(node)
        admin.execute("ALTER SCHEMA fibs RENAME TO fibs_renamed")
        with node.connect(autocommit=True) as fresh:
            fresh.execute("SET search_path = fibs_renamed, public")
            fresh.execute("SET statement_timeout = '30s'")
            assert fresh.execute("SELECT state FROM fib_wait(%s, '20 s')", (SYNC_MAX_N + 2,)).fetchone()[0] == "done"
            orphan = SYNC_MAX_N + 3
            fresh.execute("INSERT INTO fib_jobs (n, state, attempts, worker_pid, started_at)"
                          " VALUES (%s, 'running', 1, 999999, now())", (orphan,))
            state = wait_for(lambda: fresh.execute("SELECT state FROM fib_jobs WHERE n = %s AND state IN"
                                                   " ('done', 'failed')", (orphan,)).fetchone(),
                             20, interval=0.2, what="the keeper to requeue the dead worker's job")[0]
            assert state == "done"
            assert fresh.execute("SELECT requeued, purged, evicted FROM fib_maintain()").fetchone() == (0, 0, 0)
        # a session that used the functions before the rename goes on using them
        assert admin.execute("SELECT state FROM fibs_renamed.fib_wait(%s, '20 s')",
                             (SYNC_MAX_N + 4,)).fetchone()[0] == "done"
        time.sleep(2.5)        # one more of the keeper's 2 s rounds
        errors_logged = [line for line in _log_since(node, mark) if "ERROR" in line or "FATAL" in line]
        assert errors_logged == []
    finally:
        _drop_everything(admin, schemas=("fibs", "fibs_renamed"))


def _is_superuser(admin, role):
    return admin.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (role,)).fetchone()[0]


ATTACK = [
    "ALTER SCHEMA app RENAME TO app_old",
    "CREATE SCHEMA app",
    """CREATE TABLE app.fib_jobs (n bigint, state text, progress double precision, digits bigint,
           requested_at timestamptz, started_at timestamptz, finished_at timestamptz,
           compute_ms double precision, error text, attempts integer, worker_pid integer)""",
    """CREATE TABLE app.fib_memo (n bigint, value bytea, digits bigint, computed_at timestamptz,
           compute_ms double precision, hits bigint, last_used timestamptz)""",
    """INSERT INTO app.fib_jobs (n, state, progress, attempts, worker_pid, started_at)
       VALUES (3000001, 'running', 0, 1, 999999, now())""",
    """CREATE FUNCTION app.escalate() RETURNS void LANGUAGE plpgsql
       AS $$ BEGIN EXECUTE 'ALTER ROLE alice SUPERUSER'; END $$""",
    """CREATE FUNCTION app.fib_worker_pids() RETURNS integer[] LANGUAGE plpgsql
       AS $$ BEGIN PERFORM app.escalate(); RETURN '{}'; END $$""",
    """CREATE FUNCTION app.fib_wake_workers() RETURNS void LANGUAGE plpgsql
       AS $$ BEGIN PERFORM app.escalate(); END $$""",
    """CREATE FUNCTION app.fib_requeue_orphans() RETURNS integer LANGUAGE plpgsql
       AS $$ BEGIN PERFORM app.escalate(); RETURN 0; END $$""",
    "GRANT USAGE ON SCHEMA app TO PUBLIC",
    "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA app TO PUBLIC",
]


def test_a_schema_owner_cannot_become_superuser(node, admin):
    """D1, the issue's attack: alice owns the schema pg_fib was installed
    in, renames it, and puts her own fib_jobs (with a job of a dead worker)
    and fib_worker_pids() etc. that run ALTER ROLE alice SUPERUSER in a new
    schema of the old name.  Neither the keeper (6 s, three of its rounds),
    nor fib_maintain() run by a superuser (refused with 55000), nor the
    command fib_schedule_maintenance() registers with pg_cron run by a
    superuser, runs her code."""
    try:
        admin.execute("CREATE ROLE alice LOGIN")
        admin.execute("GRANT CREATE ON DATABASE postgres TO alice")
        admin.execute("CREATE SCHEMA app AUTHORIZATION alice")
        admin.execute("CREATE EXTENSION pg_fib SCHEMA app")
        with node.connect(user="alice", autocommit=True) as alice:
            for statement in ATTACK:
                alice.execute(statement)

        start = time.monotonic()
        while time.monotonic() - start < 6.0:
            if _is_superuser(admin, "alice"):
                pytest.fail(f"alice became superuser {time.monotonic() - start:.1f} s after her attack")
            time.sleep(0.2)

        with pytest.raises(errors.ObjectNotInPrerequisiteState):
            admin.execute("SELECT * FROM app_old.fib_maintain()")
        assert not _is_superuser(admin, "alice"), "fib_maintain() made alice superuser"

        admin.execute("CREATE EXTENSION pg_cron")
        try:
            job_id = admin.execute("SELECT app_old.fib_schedule_maintenance('0 0 1 1 *')").fetchone()[0]
        except errors.ObjectNotInPrerequisiteState:
            job_id = None              # refusing to schedule the upkeep of such a schema is right too
        if job_id is not None:
            command = admin.execute("SELECT command FROM cron.job WHERE jobid = %s", (job_id,)).fetchone()[0]
            admin.execute("SELECT cron.unschedule(%s)", (job_id,))
            with pytest.raises(errors.ObjectNotInPrerequisiteState):
                admin.execute(command)          # as pg_cron would run it, as the superuser
            assert not _is_superuser(admin, "alice"), f"{command!r} made alice superuser"
    finally:
        if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = 'alice'").fetchone():
            admin.execute("ALTER ROLE alice NOSUPERUSER")
        admin.execute("REVOKE CREATE ON DATABASE postgres FROM alice")
        _drop_everything(admin, schemas=("app", "app_old"), roles=("alice",))


def test_a_schema_not_owned_by_a_superuser_is_refused_with_one_warning(node, admin):
    """D1: pg_fib installed in a schema that bob (no superuser) owns: the
    keeper refuses to work there, fib_request gets 55000 naming the cause,
    fib_maintain() 55000, and the server log says so once, not every 2 s."""
    # a keeper of its own: one that refused another schema before may
    # have said so already
    restart_pg_fib_workers(admin, 1)
    try:
        admin.execute("CREATE ROLE bob")
        admin.execute("CREATE SCHEMA bobs AUTHORIZATION bob")
        mark = _log_size(node)
        admin.execute("CREATE EXTENSION pg_fib SCHEMA bobs")
        start = time.monotonic()
        with pytest.raises(errors.ObjectNotInPrerequisiteState) as refused:
            admin.execute("SELECT bobs.fib_request(%s)", (SYNC_MAX_N + 11,))
        assert "superuser" in str(refused.value)
        assert admin.execute("SELECT count(*) FROM bobs.fib_jobs").fetchone()[0] == 0
        with pytest.raises(errors.ObjectNotInPrerequisiteState):
            admin.execute("SELECT * FROM bobs.fib_maintain()")
        time.sleep(max(0.0, 6.5 - (time.monotonic() - start)))     # three of the keeper's rounds
        warnings = [line for line in _log_since(node, mark) if "WARNING" in line and "superuser" in line]
        assert 1 <= len(warnings) <= 2, warnings       # the keeper's, and at most the worker's
    finally:
        _drop_everything(admin, schemas=("bobs",), roles=("bob",))


def test_schedule_maintenance_in_a_schema_that_needs_quotes(node, admin):
    """D10: in schema "Fib Schema" the pg_cron command is
    SELECT "Fib Schema".fib_maintain(), and it runs."""
    try:
        admin.execute('CREATE SCHEMA "Fib Schema"')
        admin.execute('CREATE EXTENSION pg_fib SCHEMA "Fib Schema"')
        admin.execute("CREATE EXTENSION pg_cron")
        job_id = admin.execute('SELECT "Fib Schema".fib_schedule_maintenance()').fetchone()[0]
        command = admin.execute("SELECT command FROM cron.job WHERE jobid = %s", (job_id,)).fetchone()[0]
        admin.execute("SELECT cron.unschedule(%s)", (job_id,))
        assert command == 'SELECT "Fib Schema".fib_maintain()'
        admin.execute(command)             # what pg_cron runs, run here to keep the test short
    finally:
        _drop_everything(admin, schemas=('"Fib Schema"',))
