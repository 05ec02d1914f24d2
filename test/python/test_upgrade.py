"""ALTER EXTENSION pg_fib UPDATE (keep for every later version):
an old version installed with data in its tables, updated, keeps the data
and ends with the same catalog as a fresh install of the new version.

The catalog is read generically, from the objects that are members of the
extension (pg_depend deptype 'e'), so that a later version needs only a new
line in VERSIONS.  Shared cluster, in two databases of their own (where no
pg_fib worker runs), dropped at the end."""

import sys

import psycopg
import pytest

from jobs import memo_row_value

# (old, new): each release adds its pair.
VERSIONS = [("1.0", "1.1")]

# One row per fact about the extension and its member objects: (kind,
# object, fact).  Nothing in it depends on OIDs or on the database's name.
CATALOG = r"""
WITH ext AS (
    SELECT * FROM pg_extension WHERE extname = 'pg_fib'
), member AS (
    SELECT d.classid, d.objid FROM pg_depend d, ext
     WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
), rel AS (
    SELECT c.* FROM pg_class c JOIN member m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
), comment AS (
    SELECT classoid, objoid, objsubid, description FROM pg_description
)
-- the extension itself, and its configuration tables as pg_dump sees them
SELECT 'extension', e.extname::text,
       format('version=%s relocatable=%s schema=%s owner=%s config=%s condition=%s',
              e.extversion, e.extrelocatable, e.extnamespace::regnamespace, e.extowner::regrole,
              (SELECT array_agg(c::regclass::text ORDER BY c::regclass::text) FROM unnest(e.extconfig) c),
              e.extcondition)
  FROM ext e
UNION ALL
-- every member, with its comment
SELECT 'member', pg_describe_object(m.classid, m.objid, 0),
       coalesce((SELECT description FROM comment d WHERE d.classoid = m.classid AND d.objoid = m.objid
                  AND d.objsubid = 0), '<no comment>')
  FROM member m
UNION ALL
-- functions
SELECT 'function', p.oid::regprocedure::text,
       format('result=%s args=%s kind=%s volatile=%s parallel=%s strict=%s secdef=%s leakproof=%s '
              'retset=%s cost=%s rows=%s config=%s acl=%s owner=%s language=%s bin=%s src=%s',
              pg_get_function_result(p.oid), pg_get_function_arguments(p.oid), p.prokind,
              p.provolatile, p.proparallel, p.proisstrict, p.prosecdef, p.proleakproof, p.proretset,
              p.procost, p.prorows, p.proconfig, p.proacl, p.proowner::regrole, l.lanname, p.probin, p.prosrc)
  FROM pg_proc p JOIN member m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
  JOIN pg_language l ON l.oid = p.prolang
UNION ALL
-- tables, views, sequences, composite types' relations
SELECT 'relation', r.oid::regclass::text,
       format('kind=%s persistence=%s acl=%s owner=%s options=%s rls=%s forcerls=%s replident=%s',
              r.relkind, r.relpersistence, r.relacl, r.relowner::regrole, r.reloptions, r.relrowsecurity,
              r.relforcerowsecurity, r.relreplident)
  FROM rel r
UNION ALL
-- the bodies of views
SELECT 'view', r.oid::regclass::text, pg_get_viewdef(r.oid)
  FROM rel r WHERE r.relkind IN ('v', 'm')
UNION ALL
-- columns, by position among the live ones (a dropped column leaves a gap in attnum)
SELECT 'column', format('%s #%s', a.attrelid::regclass,
                        lpad((row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum))::text, 3, '0')),
       format('name=%s type=%s notnull=%s default=%s storage=%s identity=%s generated=%s collation=%s acl=%s comment=%s',
              a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
              pg_get_expr(ad.adbin, ad.adrelid), a.attstorage, a.attidentity, a.attgenerated,
              a.attcollation::regcollation, a.attacl,
              (SELECT description FROM comment d WHERE d.classoid = 'pg_class'::regclass
                  AND d.objoid = a.attrelid AND d.objsubid = a.attnum))
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
 WHERE a.attnum > 0 AND NOT a.attisdropped
   AND (a.attrelid IN (SELECT oid FROM rel)
        OR a.attrelid IN (SELECT t.typrelid FROM pg_type t JOIN member m
                             ON m.classid = 'pg_type'::regclass AND m.objid = t.oid))
UNION ALL
-- constraints of the tables (checks, keys, not null is above)
SELECT 'constraint', format('%s %s', co.conrelid::regclass, co.conname),
       format('%s deferrable=%s validated=%s', pg_get_constraintdef(co.oid), co.condeferrable, co.convalidated)
  FROM pg_constraint co WHERE co.conrelid IN (SELECT oid FROM rel)
UNION ALL
-- indexes of the tables, with their comments
SELECT 'index', i.indexrelid::regclass::text,
       format('%s comment=%s', pg_get_indexdef(i.indexrelid),
              (SELECT description FROM comment d WHERE d.classoid = 'pg_class'::regclass
                  AND d.objoid = i.indexrelid AND d.objsubid = 0))
  FROM pg_index i WHERE i.indrelid IN (SELECT oid FROM rel)
UNION ALL
-- triggers of the tables
SELECT 'trigger', format('%s %s', t.tgrelid::regclass, t.tgname),
       format('%s enabled=%s comment=%s', pg_get_triggerdef(t.oid), t.tgenabled,
              (SELECT description FROM comment d WHERE d.classoid = 'pg_trigger'::regclass
                  AND d.objoid = t.oid))
  FROM pg_trigger t WHERE t.tgrelid IN (SELECT oid FROM rel) AND NOT t.tgisinternal
UNION ALL
-- policies and rules of the tables
SELECT 'policy', format('%s %s', p.polrelid::regclass, p.polname),
       format('cmd=%s permissive=%s roles=%s using=%s check=%s', p.polcmd, p.polpermissive, p.polroles::regrole[],
              pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
  FROM pg_policy p WHERE p.polrelid IN (SELECT oid FROM rel)
UNION ALL
SELECT 'rule', format('%s %s', ru.ev_class::regclass, ru.rulename), pg_get_ruledef(ru.oid)
  FROM pg_rewrite ru WHERE ru.ev_class IN (SELECT oid FROM rel) AND ru.rulename <> '_RETURN'
UNION ALL
-- types
SELECT 'type', t.oid::regtype::text,
       format('type=%s category=%s acl=%s owner=%s relation=%s', t.typtype, t.typcategory, t.typacl,
              t.typowner::regrole, t.typrelid::regclass)
  FROM pg_type t JOIN member m ON m.classid = 'pg_type'::regclass AND m.objid = t.oid
ORDER BY 1, 2, 3
"""


def _catalog(conn):
    return conn.execute(CATALOG).fetchall()


def _columns(conn, table):
    return [r[0] for r in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
        " AND NOT attisdropped ORDER BY attnum", (table,))]


def _fill(conn):
    """Memo rows and jobs of every state, written by hand as a superuser
    (the old version's tables, whatever columns the new one adds)."""
    for n in (5000, 12345, 600_000):
        value, digits = memo_row_value(n)
        conn.execute("INSERT INTO fib_memo (n, value, digits, computed_at, compute_ms, hits, last_used)"
                     " VALUES (%s, %s, %s, '2026-01-02 03:04:05+00', 1.5, 7, '2026-02-03 04:05:06+00')",
                     (n, value, digits))
        conn.execute("INSERT INTO fib_jobs (n, state, progress, digits, requested_at, started_at, finished_at,"
                     " compute_ms, attempts) VALUES (%s, 'done', 1, %s, '2026-01-02 03:04:00+00',"
                     " '2026-01-02 03:04:01+00', '2026-01-02 03:04:05+00', 1.5, 1)", (n, digits))
    conn.execute("INSERT INTO fib_jobs (n, requested_at) VALUES (4000001, '2026-01-02 03:04:00+00')")
    conn.execute("INSERT INTO fib_jobs (n, state, progress, requested_at, started_at, attempts, worker_pid)"
                 " VALUES (4000002, 'running', 0.25, '2026-01-02 03:04:00+00', '2026-01-02 03:04:01+00', 2, 999999)")
    conn.execute("INSERT INTO fib_jobs (n, state, requested_at, started_at, finished_at, error, attempts)"
                 " VALUES (4000003, 'failed', '2026-01-02 03:04:00+00', '2026-01-02 03:04:01+00',"
                 " '2026-01-02 03:04:05+00', 'out of memory', 3)")


@pytest.fixture
def databases(conn):
    names = ("pg_fib_upgrade_old", "pg_fib_upgrade_new")
    for name in names:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield names
    finally:
        for name in names:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.parametrize("old, new", VERSIONS)
def test_update_keeps_the_data_and_equals_a_fresh_install(databases, old, new):
    sys.set_int_max_str_digits(0)
    with psycopg.connect(dbname=databases[0], autocommit=True) as updated, \
            psycopg.connect(dbname=databases[1], autocommit=True) as fresh:
        updated.execute(f"CREATE EXTENSION pg_fib VERSION '{old}'")
        _fill(updated)
        before = {}
        for table in ("fib_memo", "fib_jobs"):
            columns = ", ".join(_columns(updated, table))
            before[table] = (columns, updated.execute(f"SELECT {columns} FROM {table} ORDER BY n").fetchall())

        updated.execute(f"ALTER EXTENSION pg_fib UPDATE TO '{new}'")
        fresh.execute(f"CREATE EXTENSION pg_fib VERSION '{new}'")

        for table, (columns, rows) in before.items():
            assert updated.execute(f"SELECT {columns} FROM {table} ORDER BY n").fetchall() == rows, table

        got, want = _catalog(updated), _catalog(fresh)
        only_updated = [r for r in got if r not in want]
        only_fresh = [r for r in want if r not in got]
        assert (only_updated, only_fresh) == ([], []), \
            "catalog after the update (first list) differs from a fresh install (second list)"
        assert any(kind == "function" for kind, _, _ in got)
        assert [name for kind, name, fact in want if kind == "member" and fact == "<no comment>"] == [], \
            "every object of the extension has a comment"
