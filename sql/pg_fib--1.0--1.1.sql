\echo Use "ALTER EXTENSION pg_fib UPDATE TO '1.1'" to load this file. \quit

-- pg_fib 1.0 -> 1.1.  Each section below matches one in pg_fib--1.1.sql.
