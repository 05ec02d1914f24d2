-- fib_series(first, last): the rows (n, F(n)) from first to last, in order
-- (test/python/test_series.py checks random ranges against Python's int,
-- LIMIT, cancels and memory)

-- small ranges, across 0: F(-n) = (-1)^(n+1) F(n)
SELECT * FROM fib_series(-12, 12);
SELECT * FROM fib_series(0, 0);
SELECT * FROM fib_series(-1, -1);
SELECT * FROM fib_series(-2, -2);
SELECT * FROM fib_series(90, 95);

-- empty: first > last (however large), or a NULL endpoint
SELECT count(*) AS rows FROM fib_series(5, 4);
SELECT count(*) AS rows FROM fib_series(9223372036854775807, -9223372036854775808);
SELECT count(*) AS rows FROM fib_series(NULL, 4);
SELECT count(*) AS rows FROM fib_series(4, NULL);
SELECT count(*) AS rows FROM fib_series_values(5, 4);

-- the same values as fib(n), byte for byte (record_image_eq compares the
-- stored forms), with the same hash and binary output: both sides of the
-- int64 range (|n| = 92, 93), short and long numeric headers (past 256
-- digits, n = 1220 or so), trailing zero base-10000 digits (F(7500) is a
-- multiple of 10^4), both signs
SELECT count(*) AS rows,
       count(*) FILTER (WHERE NOT record_image_eq(ROW(s.value), ROW(fib(s.n)))) AS not_fib,
       count(*) FILTER (WHERE hash_numeric(s.value) <> hash_numeric(fib(s.n))) AS other_hash,
       count(*) FILTER (WHERE numeric_send(s.value) <> numeric_send(fib(s.n))) AS other_send
  FROM (SELECT * FROM fib_series(-3000, 3000)
        UNION ALL SELECT * FROM fib_series(7490, 7510)
        UNION ALL SELECT * FROM fib_series(-7510, -7490)
        UNION ALL SELECT * FROM fib_series(100000, 100100)
        UNION ALL SELECT * FROM fib_series(-100100, -100000)) AS s;

-- every row of a range is the n it says, in order, with no gap
SELECT count(*) AS rows, min(n), max(n),
       bool_and(n = first_n + ord - 1) AS in_order
  FROM (SELECT s.n, min(s.n) OVER () AS first_n, row_number() OVER () AS ord
          FROM fib_series(-2000, 2000) AS s) AS t;

-- at numeric's limit: F(627177) is the last value that fits, on both sides
SELECT n, length(value::text) AS length, value > 0 AS positive,
       record_image_eq(ROW(value), ROW(fib(n))) AS same_as_fib
  FROM fib_series(627175, 627177);
SELECT n, length(value::text) AS length, value > 0 AS positive,
       record_image_eq(ROW(value), ROW(fib(n))) AS same_as_fib
  FROM fib_series(-627177, -627175);

-- beyond it: 22003, as fib(n) says it, for either endpoint
SELECT * FROM fib_series(627170, 627178);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM fib_series(-627178, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM fib_series(-627178, 627178);
\echo :LAST_ERROR_SQLSTATE

-- beyond pg_fib.max_n: 54000, checked first, as for fib(n)
SELECT * FROM fib_series(0, 9223372036854775807);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM fib_series(-9223372036854775808, 0);
\echo :LAST_ERROR_SQLSTATE
SET pg_fib.max_n = 100;
SELECT count(*) AS rows, max(value) = fib(100) AS f100_ok FROM fib_series(-100, 100);
SELECT * FROM fib_series(0, 101);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM fib_series(-101, 0);
\echo :LAST_ERROR_SQLSTATE
RESET pg_fib.max_n;

-- fib_series is inlined: its rows are computed as they are read, so a LIMIT
-- stops the run (test_series.py times it on the largest range)
EXPLAIN (COSTS OFF) SELECT * FROM fib_series(0, 627177) LIMIT 3;
SELECT * FROM fib_series(0, 627177) LIMIT 3;
SELECT n, length(value::text) AS length FROM fib_series(-627177, 627177) LIMIT 2;

-- the planner knows the row count of constant endpoints (the support
-- function), inlined or not (WITH ORDINALITY keeps it a function scan)
CREATE FUNCTION plan_rows(query text) RETURNS double precision
LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::double precision;
END
$$;
SELECT plan_rows('SELECT * FROM fib_series(1, 12345)') AS inlined,
       plan_rows('SELECT * FROM fib_series(-10, 10) WITH ORDINALITY') AS ordinality,
       plan_rows('SELECT * FROM fib_series_values(-500, 600)') AS values_only,
       plan_rows('SELECT * FROM fib_series_values(10, 1)') AS empty;
DROP FUNCTION plan_rows(text);

-- WITH ORDINALITY, LATERAL, the select list
SELECT * FROM fib_series(-3, 3) WITH ORDINALITY AS s(n, value, ord);
SELECT t.a, s.n, s.value
  FROM (VALUES (1), (10), (-4)) AS t(a), LATERAL fib_series(t.a, t.a + 2) AS s
 ORDER BY t.a, s.n;
SELECT fib_series_values(20, 24) AS value;

-- usable where a write is not
BEGIN TRANSACTION READ ONLY;
SELECT count(*) AS rows, sum(value) = fib(102) - 1 AS sum_ok FROM fib_series(0, 100);
COMMIT;

-- the labels: pure functions of their arguments; fib_series is not STRICT
-- (PostgreSQL inlines no STRICT SQL function), yet a NULL gives no rows
SELECT proname, provolatile, proparallel, proisstrict, proretset, prorows,
       prosupport::regproc AS support, l.lanname
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE pronamespace = 'public'::regnamespace AND proname LIKE 'fib_series%'
 ORDER BY proname;
