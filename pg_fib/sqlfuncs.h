/*-------------------------------------------------------------------------
 *
 * sqlfuncs.h
 *	  What the SQL-callable functions (sql*.c) share: the checks of n
 *	  against the settings and numeric, and an inline computation.
 *
 * IDENTIFICATION
 *	  pg_fib/sqlfuncs.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SQLFUNCS_H
#define SQLFUNCS_H

#include "fib.h"

/* sqlfib.c */
extern void pg_fib_check_max_n(int64 n);
extern void pg_fib_check_numeric_range(int64 n);

extern Datum pg_fib_compute_datum(int64 n, FibConvertFunction convert);

#endif							/* SQLFUNCS_H */
