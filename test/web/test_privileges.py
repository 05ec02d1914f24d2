"""Role fib_web (deploy/fib_web.sql): EXECUTE on exactly the functions the
app calls, nothing else.  On extension 1.0, PUBLIC may still SELECT
fib_memo and fib_jobs, so the two SELECT cases fail there; they are right
for 1.1."""

import re

import psycopg
import pytest


TABLE_STATEMENTS = [
    "SELECT * FROM fib_memo",
    "SELECT * FROM fib_jobs",
    "INSERT INTO fib_memo (n, value, digits, compute_ms) VALUES (1, '\\x0100', 1, 0)",
    "UPDATE fib_memo SET hits = 0",
    "DELETE FROM fib_memo",
    "INSERT INTO fib_jobs (n) VALUES (123456789)",
    "UPDATE fib_jobs SET state = 'failed'",
    "DELETE FROM fib_jobs",
    "TRUNCATE fib_memo",
    "TRUNCATE fib_jobs",
]

# The upkeep; every other function of the extension that fib_web may not
# execute is found in the catalogue (test_fib_web_cannot_run_...).
UPKEEP_CALLS = [
    "SELECT fib_maintain()",
    "SELECT fib_schedule_maintenance()",
    "SELECT fib_restore_row()",
]

SUPERUSER_SETTINGS = ["pg_fib.max_n", "pg_fib.sync_max_n", "pg_fib.memo_min_n",
                      "pg_fib.max_queued_per_role"]
ALL_SETTINGS = SUPERUSER_SETTINGS + ["pg_fib.workers", "pg_fib.database", "pg_fib.max_queued",
                                     "pg_fib.max_attempts", "pg_fib.job_retention",
                                     "pg_fib.memo_max_size"]


def assert_42501(database, sql):
    with database.web() as conn:
        with pytest.raises(psycopg.Error) as refused:
            conn.execute(sql)
        assert refused.value.sqlstate == "42501", sql


@pytest.mark.parametrize("sql", TABLE_STATEMENTS)
def test_fib_web_cannot_touch_the_tables(database, sql):
    assert_42501(database, sql)


@pytest.mark.parametrize("sql", UPKEEP_CALLS)
def test_fib_web_cannot_run_the_upkeep(database, sql):
    assert_42501(database, sql)


def test_fib_web_cannot_run_any_internal_helper(database):
    """Every function of pg_fib that fib_web may not execute, called with
    NULL arguments, fails with 42501 (before its body could run)."""
    with database.su() as su:
        refused = su.execute("""
            SELECT p.oid::regproc::text,
                   coalesce(string_agg('NULL::' || format_type(t.type, NULL), ', '
                                       ORDER BY t.i), '')
            FROM pg_depend AS d
            JOIN pg_proc AS p ON p.oid = d.objid AND d.classid = 'pg_proc'::regclass
            LEFT JOIN LATERAL unnest(p.proargtypes::oid[]) WITH ORDINALITY AS t(type, i) ON true
            WHERE d.refclassid = 'pg_extension'::regclass
              AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_fib')
              AND d.deptype = 'e' AND p.prokind = 'f'
              AND NOT has_function_privilege('fib_web', p.oid, 'EXECUTE')
            GROUP BY p.oid""").fetchall()
    names = {name for name, _ in refused}
    assert {"fib_maintain", "fib_schedule_maintenance"} <= names
    for name, args in refused:
        assert_42501(database, f"SELECT {name}({args})")


@pytest.mark.parametrize("setting", SUPERUSER_SETTINGS)
def test_fib_web_cannot_raise_superuser_settings(database, setting):
    assert_42501(database, f"SET {setting} = 1000000000")
    assert_42501(database, f"SELECT set_config('{setting}', '1000000000', false)")
    assert_42501(database, f"ALTER ROLE fib_web SET {setting} = 1000000000")


@pytest.mark.parametrize("setting", ALL_SETTINGS)
def test_fib_web_cannot_alter_the_system(database, setting):
    assert_42501(database, f"ALTER SYSTEM SET {setting} = DEFAULT")


def test_fib_web_is_granted_exactly_the_functions_the_app_calls(database):
    from web import db
    sql = " ".join(v for k, v in vars(db).items() if k.endswith("_SQL"))
    called = set(re.findall(r"\b(fib_\w+)\(", sql))
    with database.su() as su:
        granted = {row[0] for row in su.execute("""
            SELECT p.proname FROM pg_proc AS p, aclexplode(p.proacl) AS a
            WHERE a.grantee = 'fib_web'::regrole AND a.privilege_type = 'EXECUTE'""")}
        # Nothing else: no table, schema or database privilege, no membership.
        others = su.execute("""
            SELECT (SELECT count(*) FROM pg_class AS c, aclexplode(c.relacl) AS a
                     WHERE a.grantee = 'fib_web'::regrole),
                   (SELECT count(*) FROM pg_auth_members WHERE member = 'fib_web'::regrole),
                   (SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls
                      FROM pg_roles WHERE rolname = 'fib_web')""").fetchone()
    assert granted == called
    assert others == (0, 0, False)


def test_every_route_works_as_fib_web(client):
    """The app connects as fib_web (conftest): one request of each route."""
    for url, status in [("/api/v1/fib/32", 200), ("/api/v1/fib/32/job", 200),
                        ("/api/v1/fib/32/digits", 200), ("/api/v1/fib/32/mod/10", 200),
                        ("/calculate/32", 200), ("/calculate_v2/32", 200),
                        ("/calculate_v3/32", 200), ("/calculate_v4/c/32", 200),
                        ("/get", 200), ("/healthz", 200), ("/metrics", 200), ("/?n=32", 200),
                        ("/", 200)]:
        assert client.get(url).status_code == status, url


def test_fib_web_sql_can_run_twice(database):
    database.run_fib_web_sql()
