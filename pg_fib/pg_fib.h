/*-------------------------------------------------------------------------
 *
 * pg_fib.h
 *	  Declarations shared by the modules of the pg_fib extension.
 *
 * pg_fib computes exact Fibonacci numbers inside PostgreSQL on GMP.  Each
 * module owns one responsibility: settings.c the configuration variables,
 * fibcore.c the GMP arithmetic and its memory, fibnumeric.c the conversion to
 * numeric, fibmod.c modular Fibonacci numbers in machine integers, and
 * fibfuncs.c the SQL-callable functions.
 *
 * IDENTIFICATION
 *	  pg_fib/pg_fib.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_FIB_H
#define PG_FIB_H

#include <gmp.h>

#include "utils/numeric.h"

/*
 * The largest n for which F(n) fits in numeric, whose values have at most
 * 131072 decimal digits before the point: F(627177) has 131072 digits and
 * F(627178) has 131073.  The regression tests check both sides.
 */
#define PG_FIB_NUMERIC_MAX_N	627177

/* settings.c */
extern int	pg_fib_max_n;
extern void pg_fib_settings_init(void);

/* fibcore.c */

/*
 * Called between the steps of a long computation with the fraction of the
 * work done so far, in [0, 1].
 */
typedef void (*FibProgressCallback) (double fraction, void *arg);

/*
 * The state of one GMP computation: the memory context that holds every
 * limb GMP allocates for it, and the allocation functions that were installed
 * before it began.
 */
typedef struct FibArena
{
	MemoryContext context;
	MemoryContext caller_context;
	void	   *(*saved_alloc) (size_t);
	void	   *(*saved_realloc) (void *, size_t, size_t);
	void		(*saved_free) (void *, size_t);
} FibArena;

extern uint64 pg_fib_abs(int64 n);
extern double pg_fib_decimal_digits(uint64 n);
extern void pg_fib_check_max_n(int64 n);
extern void pg_fib_arena_begin(FibArena *arena);
extern void pg_fib_arena_end(FibArena *arena);
extern void pg_fib_compute(mpz_t result, int64 n,
						   FibProgressCallback progress, void *progress_arg);

/* fibnumeric.c */
extern Numeric pg_fib_mpz_to_numeric(const mpz_t value);

/* fibmod.c */
extern uint64 pg_fib_mod(int64 n, uint64 m);

#endif							/* PG_FIB_H */
