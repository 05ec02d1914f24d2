/*-------------------------------------------------------------------------
 *
 * fib.h
 *	  The arithmetic: F(n) on GMP in PostgreSQL memory, its decimal and
 *	  numeric forms, F(n) mod m, base-10000 digits.
 *
 * Nothing here knows of shared memory, of the queue or of the settings:
 * this header includes none of queue.h or settings.h, so a file of the
 * arithmetic (fib*.c) that tried to use them would not compile.  Limits
 * such as pg_fib.max_n are the callers' to check (sqlfuncs.h).
 *
 * IDENTIFICATION
 *	  pg_fib/fib.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef FIB_H
#define FIB_H

#include <gmp.h>

#include "utils/numeric.h"

/*
 * The largest n for which F(n) fits in numeric, whose values have at most
 * 131072 decimal digits before the point: F(627177) has 131072 digits and
 * F(627178) has 131073.  The regression tests check both sides.
 */
#define PG_FIB_NUMERIC_MAX_N	627177

/* The largest n whose F(n) fits in int64: F(92) = 7540113804746346429. */
#define PG_FIB_INT64_MAX_N		92

/*
 * A base-10000 digit, as numeric stores them.  The memo keeps |F(n)| as an
 * array of them, most significant first, little-endian.
 */
typedef int16 FibDigit;

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
extern bool pg_fib_fib_is_negative(int64 n);
extern uint64 pg_fib_small(uint64 absn);
extern double pg_fib_decimal_digits(uint64 n);
extern void pg_fib_arena_begin(FibArena *arena);
extern void pg_fib_arena_end(FibArena *arena);
extern void pg_fib_compute(mpz_t result, int64 n,
						   FibProgressCallback progress, void *progress_arg);

/* Turns a computed F(n) into what the caller keeps, in its memory context. */
typedef Datum (*FibConvertFunction) (const mpz_t value, void *arg);

extern Datum pg_fib_compute_converted(int64 n,
									  FibProgressCallback progress, void *progress_arg,
									  FibConvertFunction convert, void *convert_arg,
									  double *elapsed_ms);

/* fibabout.c */
extern uint64 pg_fib_about_digits(uint64 absn);
extern text *pg_fib_about_leading(uint64 absn, int k);
extern text *pg_fib_about_trailing(uint64 absn, int k);

/* fibdecimal.c */
extern FibDigit *pg_fib_mpz_to_digits(const mpz_t value, size_t *ndigits,
									  FibProgressCallback progress,
									  void *progress_arg);
extern FibDigit *pg_fib_compute_digits(int64 n, size_t *ndigits,
									   FibProgressCallback progress,
									   FibProgressCallback conversion_progress,
									   void *progress_arg, double *elapsed_ms);
extern int64 pg_fib_digits_decimal_count(const FibDigit *digits, size_t ndigits);
extern text *pg_fib_digits_to_text(const FibDigit *digits, size_t ndigits,
								   bool negative);
extern text *pg_fib_mpz_to_text(const mpz_t value);

/* fibnumeric.c */
extern Numeric pg_fib_digits_to_numeric(const FibDigit *digits, size_t ndigits,
										bool negative);
extern Numeric pg_fib_mpz_to_numeric(const mpz_t value);

/* fibmod.c */
extern uint64 pg_fib_mod_abs(uint64 absn, uint64 m);
extern uint64 pg_fib_mod(int64 n, uint64 m);

/* fibdigits.c */
extern void pg_fib_digits_add(FibDigit *x, const FibDigit *y, size_t start, size_t end);
extern void pg_fib_digits_subtract(FibDigit *x, const FibDigit *y, size_t start, size_t end);

#endif							/* FIB_H */
