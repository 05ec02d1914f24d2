-- fib_web.sql: the role the web front (web/) connects as, with EXECUTE on
-- exactly the functions it calls and nothing else.  Run as a superuser in
-- the database where pg_fib is installed (schema public), after
-- CREATE EXTENSION pg_fib; idempotent.  Used by deploy/run.sh ("make run"),
-- the web tests, and quoted in the README.
--
--   psql -v ON_ERROR_STOP=1 -d postgres -f deploy/fib_web.sql
--
-- Bound what web clients may queue (PGC_SUSET, so a superuser sets it):
--   ALTER ROLE fib_web SET pg_fib.max_n = 100000000;

-- One transaction: a web front running meanwhile never finds a helper
-- missing while it is replaced.
BEGIN;
SET LOCAL client_min_messages = warning;

DO $$
BEGIN
    CREATE ROLE fib_web LOGIN;
EXCEPTION WHEN duplicate_object THEN
    NULL;
END
$$;

-- Three helpers of the web front that read what fib_web may not: a page of
-- the memo's keys (for /get), the number of pg_fib's background workers
-- running and whether the server is a standby (for /healthz), and the
-- fib_stats view (for /metrics).  SECURITY DEFINER with a pinned
-- search_path; the bodies are BEGIN ATOMIC, so DROP EXTENSION pg_fib CASCADE
-- drops them.
CREATE OR REPLACE FUNCTION public.fib_web_memo_page(after bigint, count integer)
RETURNS TABLE (n bigint, digits bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT m.n, m.digits FROM public.fib_memo AS m
    WHERE m.n > after ORDER BY m.n LIMIT least(greatest(count, 0), 1000);
END;

COMMENT ON FUNCTION public.fib_web_memo_page(bigint, integer) IS
'The memo''s n and digits for n > after, in order, at most count (<= 1000) rows: the web front''s /get';

-- Its result gained in_recovery: replaced, not merely redefined.
DROP FUNCTION IF EXISTS public.fib_web_health();
CREATE FUNCTION public.fib_web_health(OUT keeper integer, OUT workers integer,
                                      OUT workers_expected integer, OUT in_recovery boolean)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT count(*) FILTER (WHERE a.backend_type = 'pg_fib keeper')::integer,
           count(*) FILTER (WHERE a.backend_type = 'pg_fib worker')::integer,
           current_setting('pg_fib.workers')::integer,
           pg_is_in_recovery()
    FROM pg_catalog.pg_stat_activity AS a;
END;

COMMENT ON FUNCTION public.fib_web_health() IS
'How many pg_fib keepers and compute workers run, how many workers should, and whether this server is a hot standby: the web front''s /healthz';

CREATE OR REPLACE FUNCTION public.fib_web_stats()
RETURNS SETOF public.fib_stats
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT * FROM public.fib_stats;
END;

COMMENT ON FUNCTION public.fib_web_stats() IS
'The row of the fib_stats view (the queue by state, the memo, inline computations): the web front''s /metrics';

REVOKE ALL ON FUNCTION public.fib_web_memo_page(bigint, integer), public.fib_web_health(),
    public.fib_web_stats() FROM PUBLIC;

-- Exactly the functions web/db.py calls.
GRANT EXECUTE ON FUNCTION
    public.fib_text(bigint),
    public.fib_request(bigint),
    public.fib_request(bigint, text),
    public.fib_status(bigint),
    public.fib_mod(bigint, bigint),
    public.fib_digits(bigint),
    public.fib_leading(bigint, integer),
    public.fib_trailing(bigint, integer),
    public.fib_sign(bigint),
    public.fib_web_memo_page(bigint, integer),
    public.fib_web_health(),
    public.fib_web_stats()
    TO fib_web;

COMMIT;
