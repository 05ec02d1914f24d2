-- fib_digits(n), fib_leading(n, k), fib_trailing(n, k) for every bigint n
-- (test/python/test_about.py checks them against exact and independent
-- values over the whole range)

-- small values: F(0) = 0 has one digit; fewer digits than k gives them all;
-- negative n gives the digits of |F(n)| (F(-10) = -55)
SELECT n, fib_digits(n), fib_leading(n), fib_trailing(n),
       fib_leading(n, 1) AS lead1, fib_trailing(n, 1) AS trail1,
       fib_trailing(n, 5) AS trail5
  FROM unnest('{0, 1, 2, -2, 10, -10, 15, 45, 93, 94, -94}'::bigint[]) AS n;

-- zero-padding: F(75) = 2111485077978050 ends in 050, F(150) in 0200
SELECT fib_trailing(75, 3) AS t75_3, fib_trailing(150, 4) AS t150_4,
       fib_trailing(150, 25) AS t150_25, fib_trailing(150, 40) AS t150_40;

-- against fib() for |n| <= 1000, with k on both sides of the length
SELECT count(*) AS mismatches
  FROM generate_series(-1000, 1000) AS n,
       (VALUES (1), (7), (18), (19), (20), (300)) AS t(k)
 WHERE fib_digits(n) <> length(abs(fib(n))::text)
    OR fib_leading(n, k) <> left(abs(fib(n))::text, k)
    OR fib_trailing(n, k) <> right(abs(fib(n))::text, k);

-- huge n (values from mpmath and Python, see test/python/test_about.py)
SELECT fib_digits(1000000000000000000) AS d,
       fib_leading(1000000000000000000) AS l,
       fib_trailing(1000000000000000000) AS t;
SELECT fib_digits(9223372036854775807) AS d_max,
       fib_digits(-9223372036854775808) AS d_min,
       fib_leading(-9223372036854775808, 30) AS l_min,
       fib_trailing(-9223372036854775808, 30) AS t_min;

-- the defaults are k = 20
SELECT fib_leading(500) = fib_leading(500, 20) AS lead_default,
       fib_trailing(500) = fib_trailing(500, 20) AS trail_default;

-- the extreme k
SELECT length(fib_leading(1000000000000000000, 10000)) AS lead_len,
       length(fib_trailing(1000000000000000000, 10000)) AS trail_len,
       fib_leading(20000, 10000) = left(fib(20000)::text, 10000) AS lead_exact,
       fib_trailing(20000, 10000) = right(fib(20000)::text, 10000) AS trail_exact;

-- NULL gives NULL
SELECT fib_digits(NULL) IS NULL AS d_null,
       fib_leading(NULL, 5) IS NULL AS l_null, fib_leading(5, NULL) IS NULL AS lk_null,
       fib_trailing(NULL, 5) IS NULL AS t_null, fib_trailing(5, NULL) IS NULL AS tk_null;

-- none builds F(n), so pg_fib.max_n does not bound them
SET pg_fib.max_n = 10;
SELECT fib_digits(123456789012) AS d, fib_leading(123456789012, 10) AS l,
       fib_trailing(123456789012, 10) AS t;
RESET pg_fib.max_n;

-- k outside 1..10000: 22023 invalid_parameter_value
SELECT fib_leading(10, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT fib_leading(10, 10001);
\echo :LAST_ERROR_SQLSTATE
SELECT fib_leading(1000000000000000000, -1);
\echo :LAST_ERROR_SQLSTATE
SELECT fib_trailing(10, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT fib_trailing(10, 10001);
\echo :LAST_ERROR_SQLSTATE
SELECT fib_trailing(-9223372036854775808, -2147483648);
\echo :LAST_ERROR_SQLSTATE

-- fib_sign: the sign of F(n), the negafibonacci rule F(-n) = (-1)^(n+1) F(n)
SELECT n, fib_sign(n), sign(fib(n)) AS of_the_value
  FROM generate_series(-6, 6) AS n ORDER BY n;
SELECT fib_sign(-9223372036854775807) AS odd_min, fib_sign(-9223372036854775806) AS even,
       fib_sign(9223372036854775807) AS max, fib_sign(-9223372036854775808) AS bigint_min;
SELECT fib_sign(NULL) IS NULL AS null_gives_null;
