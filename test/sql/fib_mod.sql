-- fib_mod(n, m): F(n) mod m for every bigint n and 1 <= m <= 2^63-1

-- against fib() for n in -300..300 and moduli from 1 to 2^63-1
SELECT count(*) AS mismatches
  FROM generate_series(-300, 300) AS n,
       (VALUES (1), (2), (3), (10), (97), (1000000007), (4294967296),
               (9223372036854775783), (9223372036854775807)) AS t(m)
 WHERE fib_mod(n, m) <> ((fib(n) % m) + m) % m;

-- results lie in [0, m)
SELECT fib_mod(-2, 10) AS fm2_mod_10, fib_mod(-4, 7) AS fm4_mod_7;

-- the extremes of bigint (values from Python's exact int, see
-- test/python/test_oracle.py): no overflow anywhere
SELECT fib_mod(9223372036854775807, 9223372036854775807) AS a,
       fib_mod(-9223372036854775808, 9223372036854775807) AS b,
       fib_mod(9223372036854775807, 1000000007) AS c,
       fib_mod(-9223372036854775808, 2) AS d,
       fib_mod(-9223372036854775808, 1) AS e,
       fib_mod(1000000000000000000, 9223372036854775783) AS f;

-- Pisano period of 10 is 60
SELECT fib_mod(1000000000000000000 + 7, 10) = fib_mod(7, 10) AS pisano_10;

-- NULL gives NULL
SELECT fib_mod(NULL, 5) IS NULL AS n_null, fib_mod(5, NULL) IS NULL AS m_null;

-- fib_mod allocates nothing, so pg_fib.max_n does not bound it
SET pg_fib.max_n = 10;
SELECT fib_mod(1000, 1000) AS f1000_mod_1000;
RESET pg_fib.max_n;

-- m <= 0: 22023 invalid_parameter_value
SELECT fib_mod(10, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT fib_mod(10, -5);
\echo :LAST_ERROR_SQLSTATE
SELECT fib_mod(10, -9223372036854775808);
\echo :LAST_ERROR_SQLSTATE
