"""pg_fib tried as an attacker would, as fib_web (made by
deploy/fib_web.sql, as make run and the web tests make it) and as a plain
login role: shadowing pg_catalog's and pg_fib's names in a schema of its
own put first on search_path, calling the upkeep and internal functions,
reading and writing the tables, raising pg_fib's settings, and queuing
beyond what the operator allowed.  Each attempt fails with the SQLSTATE
checked here, or has no effect.

On a cluster of its own (pg_fib preloaded, one compute worker in database
postgres); the roles and schemas are its own."""

import os
import subprocess
import sys

import psycopg
import pytest

from cluster import BINDIR, PRELOAD_PG_FIB, running
from jobs import idle_workers_stopped, oracle_digest, server_digest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIB_WEB_MAX_N = 100_000_000     # deploy/run.sh's default
SYNC_MAX_N = 3_000_000
ROLES = ["fib_web", "mallory"]


@pytest.fixture(scope="module")
def node():
    sys.set_int_max_str_digits(0)
    with running([PRELOAD_PG_FIB, "pg_fib.workers = 1"], extension=True) as c:
        subprocess.run([f"{BINDIR}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", c.dir,
                        "-p", str(c.port), "-U", "postgres", "-d", "postgres", "-f",
                        os.path.join(ROOT, "deploy", "fib_web.sql")], check=True,
                       capture_output=True)
        with c.connect(autocommit=True) as su:
            su.execute(f"ALTER ROLE fib_web SET pg_fib.max_n = {FIB_WEB_MAX_N}")
            su.execute("CREATE ROLE mallory LOGIN")
            su.execute("SELECT fib_wait(%s)", (SYNC_MAX_N + 1,))   # a memo row to read
            for role in ROLES:
                # The operator's mistake at worst: a schema the role owns.
                su.execute(f"CREATE SCHEMA evil_{role} AUTHORIZATION {role}")
        yield c


@pytest.fixture
def su(node):
    with node.session() as conn:
        yield conn


class Attacker:
    def __init__(self, node, role):
        self.role = role
        self.notices = []
        self.conn = node.session(user=role)
        self.conn.add_notice_handler(lambda d: self.notices.append(d.message_primary))

    def refused(self, sql, params=None):
        """The SQLSTATE of the error sql raised (it must raise one)."""
        with pytest.raises(psycopg.Error) as error:
            self.conn.execute(sql, params)
        return error.value.sqlstate

    def one(self, sql, params=None):
        return self.conn.execute(sql, params).fetchone()


@pytest.fixture(params=ROLES)
def attacker(node, request):
    a = Attacker(node, request.param)
    yield a
    a.conn.close()


# Objects named like pg_fib's and pg_catalog's, each of which, if it ever
# ran, would write to the role's own table and raise a notice.
SHADOWS = """
CREATE TABLE ran (what text);
CREATE FUNCTION caught(what text) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO ran VALUES (what);
    RAISE NOTICE 'shadow % ran', what;
    RETURN true;
END $f$;
CREATE FUNCTION fib(n bigint) RETURNS numeric LANGUAGE sql AS $f$ SELECT 42 WHERE caught('fib') $f$;
CREATE FUNCTION fib_text(n bigint) RETURNS text LANGUAGE sql AS $f$ SELECT '42' WHERE caught('fib_text') $f$;
CREATE FUNCTION fib_mod(n bigint, m bigint) RETURNS bigint LANGUAGE sql AS $f$ SELECT 42::bigint WHERE caught('fib_mod') $f$;
CREATE FUNCTION fib_digits(n bigint) RETURNS bigint LANGUAGE sql AS $f$ SELECT 42::bigint WHERE caught('fib_digits') $f$;
CREATE FUNCTION fib_request(n bigint) RETURNS text LANGUAGE sql AS $f$ SELECT 'x' WHERE caught('fib_request') $f$;
CREATE FUNCTION fib_status(n bigint) RETURNS text LANGUAGE sql AS $f$ SELECT 'x' WHERE caught('fib_status') $f$;
CREATE FUNCTION now() RETURNS timestamptz LANGUAGE sql AS $f$ SELECT 'epoch'::timestamptz WHERE caught('now') $f$;
CREATE FUNCTION current_setting(text) RETURNS text LANGUAGE sql AS $f$ SELECT '0' WHERE caught('current_setting') $f$;
CREATE FUNCTION length(text) RETURNS integer LANGUAGE sql AS $f$ SELECT 0 WHERE caught('length') $f$;
CREATE FUNCTION int8eq(bigint, bigint) RETURNS boolean LANGUAGE sql AS $f$ SELECT caught('int8eq') $f$;
CREATE FUNCTION shadow_eq(bigint, bigint) RETURNS boolean LANGUAGE sql AS $f$ SELECT caught('= bigint') $f$;
CREATE OPERATOR = (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = shadow_eq);
CREATE FUNCTION shadow_gt(bigint, bigint) RETURNS boolean LANGUAGE sql AS $f$ SELECT caught('> bigint') $f$;
CREATE OPERATOR > (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = shadow_gt);
CREATE FUNCTION shadow_text_eq(text, text) RETURNS boolean LANGUAGE sql AS $f$ SELECT caught('= text') $f$;
CREATE OPERATOR = (LEFTARG = text, RIGHTARG = text, FUNCTION = shadow_text_eq);
CREATE TABLE fib_memo (n bigint, value bytea, digits bigint);
INSERT INTO fib_memo VALUES (10, '\\x2a00', 2);
CREATE TABLE fib_jobs (n bigint, state text);
INSERT INTO fib_jobs VALUES (10, 'failed');
CREATE TABLE pg_stat_activity (backend_type text);
INSERT INTO pg_stat_activity SELECT 'pg_fib keeper' FROM generate_series(1, 7);
"""


def test_shadowed_names_never_run_and_change_no_answer(node, su, attacker):
    schema = f"evil_{attacker.role}"
    attacker.conn.execute(f"SET search_path = {schema}, pg_catalog")
    attacker.conn.execute(SHADOWS)
    attacker.conn.execute("CREATE TEMP TABLE fib_memo (n bigint, value bytea, digits bigint)")
    attacker.conn.execute("CREATE TEMP TABLE pg_stat_activity (backend_type text)")
    # The role's schema, then its temporary one, before pg_catalog and pg_fib's.
    attacker.conn.execute(f"SET search_path = {schema}, pg_temp, pg_catalog, public")
    # The shadows are live: an unqualified call finds them.
    assert attacker.one("SELECT fib(10)") == (42,)
    attacker.conn.execute("TRUNCATE ran")
    attacker.notices.clear()

    q = "public."
    fib_web = attacker.role == "fib_web"
    if not fib_web:   # fib_web may call only what the app calls
        assert attacker.one(f"SELECT {q}fib(32::bigint)") == (2178309,)
        assert attacker.one(f"SELECT {q}fib_digits(1000::bigint)") == (209,)
        assert attacker.one(f"SELECT {q}fib_leading(1000::bigint, 5), {q}fib_trailing(1000::bigint, 5)") == \
            (str(oracle_digest(1000)[1])[:5], oracle_digest(1000)[2][-5:])
    assert attacker.one(f"SELECT {q}fib_text(100::bigint)") == ("354224848179261915075",)
    assert attacker.one(f"SELECT {q}fib_mod(100::bigint, 1000000007::bigint)") == \
        (354224848179261915075 % 1000000007,)
    memoized = SYNC_MAX_N + 1
    assert attacker.one(f"SELECT state, digits FROM {q}fib_status(%s::bigint)", (memoized,)) == \
        ("done", oracle_digest(memoized)[0])
    assert server_digest(su, memoized) == oracle_digest(memoized)
    text = attacker.one(f"SELECT {q}fib_text(%s::bigint)", (memoized,))[0]
    assert len(text) == oracle_digest(memoized)[0] and text[-30:] == oracle_digest(memoized)[2]
    queued = SYNC_MAX_N + 17 + len(attacker.role)
    assert attacker.one(f"SELECT state FROM {q}fib_request(%s::bigint)", (queued,))[0] in ("queued", "running", "done")
    if not fib_web:
        assert attacker.one(f"SELECT state FROM {q}fib_wait(%s::bigint, '30 s')", (queued,)) == ("done",)
    else:
        su.execute("SELECT fib_wait(%s)", (queued,))
    # Every call qualified: an unqualified right() would be the role's own.
    assert attacker.one(f"SELECT pg_catalog.right({q}fib_text(%s::bigint), 30)", (queued,)) == \
        (oracle_digest(queued)[2],)
    if fib_web:
        # Its helpers are SECURITY DEFINER: they must read the real tables
        # and pg_catalog's pg_stat_activity, not the shadows.
        page = attacker.conn.execute("SELECT n, digits FROM public.fib_web_memo_page(0, 1000)").fetchall()
        assert page == su.execute("SELECT n, digits FROM fib_memo ORDER BY n").fetchall()
        assert attacker.one("SELECT keeper, workers, workers_expected FROM public.fib_web_health()") == (1, 1, 1)

    assert attacker.one(f"SELECT count(*) FROM {schema}.ran") == (0,)
    assert attacker.notices == []


@pytest.mark.parametrize("sql", [
    "SELECT public.fib_maintain()",
    "SELECT * FROM public.fib_maintain()",
    "SELECT public.fib_restore_row()",
    "SELECT public.fib_schedule_maintenance()",
    "SELECT * FROM public.fib_stats",
    "SELECT * FROM public.fib_memo",
    "SELECT value FROM public.fib_memo WHERE n = 3000001",
    "SELECT * FROM public.fib_jobs",
    "COPY public.fib_memo TO STDOUT",
    "INSERT INTO public.fib_memo (n, value, digits, compute_ms) VALUES (10, '\\x2a00', 2, 0)",
    "INSERT INTO public.fib_jobs (n) VALUES (123456789)",
    "UPDATE public.fib_memo SET value = '\\x2a00' WHERE n = 3000001",
    "UPDATE public.fib_jobs SET state = 'failed'",
    "DELETE FROM public.fib_memo",
    "DELETE FROM public.fib_jobs",
    "TRUNCATE public.fib_memo",
    "TRUNCATE public.fib_jobs",
    "BEGIN; LOCK TABLE public.fib_jobs; COMMIT",
    "ALTER TABLE public.fib_memo DISABLE TRIGGER ALL",
    "CREATE TRIGGER t BEFORE INSERT ON public.fib_jobs FOR EACH ROW EXECUTE FUNCTION public.fib_restore_row()",
    "ALTER FUNCTION public.fib_text(bigint) SET search_path = public",
    "DROP FUNCTION public.fib_text(bigint)",
    "CREATE FUNCTION public.fib_evil() RETURNS int LANGUAGE sql AS 'SELECT 1'",
])
def test_the_upkeep_internals_and_tables_are_refused(node, su, attacker, sql):
    before = tables(su)
    assert attacker.refused(sql) == "42501", sql
    # Nothing changed: the columns the keeper does not update as it goes
    # (hits, last_used, a job's state and progress), the triggers, the
    # functions.
    assert tables(su) == before


def tables(su):
    return su.execute(
        "SELECT (SELECT string_agg(format('%s %s %s %s', n, md5(value), digits, computed_at), ','"
        "                          ORDER BY n) FROM fib_memo),"
        "       (SELECT string_agg(format('%s %s %s', n, requested_at, requested_by), ','"
        "                          ORDER BY n) FROM fib_jobs),"
        "       (SELECT count(*) FROM pg_trigger WHERE tgrelid IN ('fib_memo'::regclass,"
        "                                                          'fib_jobs'::regclass)),"
        "       (SELECT count(*) FROM pg_proc WHERE proname LIKE 'fib%')").fetchone()


def test_the_web_helpers_are_refused_to_a_plain_role(node):
    a = Attacker(node, "mallory")
    try:
        assert a.refused("SELECT * FROM public.fib_web_memo_page(0, 10)") == "42501"
        assert a.refused("SELECT * FROM public.fib_web_health()") == "42501"
        assert a.refused("SELECT * FROM public.fib_web_stats()") == "42501"
    finally:
        a.conn.close()


def test_fib_counters_changes_nothing(node, attacker):
    """fib_counters() is executable by PUBLIC (the counters are not
    secret, but fib_stats is pg_monitor's): calling it has no effect."""
    first = attacker.one("SELECT * FROM public.fib_counters()")
    assert attacker.one("SELECT * FROM public.fib_counters()") == first


# What a role gets when it raises a setting of each context.
REFUSAL = {"superuser": "42501", "sighup": "55P02", "postmaster": "55P02"}

# The settings any role may set for its own sessions: each only divides the
# role's share, which a superuser sets (test_fairness checks that raising
# it does not raise the share).
USER_SETTINGS = {"pg_fib.max_queued_per_requester"}


def pg_fib_settings(su):
    rows = su.execute("SELECT name, setting, context FROM pg_settings WHERE name LIKE 'pg\\_fib.%'"
                      " ORDER BY name").fetchall()
    assert len(rows) >= 10
    return rows


def test_no_pg_fib_setting_can_be_raised(node, su, attacker):
    for name, setting, context in pg_fib_settings(su):
        if context == "user":
            assert name in USER_SETTINGS, name
            assert attacker.refused(f"ALTER SYSTEM SET {name} = 2000000000") == "42501", name
            assert attacker.refused(f"ALTER DATABASE postgres SET {name} = 2000000000") == "42501", name
            continue
        assert context in REFUSAL, (name, context)
        value = "'other'" if name == "pg_fib.database" else "2000000000"
        attacker.conn.execute("SET search_path = pg_catalog")
        mine = attacker.one(f"SELECT current_setting('{name}')")[0]
        assert attacker.refused(f"SET {name} = {value}") == REFUSAL[context], name
        assert attacker.refused("SELECT set_config(%s, %s, false)", (name, value.strip("'"))) == \
            REFUSAL[context], name
        assert attacker.refused(f"ALTER SYSTEM SET {name} = {value}") == "42501", name
        if context == "superuser":
            assert attacker.refused(f"ALTER ROLE {attacker.role} SET {name} = {value}") == "42501", name
            assert attacker.refused(f"ALTER DATABASE postgres SET {name} = {value}") == "42501", name
        assert attacker.one(f"SELECT current_setting('{name}')")[0] == mine, name
        assert su.execute("SELECT setting FROM pg_settings WHERE name = %s", (name,)).fetchone()[0] == setting


def test_fib_web_cannot_pass_its_max_n(node):
    a = Attacker(node, "fib_web")
    try:
        assert a.one("SHOW pg_fib.max_n") == (str(FIB_WEB_MAX_N),)
        for sql in ("SELECT public.fib_request(%s)", "SELECT public.fib_text(%s)",
                    "SELECT public.fib_status(%s)"):
            assert a.refused(sql, (FIB_WEB_MAX_N + 1,)) == "54000", sql
            assert a.refused(sql, (-FIB_WEB_MAX_N - 1,)) == "54000", sql
        assert a.refused("SET pg_fib.max_n = 2000000000") == "42501"
        assert a.refused("SELECT public.fib_request(%s)", (FIB_WEB_MAX_N + 1,)) == "54000"
    finally:
        a.conn.close()


@pytest.mark.parametrize("role", ROLES)
def test_a_role_cannot_queue_beyond_its_share(node, su, role):
    """The operator allows the role 3 queued jobs: its 4th new n is 53400;
    raising its own limit is 42501."""
    base = SYNC_MAX_N + 500_000 + (0 if role == "fib_web" else 100)
    mine = [base + i for i in range(4)]
    su.execute("DELETE FROM fib_jobs WHERE n = ANY(%s)", (mine,))
    su.execute(f"ALTER ROLE {role} SET pg_fib.max_queued_per_role = 3")
    a = Attacker(node, role)
    try:
        assert a.one("SHOW pg_fib.max_queued_per_role") == ("3",)
        assert a.refused("SET pg_fib.max_queued_per_role = 1000") == "42501"
        assert a.refused(f"ALTER ROLE {role} SET pg_fib.max_queued_per_role = 1000") == "42501"
        with idle_workers_stopped(su):
            for n in mine[:3]:
                assert a.one("SELECT state FROM public.fib_request(%s)", (n,)) == ("queued",)
            assert a.refused("SELECT public.fib_request(%s)", (mine[3],)) == "53400"
            # A new session, a reconnect: the same limit.
            b = Attacker(node, role)
            try:
                assert b.refused("SELECT public.fib_request(%s)", (mine[3],)) == "53400"
            finally:
                b.conn.close()
            assert su.execute("SELECT count(*) FROM fib_jobs WHERE n = ANY(%s)", (mine,)).fetchone() == (3,)
    finally:
        a.conn.close()
        su.execute(f"ALTER ROLE {role} RESET pg_fib.max_queued_per_role")
