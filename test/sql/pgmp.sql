-- pg_fib beside pgmp in one session.  pgmp keeps GMP allocation functions
-- of its own installed for the life of the backend and stores a varlena
-- header in front of every block; pg_fib installs its own only during a
-- computation and restores pgmp's after it, so each sees its own.
CREATE SCHEMA pgmp;
CREATE EXTENSION pgmp SCHEMA pgmp;

SELECT pgmp.fib(1000)::numeric = fib(1000) AS same_1000;
SELECT fib(5000) = pgmp.fib(5000)::numeric AS same_5000;
SELECT (pgmp.fib(3000) OPERATOR(pgmp.*) pgmp.fib(4000))::numeric = fib(3000) * fib(4000) AS same_product;
SELECT fib(627177) = pgmp.fib(627177)::numeric AS same_largest;

DROP EXTENSION pgmp;
DROP SCHEMA pgmp;
