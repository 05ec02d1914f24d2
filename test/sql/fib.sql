-- fib(n): exact values, negafibonacci numbers, NULL, the stored form
CREATE EXTENSION pg_fib;

-- F(0) .. F(100)
SELECT n, fib(n) FROM generate_series(0, 100) AS n;

-- F(0) .. F(3000) against an independent recurrence in numeric arithmetic
WITH RECURSIVE f(n, a, b) AS (
    SELECT 0::bigint, 0::numeric, 1::numeric
    UNION ALL
    SELECT n + 1, b, a + b FROM f WHERE n < 3000
)
SELECT count(*) AS mismatches FROM f WHERE fib(n) <> a;

-- negafibonacci numbers: F(-n) = (-1)^(n+1) F(n)
SELECT n, fib(n) FROM generate_series(-12, -1) AS n;
SELECT count(*) AS mismatches
  FROM generate_series(1, 3000) AS n
 WHERE fib(-n) <> CASE WHEN n % 2 = 0 THEN -fib(n) ELSE fib(n) END;

-- the identity F(m + n) = F(m) F(n + 1) + F(m - 1) F(n) far beyond 3000
SELECT count(*) AS mismatches
  FROM (VALUES (100000, 200000), (313131, 314046), (-50000, 70001)) AS t(m, n)
 WHERE fib(m + n) <> fib(m) * fib(n + 1) + fib(m - 1) * fib(n);

-- NULL gives NULL
SELECT fib(NULL) IS NULL AS is_null;

-- the result is numeric's canonical stored form, byte for byte: short and
-- long headers (up to and past 256 digits), trailing zero base-10000 digits
-- (F(7500) is a multiple of 10^4), negative values, the largest value
SELECT count(*) AS not_canonical
  FROM (SELECT n FROM generate_series(-40, 40) AS n
        UNION ALL SELECT n FROM generate_series(1200, 1260) AS n
        UNION ALL SELECT n FROM generate_series(-1260, -1200) AS n
        UNION ALL VALUES (7500), (15000), (-7500), (627177), (-627176)) AS t(n)
 WHERE NOT record_image_eq(ROW(fib(n)), ROW(fib(n)::text::numeric));
SELECT fib(7500) % 10000 AS f7500_mod_10000;

-- fib() is usable where a write is not
BEGIN TRANSACTION READ ONLY;
SELECT fib(90) AS f90;
COMMIT;

-- a plan-time constant is folded: fib() is IMMUTABLE
EXPLAIN (COSTS OFF, VERBOSE) SELECT fib(10);
SELECT proname, provolatile, proparallel, proisstrict, prosecdef
  FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND proname LIKE 'fib%'
 ORDER BY proname, pronargs;
