/*-------------------------------------------------------------------------
 *
 * fibcore.c
 *	  Exact Fibonacci numbers on GMP, in PostgreSQL memory, interruptibly.
 *
 * F(n) is computed by the doubling formulas over mpz_* calls, seeded by
 * mpz_fib2_ui for the cheap first part, so that the loop can stop between
 * steps: a cancel, a statement_timeout or a SIGTERM is honoured at the next
 * step, and a caller may be told the progress of a long computation.
 *
 * How pg_fib keeps GMP's memory safe
 * ----------------------------------
 * GMP's manual says an allocation function must not return on failure and
 * that a longjmp out of it has undefined results.  What makes it undefined
 * is that GMP may be interrupted half-way through an operation: the
 * destination mpz_t may be left inconsistent and blocks GMP allocated for
 * its temporaries are never freed.  GMP itself keeps no global state on the
 * paths pg_fib uses (its small temporaries live on the C stack, which a
 * longjmp unwinds), so those are the only two hazards, and pg_fib removes
 * both:
 *
 *	- every block GMP allocates for a computation comes from a memory context
 *	  of its own (a FibArena), created for that computation and deleted
 *	  after it, on success and on error alike: a block abandoned by a longjmp
 *	  is freed with the context, so nothing leaks;
 *	- every mpz_t of a computation is local to it and is never touched after
 *	  an error: the PG_FINALLY that deletes the arena is the only code that
 *	  runs between the error and the abort of the caller's query.
 *
 * So a palloc that fails inside GMP raises an ordinary ERROR ("out of
 * memory"), which is clean for the backend, and CHECK_FOR_INTERRUPTS is only
 * ever called between GMP operations, never inside one.
 *
 * pg_fib installs its allocation functions only for the duration of one
 * computation and then restores those it found.  pgmp, for one, installs
 * allocation functions of its own for the whole life of a backend and relies
 * on them (it keeps a varlena header in front of every block), so a global
 * installation by pg_fib would corrupt pgmp's values in any session that
 * uses both.
 *
 * IDENTIFICATION
 *	  pg_fib/fibcore.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/memutils.h"

#include "fib.h"

/*
 * Below this n, F(n) is left to a single mpz_fib_ui/mpz_fib2_ui call: F(2^17)
 * has 91,000 bits and costs well under a millisecond, too little to be worth
 * interrupting.
 */
#define FIB_SEED_BITS	17

/* The memory context GMP allocates in while a FibArena is active. */
static MemoryContext fib_gmp_context = NULL;

/*
 * fib_gmp_alloc is GMP's allocation function while a FibArena is active.
 * A failure raises an ERROR; see the file header for why that is safe here.
 */
static void *
fib_gmp_alloc(size_t size)
{
	return MemoryContextAllocHuge(fib_gmp_context, size);
}

/* fib_gmp_realloc is GMP's reallocation function while a FibArena is active. */
static void *
fib_gmp_realloc(void *ptr, size_t old_size, size_t new_size)
{
	return repalloc_huge(ptr, new_size);
}

/* fib_gmp_free is GMP's release function while a FibArena is active. */
static void
fib_gmp_free(void *ptr, size_t size)
{
	pfree(ptr);
}

/*
 * pg_fib_abs returns |n| as an unsigned value, which also holds
 * |PG_INT64_MIN|.
 */
uint64
pg_fib_abs(int64 n)
{
	if (n >= 0)
		return (uint64) n;
	return (uint64) (-(n + 1)) + 1;
}

/*
 * pg_fib_fib_is_negative tells whether F(n) is negative: the negafibonacci
 * numbers follow F(-n) = (-1)^(n+1) F(n), so F(n) < 0 exactly when n is
 * negative and even.
 */
bool
pg_fib_fib_is_negative(int64 n)
{
	return n < 0 && n % 2 == 0;
}

/*
 * pg_fib_small returns F(absn) for absn <= 93, the largest that fits in
 * uint64, by plain addition: for so small an n that is cheaper than setting
 * up a GMP computation.
 */
uint64
pg_fib_small(uint64 absn)
{
	uint64		a = 0;
	uint64		b = 1;
	uint64		i;

	Assert(absn <= 93);
	for (i = 0; i < absn; i++)
	{
		uint64		next = a + b;

		a = b;
		b = next;
	}
	return a;
}

/*
 * pg_fib_decimal_digits returns the number of decimal digits of F(n):
 * floor(n log10(phi) - log10(sqrt(5))) + 1 for n >= 2, and 1 for F(0) = 0
 * and F(1) = 1.  Exact as far as double precision goes: where the logarithm
 * lies within about 1e-7 of an integer it may be off by one (queuememo.c allows
 * for that; fib_digits() is exact for every n).
 */
double
pg_fib_decimal_digits(uint64 n)
{
	if (n <= 1)
		return 1;
	return floor((double) n * 0.20898764024997873 - 0.3494850021680094) + 1;
}

/*
 * pg_fib_arena_begin creates the memory context of one computation, as a
 * child of the current one, and installs pg_fib's allocation functions
 * for GMP.  Every pg_fib_arena_begin is paired with a pg_fib_arena_end in a
 * PG_FINALLY block.  The current memory context stays the caller's.
 */
void
pg_fib_arena_begin(FibArena *arena)
{
	Assert(fib_gmp_context == NULL);

	arena->caller_context = CurrentMemoryContext;
	arena->context = AllocSetContextCreate(CurrentMemoryContext,
										   "pg_fib arithmetic",
										   ALLOCSET_DEFAULT_SIZES);
	mp_get_memory_functions(&arena->saved_alloc, &arena->saved_realloc,
							&arena->saved_free);
	fib_gmp_context = arena->context;
	mp_set_memory_functions(fib_gmp_alloc, fib_gmp_realloc, fib_gmp_free);
}

/*
 * pg_fib_arena_end restores the allocation functions found by
 * pg_fib_arena_begin and frees every block GMP allocated for the
 * computation, including those an error left behind.
 */
void
pg_fib_arena_end(FibArena *arena)
{
	mp_set_memory_functions(arena->saved_alloc, arena->saved_realloc,
							arena->saved_free);
	fib_gmp_context = NULL;
	MemoryContextDelete(arena->context);
	arena->context = NULL;
}

/*
 * fib_double_step advances the pair (a, b) = (F(k), F(k-1)) to
 * (F(2k), F(2k-1)) when bit is 0, or to (F(2k+1), F(2k)) when bit is 1,
 * with two squarings (GMP's own formulas, see mpz/fib_ui.c):
 *	 F(2k-1) = F(k)^2 + F(k-1)^2
 *	 F(2k+1) = 4 F(k)^2 - F(k-1)^2 + 2 (-1)^k
 *	 F(2k)	 = F(2k+1) - F(2k-1)
 */
static void
fib_double_step(mpz_t a, mpz_t b, mpz_t t1, mpz_t t2, uint64 k, int bit)
{
	mpz_mul(t1, a, a);
	mpz_mul(t2, b, b);
	mpz_add(b, t1, t2);
	mpz_mul_2exp(t1, t1, 2);
	mpz_sub(t1, t1, t2);
	if (k & 1)
		mpz_sub_ui(t1, t1, 2);
	else
		mpz_add_ui(t1, t1, 2);
	mpz_sub(a, t1, b);
	if (bit)
	{
		mpz_swap(b, a);
		mpz_swap(a, t1);
	}
}

/*
 * fib_last_step computes F(2k + bit) from a = F(k) and b = F(k-1) with one
 * multiplication, cheaper than the two squarings of a full step:
 *	 F(2k)	 = F(k) (F(k) + 2 F(k-1))
 *	 F(2k+1) = (2 F(k) + F(k-1)) (2 F(k) - F(k-1)) + 2 (-1)^k
 */
static void
fib_last_step(mpz_t result, mpz_t a, mpz_t b, mpz_t t1, mpz_t t2,
			  uint64 k, int bit)
{
	if (bit)
	{
		mpz_mul_2exp(t1, a, 1);
		mpz_add(t2, t1, b);
		mpz_sub(t1, t1, b);
		mpz_mul(result, t1, t2);
		if (k & 1)
			mpz_sub_ui(result, result, 2);
		else
			mpz_add_ui(result, result, 2);
	}
	else
	{
		mpz_mul_2exp(t1, b, 1);
		mpz_add(t1, t1, a);
		mpz_mul(result, a, t1);
	}
}

/*
 * pg_fib_compute sets result to F(n), negafibonacci numbers included:
 * F(-n) = (-1)^(n+1) F(n).  It must run inside a FibArena.  Between steps it
 * checks for interrupts and, when progress is not NULL, reports the
 * fraction of the index covered so far.
 */
void
pg_fib_compute(mpz_t result, int64 n,
			   FibProgressCallback progress, void *progress_arg)
{
	uint64		absn = pg_fib_abs(n);
	int			bits = 0;

	Assert(fib_gmp_context != NULL);

	while (bits < 64 && (absn >> bits) != 0)
		bits++;

	if (bits <= FIB_SEED_BITS)
		mpz_fib_ui(result, (unsigned long) absn);
	else
	{
		mpz_t		a,
					b,
					t1,
					t2;
		int			shift = bits - FIB_SEED_BITS;
		uint64		k = absn >> shift;

		mpz_inits(a, b, t1, t2, NULL);
		mpz_fib2_ui(a, b, (unsigned long) k);

		for (shift--; shift > 0; shift--)
		{
			int			bit = (int) ((absn >> shift) & 1);

			CHECK_FOR_INTERRUPTS();
			fib_double_step(a, b, t1, t2, k, bit);
			k = 2 * k + bit;
			if (progress)
				progress((double) k / (double) absn, progress_arg);
		}

		CHECK_FOR_INTERRUPTS();
		fib_last_step(result, a, b, t1, t2, k, (int) (absn & 1));
		mpz_clears(a, b, t1, t2, NULL);
	}

	if (pg_fib_fib_is_negative(n))
		mpz_neg(result, result);

	if (progress)
		progress(1.0, progress_arg);
}

/*
 * pg_fib_compute_converted computes F(n) in a FibArena of its own (progress
 * as for pg_fib_compute) and returns convert(F(n), convert_arg), which
 * allocates in the caller's memory context and so outlives the arena.
 * *elapsed_ms is the wall-clock time of both.  An error, a cancel
 * included, frees the arena on its way out.
 */
Datum
pg_fib_compute_converted(int64 n, FibProgressCallback progress, void *progress_arg,
						 FibConvertFunction convert, void *convert_arg,
						 double *elapsed_ms)
{
	FibArena	arena;
	volatile Datum result = (Datum) 0;
	instr_time	start;
	instr_time	elapsed;

	INSTR_TIME_SET_CURRENT(start);
	pg_fib_arena_begin(&arena);
	PG_TRY();
	{
		mpz_t		value;

		mpz_init(value);
		pg_fib_compute(value, n, progress, progress_arg);
		result = convert(value, convert_arg);
	}
	PG_FINALLY();
	{
		pg_fib_arena_end(&arena);
	}
	PG_END_TRY();
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	*elapsed_ms = INSTR_TIME_GET_MILLISEC(elapsed);
	return result;
}
