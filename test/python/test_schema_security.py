"""pg_fib's schema: the keeper, the workers and
fib_maintain() find the extension's objects by identity, so that a renamed
schema keeps working and nobody but a superuser can make them run code of
theirs; and fib_schedule_maintenance() quotes a schema name once.

On a cluster of its own (pg_fib and pg_cron preloaded, one compute worker):
the tests create and drop schemas, roles and the extension, and the attack
by a schema's owner, if it works, makes a role superuser."""

import time

import pytest
from psycopg import errors

from cluster import running
from jobs import restart_pg_fib_workers, wait_for

SYNC_MAX_N = 3_000_000


@pytest.fixture(scope="module")
def node():
    with running(["shared_preload_libraries = 'pg_fib, pg_cron'", "pg_fib.workers = 1",
                  "cron.database_name = 'postgres'", "cron.use_background_workers = on",
                  "max_worker_processes = 16"]) as c:
        yield c


@pytest.fixture
def admin(node):
    with node.session() as conn:
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
    """After ALTER SCHEMA ... RENAME, fib_wait of a new n completes, the
    keeper still requeues a dead worker's job, fib_maintain() works, and
    the keeper logs no error."""
    try:
        admin.execute("CREATE SCHEMA fibs")
        admin.execute("CREATE EXTENSION pg_fib SCHEMA fibs")
        assert admin.execute("SELECT state FROM fibs.fib_wait(%s)", (SYNC_MAX_N + 1,)).fetchone()[0] == "done"
        mark = _log_size(node)
        admin.execute("ALTER SCHEMA fibs RENAME TO fibs_renamed")
        with node.session() as fresh:
            fresh.execute("SET search_path = fibs_renamed, public")
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


def _undo_alice(admin):
    """Take back what an attack by alice may have won, and drop her schemas."""
    if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = 'alice'").fetchone():
        admin.execute("ALTER ROLE alice NOSUPERUSER")
        admin.execute("REVOKE CREATE ON DATABASE postgres FROM alice")
    _drop_everything(admin, schemas=("app", "app_old"), roles=("alice",))


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
    """The schema owner's attack: alice owns the schema pg_fib was installed
    in, renames it, and puts her own fib_jobs (with a job of a dead worker)
    and fib_worker_pids() etc. that run ALTER ROLE alice SUPERUSER in a new
    schema of the old name.  Neither the keeper (6 s, three of its rounds),
    nor fib_maintain() run by a superuser (refused with 55000), runs her
    code; fib_schedule_maintenance() refuses to schedule the upkeep of her
    schema (55000), and schedules nothing."""
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
        with pytest.raises(errors.ObjectNotInPrerequisiteState) as refused:
            admin.execute("SELECT app_old.fib_schedule_maintenance('0 0 1 1 *')")
        assert "superuser" in str(refused.value)
        assert admin.execute("SELECT count(*) FROM cron.job").fetchone()[0] == 0
    finally:
        _undo_alice(admin)


def test_a_schema_not_owned_by_a_superuser_is_refused_with_one_warning(node, admin):
    """pg_fib installed in a schema that bob (no superuser) owns: the
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
        # the one wording of the refusal (queuejobs.c), naming the schema and its owner
        assert refused.value.diag.message_detail.startswith('Schema "bobs" is owned by role "bob"')
        assert admin.execute("SELECT count(*) FROM bobs.fib_jobs").fetchone()[0] == 0
        with pytest.raises(errors.ObjectNotInPrerequisiteState):
            admin.execute("SELECT * FROM bobs.fib_maintain()")
        time.sleep(max(0.0, 6.5 - (time.monotonic() - start)))     # three of the keeper's rounds
        warnings = [line for line in _log_since(node, mark) if "WARNING" in line and "superuser" in line]
        assert 1 <= len(warnings) <= 2, warnings       # the keeper's, and at most the worker's
    finally:
        _drop_everything(admin, schemas=("bobs",), roles=("bob",))


def _old_done_job(admin, schema, n):
    """A done job that ended long ago: fib_maintain() purges it."""
    admin.execute(f"INSERT INTO {schema}.fib_jobs (n, state, attempts, requested_at, finished_at)"
                  " VALUES (%s, 'done', 1, now() - interval '20 years', now() - interval '20 years')", (n,))


def _has_job(admin, schema, n):
    return admin.execute(f"SELECT count(*) FROM {schema}.fib_jobs WHERE n = %s", (n,)).fetchone()[0] == 1


def _scheduled_command(admin, schema):
    job_id = admin.execute(f"SELECT {schema}.fib_schedule_maintenance('0 0 1 1 *')").fetchone()[0]
    row = admin.execute("SELECT command, database, username FROM cron.job WHERE jobid = %s", (job_id,)).fetchone()
    assert row[1:] == ("postgres", "postgres")
    return row[0]


def test_schedule_maintenance_in_a_schema_that_needs_quotes(node, admin):
    """In schema "Fib Schema" the command pg_cron runs works: it
    purges an old job there."""
    try:
        admin.execute('CREATE SCHEMA "Fib Schema"')
        admin.execute('CREATE EXTENSION pg_fib SCHEMA "Fib Schema"')
        admin.execute("CREATE EXTENSION pg_cron")
        command = _scheduled_command(admin, '"Fib Schema"')
        _old_done_job(admin, '"Fib Schema"', SYNC_MAX_N + 21)
        admin.execute(command)             # what pg_cron runs, run here to keep the test short
        assert not _has_job(admin, '"Fib Schema"', SYNC_MAX_N + 21)
    finally:
        _drop_everything(admin, schemas=('"Fib Schema"',))


def test_scheduled_upkeep_follows_a_renamed_schema(node, admin):
    """The upkeep scheduled before ALTER SCHEMA ... RENAME still runs
    fib_maintain() after it: the command finds the schema by identity, and
    names no schema a role could create again under the old name."""
    try:
        admin.execute("CREATE SCHEMA fibs")
        admin.execute("CREATE EXTENSION pg_fib SCHEMA fibs")
        admin.execute("CREATE EXTENSION pg_cron")
        command = _scheduled_command(admin, "fibs")
        assert "fibs" not in command
        admin.execute("ALTER SCHEMA fibs RENAME TO fibs_renamed")
        _old_done_job(admin, "fibs_renamed", SYNC_MAX_N + 22)
        admin.execute(command)
        assert not _has_job(admin, "fibs_renamed", SYNC_MAX_N + 22)
        # with the extension gone, the job says so instead of failing on a name
        admin.execute("DROP EXTENSION pg_fib")
        with pytest.raises(errors.UndefinedObject) as gone:
            admin.execute(command)
        assert "cron.unschedule" in gone.value.diag.message_hint
    finally:
        _drop_everything(admin, schemas=("fibs", "fibs_renamed"))


EVIL_MAINTAIN = [
    "ALTER SCHEMA app RENAME TO app_old",
    "CREATE SCHEMA app",
    """CREATE FUNCTION app.fib_maintain() RETURNS void LANGUAGE plpgsql
       AS $$ BEGIN EXECUTE 'ALTER ROLE alice SUPERUSER'; END $$""",
    "GRANT USAGE ON SCHEMA app TO PUBLIC",
]


def test_scheduled_upkeep_runs_no_code_of_a_later_schema_owner(node, admin):
    """The upkeep is scheduled while a superuser owns the schema; an
    unlucky operator then gives the schema to alice, who renames it and puts
    a fib_maintain() of hers, which makes her superuser, in a new schema of
    the old name.  The command pg_cron runs (as the superuser who scheduled
    it) refuses with 55000 and runs neither hers nor the real one; and after
    she renames it back and the schema is a superuser's again, it works."""
    try:
        admin.execute("CREATE ROLE alice LOGIN")
        admin.execute("GRANT CREATE ON DATABASE postgres TO alice")
        admin.execute("CREATE SCHEMA app")
        admin.execute("CREATE EXTENSION pg_fib SCHEMA app")
        admin.execute("CREATE EXTENSION pg_cron")
        command = _scheduled_command(admin, "app")
        admin.execute("ALTER SCHEMA app OWNER TO alice")
        with node.connect(user="alice", autocommit=True) as alice:
            for statement in EVIL_MAINTAIN:
                alice.execute(statement)
        _old_done_job(admin, "app_old", SYNC_MAX_N + 23)
        with pytest.raises(errors.ObjectNotInPrerequisiteState) as refused:
            admin.execute(command)
        assert "alice" in refused.value.diag.message_detail
        assert not _is_superuser(admin, "alice"), f"{command!r} made alice superuser"
        assert _has_job(admin, "app_old", SYNC_MAX_N + 23)

        admin.execute("DROP SCHEMA app CASCADE")
        admin.execute("ALTER SCHEMA app_old OWNER TO postgres")
        admin.execute(command)
        assert not _has_job(admin, "app_old", SYNC_MAX_N + 23)
        assert not _is_superuser(admin, "alice")
    finally:
        _undo_alice(admin)


def test_schedule_maintenance_refuses_bad_input(node, admin):
    """A NULL or malformed schedule is refused and schedules nothing."""
    try:
        admin.execute("CREATE SCHEMA fibs")
        admin.execute("CREATE EXTENSION pg_fib SCHEMA fibs")
        with pytest.raises(errors.ObjectNotInPrerequisiteState) as no_cron:
            admin.execute("SELECT fibs.fib_schedule_maintenance()")
        assert "CREATE EXTENSION pg_cron" in no_cron.value.diag.message_hint
        admin.execute("CREATE EXTENSION pg_cron")
        with pytest.raises(errors.NullValueNotAllowed):
            admin.execute("SELECT fibs.fib_schedule_maintenance(NULL)")
        with pytest.raises(errors.InvalidParameterValue):
            admin.execute("SELECT fibs.fib_schedule_maintenance('not a schedule')")
        assert admin.execute("SELECT count(*) FROM cron.job").fetchone()[0] == 0
    finally:
        _drop_everything(admin, schemas=("fibs",))


def test_update_from_1_0_replaces_the_scheduled_upkeep(node, admin):
    """For installations of 1.0: ALTER EXTENSION pg_fib UPDATE gives the
    pg_cron job that 1.0 registered (naming the schema) 1.1's command, on
    its schedule, so that it survives a rename; and in a schema alice owns
    it removes the job, with a warning, instead of leaving her a command
    that runs her fib_maintain() as a superuser."""
    try:
        admin.execute("CREATE ROLE alice")
        admin.execute("CREATE SCHEMA fibs")
        admin.execute("CREATE EXTENSION pg_fib VERSION '1.0' SCHEMA fibs")
        admin.execute("CREATE EXTENSION pg_cron")
        job_id = admin.execute("SELECT fibs.fib_schedule_maintenance('0 3 * * *')").fetchone()[0]
        assert admin.execute("SELECT command FROM cron.job WHERE jobid = %s",
                             (job_id,)).fetchone()[0] == "SELECT fibs.fib_maintain()"
        admin.execute("ALTER EXTENSION pg_fib UPDATE")
        jobs = admin.execute("SELECT schedule, command FROM cron.job"
                             " WHERE jobname = 'pg_fib maintenance'").fetchall()
        assert len(jobs) == 1 and jobs[0][0] == "0 3 * * *" and jobs[0][1].startswith("DO "), jobs
        admin.execute("ALTER SCHEMA fibs RENAME TO fibs_renamed")
        _old_done_job(admin, "fibs_renamed", SYNC_MAX_N + 24)
        admin.execute(jobs[0][1])
        assert not _has_job(admin, "fibs_renamed", SYNC_MAX_N + 24)

        admin.execute("DROP EXTENSION pg_fib")
        admin.execute("SELECT cron.unschedule(jobid) FROM cron.job")
        admin.execute("CREATE SCHEMA app AUTHORIZATION alice")
        admin.execute("CREATE EXTENSION pg_fib VERSION '1.0' SCHEMA app")
        admin.execute("SELECT app.fib_schedule_maintenance('0 3 * * *')")
        warnings = []
        admin.add_notice_handler(lambda diag: warnings.append(diag.message_primary))
        admin.execute("ALTER EXTENSION pg_fib UPDATE")
        assert admin.execute("SELECT count(*) FROM cron.job").fetchone()[0] == 0
        assert any("removed the pg_cron job" in w for w in warnings), warnings

        # a job another superuser scheduled is that role's to replace: said, kept
        admin.execute("DROP EXTENSION pg_fib")
        admin.execute("CREATE ROLE boss SUPERUSER LOGIN")
        admin.execute("CREATE EXTENSION pg_fib VERSION '1.0' SCHEMA fibs_renamed")
        with node.connect(user="boss", autocommit=True) as boss:
            boss.execute("SELECT fibs_renamed.fib_schedule_maintenance('0 4 * * *')")
        warnings.clear()
        admin.execute("ALTER EXTENSION pg_fib UPDATE")
        assert admin.execute("SELECT username, command FROM cron.job").fetchall() == \
            [("boss", "SELECT fibs_renamed.fib_maintain()")]
        assert any('"boss"' in w for w in warnings), warnings
    finally:
        _drop_everything(admin, schemas=("fibs", "fibs_renamed", "app"), roles=("alice", "boss"))
