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

DO $$
BEGIN
    CREATE ROLE fib_web LOGIN;
EXCEPTION WHEN duplicate_object THEN
    NULL;
END
$$;

-- Two helpers of the web front that read what fib_web may not: a page of
-- the memo's keys (for /get) and the number of pg_fib's background workers
-- running (for /healthz).  SECURITY DEFINER with a pinned search_path; the
-- bodies are BEGIN ATOMIC, so DROP EXTENSION pg_fib CASCADE drops them.
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

CREATE OR REPLACE FUNCTION public.fib_web_health(OUT keeper integer, OUT workers integer,
                                                 OUT workers_expected integer)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT count(*) FILTER (WHERE a.backend_type = 'pg_fib keeper')::integer,
           count(*) FILTER (WHERE a.backend_type = 'pg_fib worker')::integer,
           current_setting('pg_fib.workers')::integer
    FROM pg_catalog.pg_stat_activity AS a;
END;

COMMENT ON FUNCTION public.fib_web_health() IS
'How many pg_fib keepers and compute workers run, and how many workers should: the web front''s /healthz';

REVOKE ALL ON FUNCTION public.fib_web_memo_page(bigint, integer), public.fib_web_health()
    FROM PUBLIC;

-- Exactly the functions web/db.py calls.
GRANT EXECUTE ON FUNCTION
    public.fib_text(bigint),
    public.fib_request(bigint),
    public.fib_status(bigint),
    public.fib_mod(bigint, bigint),
    public.fib_digits(bigint),
    public.fib_leading(bigint, integer),
    public.fib_trailing(bigint, integer),
    public.fib_sign(bigint),
    public.fib_web_memo_page(bigint, integer),
    public.fib_web_health()
    TO fib_web;
