/*-------------------------------------------------------------------------
 *
 * fibabout.c
 *	  The digit count, the leading and the trailing decimal digits of F(n)
 *	  for every bigint n, without building F(n).
 *
 * pg_fib_about_digits, pg_fib_about_leading and pg_fib_about_trailing (for
 * fib_digits(n), fib_leading(n, k) and fib_trailing(n, k), sqlabout.c) answer for
 * |F(n)| (F(-n) = +-F(n)), in time that grows with log |n|, and with k.
 * Write N = |n|.
 *
 * Trailing digits
 * ---------------
 * F(N) mod 10^k by the doubling formulas: in 128-bit machine arithmetic for
 * k <= 18 (fibmod.c's pg_fib_mod_abs: 10^18 < 2^63), in GMP integers above,
 * about 2 log2 N squarings of k-digit numbers (mod 2^k and mod 5^k apart,
 * see about_trailing_mpz).
 *
 * Digit count and leading digits
 * ------------------------------
 * F(N) for N <= 92 fits in an int64, and gives its digits at once; so does
 * F(N) for N <= about_exact_max_n(k) (at least FIB_ABOUT_EXACT_MAX_N), built
 * in GMP, for the leading digits.  Above, with phi = (1 + sqrt 5)/2,
 *	 F(N) = phi^N / sqrt 5 * (1 - (-1/phi^2)^N), so
 *	 x = log10 F(N) = N log10 phi - log10 sqrt 5 + c,
 *	 c = log10(1 - (-1/phi^2)^N),
 * and F(N) has d = floor(x) + 1 digits; its first k digits are the integer
 * floor(y), y = 10^(x - floor(x) + k - 1), since F(N) = 10^(d-k) y.
 *
 * Error bound.  x and y are evaluated with MPFR in interval arithmetic:
 * every operation is rounded down (MPFR_RNDD) for the lower bound and up
 * (MPFR_RNDU) for the upper bound, and MPFR rounds correctly, so
 * x_lo <= x <= x_hi and y_lo <= y <= y_hi hold at every precision p; no
 * error estimate enters the answer.  The constants log10 phi, log10 sqrt 5
 * and ln 10 are bounded likewise, from correctly rounded logarithms
 * (about_constants).  The correction c
 * has the sign of (-1)^(N+1) and |c| <= t / ((1 - t) ln 10) < t, with
 * t = phi^(-2N) = 2^(-1.3884... N) <= 2^-floor(1.388 N), which widens x's
 * interval on one side.  y's upper bound comes from one exponential: with
 * z_lo <= z <= z_hi the bounds of z = y ln 10 (computed below as (x - j +
 * k - 1) ln 10), exp(z) <= next_above(RNDD(exp(z_lo))) * (1 + 2 w) for
 * w = z_hi - z_lo <= 1/2, because e^w - 1 <= w e^w <= 2w there.
 *
 * With N < 2^63, x < 2^61, so at precision p the width of x's interval is
 * below about 2^(64-p), and y's below about 10^k 2^(67-p).  The answer is
 * returned only when the bounds agree: floor(x_lo) = floor(x_hi) for the
 * count, and then floor(y_lo) = floor(y_hi) for the leading digits;
 * otherwise the precision grows by half and the bounds are computed again
 * (Ziv's strategy).  The first precision, 128 + ceil(k log2 10) bits,
 * leaves 60 bits of margin, so a second round is rare.
 *
 * Termination.  At precision p the interval of x is x's true value widened
 * by two terms: the rounding error, below about 2^(64-p), which halves
 * with every bit Ziv's loop adds, and the bound of c, which does not shrink
 * with p: t <= 2^-floor(1.388 N) on one side (and 10^k t ln 10 on y's).  So
 * the loop ends once the rounding error is small enough, provided x's
 * distance to the nearest integer exceeds t (and y's exceeds y's share of
 * it):
 *	- x is never an integer: F(N) is a power of ten only for N = 1 and 2
 *	  (F = 1), and N >= 93 here.  No other F(N) with N <= 12 is one, and by
 *	  Carmichael's theorem every F(N) with N > 12 has a prime factor that
 *	  divides no earlier Fibonacci number, so neither 2 (which divides F(3))
 *	  nor 5 (F(5)).  Better, the smallest distance of x to an integer over
 *	  N in [94, 2^63] is 9.5e-22 > 2^-70 (the search below; 0.086 at
 *	  N = 93), while t <= 2^-129 there: the count's loop always ends.
 *	- y is never an integer: it would mean 10^(d-k) divides F(N), but the
 *	  power of 5 in F(N) is the power of 5 in N (Lucas), at most 5^27 for
 *	  N < 2^64, while this path is taken only when d - k >= 40 (see
 *	  about_exact_max_n).  There N > 4.787 (k + 40), so the widening of y by
 *	  c is below 10^k 2^-(6.64 (k + 40)) = 2^-(3.32 k + 265): the loop for
 *	  the leading digits ends unless y lies within that of an integer, the
 *	  same kind of event as reaching the cap, below.
 * The cap FIB_ABOUT_MAX_EXTRA_BITS bounds the loop's time and memory, and
 * raises an error rather than loop on, so the loop always ends, and it
 * returns only digits its bounds prove.  The cap is never reached for a
 * bigint n and k <= 10000:
 *	- the count: test/python/about_near_integer.py finds, by an exhaustive
 *	  lattice search (the two-dimensional form of the continued fraction of
 *	  log10 phi), the N in [94, 2^63] for which N log10 phi - log10 sqrt 5
 *	  comes closest to an integer: N = 8625812162537945092, at 9.5e-22 >
 *	  2^-70 (the test keeps the script's output and checks it).  So the
 *	  count never needs more than about 64 + 70 + 3 bits: the first round
 *	  (128 bits) or the second (192) settles it, for every bigint n.
 *	- the leading digits: reaching the cap would take y within
 *	  10^k 2^(67 - p0 - 4096) = 2^-4157 of an integer (or within the bound
 *	  of c above), i.e. F(N)'s digits k+1 onwards starting with about 1250
 *	  (at least k + 80) nines or zeros.  No proof excludes that, but
 *	  digits of F(N) behave like random ones (the heuristic of the
 *	  table-maker's dilemma): the chance is below 2^-265 per (n, k), and
 *	  there are fewer than 2^78 pairs.  Should it happen, the call fails
 *	  with an error; it never returns a digit a wider precision could change.
 *
 * Memory.  MPFR allocates through GMP's allocation functions, so all its
 * work runs in a FibArena (fibcore.c) and an ERROR cannot leak.  MPFR also
 * keeps caches across calls (constants such as log 2 and pi, and a pool of
 * integers) in memory obtained from those functions: a cache filled inside
 * an arena would point into freed memory once the arena is deleted, and one
 * filled before it (by malloc, or another extension's functions) would be
 * freed by ours.  So about_arena_begin and about_arena_end call
 * mpfr_mp_memory_cleanup(), MPFR's own call for a change of allocation
 * functions, before the functions change each way.  The constants pg_fib
 * needs at every call are kept instead in about_constants, in memory of
 * TopMemoryContext that MPFR never allocates nor frees (MPFR's custom
 * interface).
 *
 * IDENTIFICATION
 *	  pg_fib/fibabout.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include <mpfr.h>

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "fib.h"

/*
 * Up to this N, fib_leading builds F(N) (at most 1672 digits) and prints
 * it: measured in the server, that costs 1.3 us at N = 2000, 6.7 us at
 * 8000 and 24 us at 20000, against 7 to 10 us for the interval evaluation
 * with k = 20 at any N.  The digit count needs no such path: its interval
 * evaluation takes 0.3 us, and F(N) for N <= 92 fits in an int64.
 */
#define FIB_ABOUT_EXACT_MAX_N	8000

/* Bits of margin in the first precision of Ziv's loop, over x's 64. */
#define FIB_ABOUT_GUARD_BITS	64

/* How far Ziv's loop may raise the precision above the first one. */
#define FIB_ABOUT_MAX_EXTRA_BITS	4096

/*
 * Lower and upper bounds of the constants, at precision prec, in memory of
 * TopMemoryContext (one block, significands): see the file header.
 */
typedef struct AboutConstants
{
	mpfr_prec_t prec;			/* 0 until first computed */
	void	   *block;
	mpfr_t		log10_phi[2];
	mpfr_t		log10_sqrt5[2];
	mpfr_t		ln10[2];
} AboutConstants;

static AboutConstants about_consts;

/* about_arena_begin opens a FibArena for MPFR work; see the file header. */
static void
about_arena_begin(FibArena *arena)
{
	mpfr_mp_memory_cleanup();
	pg_fib_arena_begin(arena);
}

/*
 * about_arena_end drops MPFR's caches, which live in the arena, then the
 * arena.  Also called after an error: it only frees.
 */
static void
about_arena_end(FibArena *arena)
{
	mpfr_mp_memory_cleanup();
	pg_fib_arena_end(arena);
}

/*
 * about_exact_max_n is the largest N for which the first k digits come from
 * F(N) itself.  Above it F(N) has d >= k + 40 digits
 * (d >= N log10 phi - 0.35 > N 0.2089 - 0.35), which the termination
 * argument of the file header needs.
 */
static uint64
about_exact_max_n(int k)
{
	uint64		bound = (uint64) (k + 40) * 10000 / 2089;

	return Max(bound, FIB_ABOUT_EXACT_MAX_N);
}

/*
 * about_uint64_digits returns the number of decimal digits of v (1 for 0).
 */
static int
about_uint64_digits(uint64 v)
{
	int			digits = 1;

	while (v >= 10)
	{
		v /= 10;
		digits++;
	}
	return digits;
}

/*
 * about_exact_decimal returns |F(absn)| in decimal, allocated by GMP: inside
 * a FibArena only, for small absn.
 */
static char *
about_exact_decimal(uint64 absn)
{
	mpz_t		value;

	mpz_init(value);
	pg_fib_compute(value, (int64) absn, NULL, NULL);
	return mpz_get_str(NULL, 10, value);
}

/*
 * about_keep copies value into dest, a number of the same precision whose
 * significand is at mem (MPFR's custom interface), so that MPFR never
 * frees it.
 */
static void
about_keep(mpfr_t dest, mpfr_t value, char *mem)
{
	mpfr_prec_t prec = mpfr_get_prec(value);

	mpfr_custom_init(mem, prec);
	mpfr_custom_init_set(dest, MPFR_ZERO_KIND, 0, prec, mem);
	mpfr_set(dest, value, MPFR_RNDN);	/* exact: same precision */
}

/*
 * about_bracket sets lo and hi to the neighbours of value (of their
 * precision) below and above.
 */
static void
about_bracket(mpfr_t lo, mpfr_t hi, mpfr_t value)
{
	mpfr_set(lo, value, MPFR_RNDN);	/* exact: same precision */
	mpfr_nextbelow(lo);
	mpfr_set(hi, value, MPFR_RNDN);
	mpfr_nextabove(hi);
}

/*
 * about_constants makes sure that the bounds in about_consts have at least
 * prec bits.  Inside a FibArena: MPFR's temporaries are freed with it, and
 * about_consts changes only once everything is computed and allocated.
 */
static void
about_constants(mpfr_prec_t prec)
{
	mpfr_t		t,
				v[6];
	size_t		size;
	char	   *block;
	int			i;

	if (about_consts.prec >= prec)
		return;

	/* grow by half at least, so that Ziv's rounds do not recompute each */
	prec = Max(prec, about_consts.prec + about_consts.prec / 2);
	prec = (prec + 63) / 64 * 64;

	mpfr_init2(t, prec);
	for (i = 0; i < 6; i++)
		mpfr_init2(v[i], prec);

	/*
	 * ln 10 and ln 5 correctly rounded to nearest, so within half an ulp:
	 * the neighbours on either side bound them.  ln phi from the bounds of
	 * phi = (1 + sqrt 5) / 2, rounded outwards (ln is increasing).  mpfr_log
	 * of a number is faster here than mpfr_log_ui or mpfr_asinh.
	 */
	mpfr_set_ui(t, 10, MPFR_RNDN);
	mpfr_log(t, t, MPFR_RNDN);
	about_bracket(v[4], v[5], t);	/* ln 10 */
	mpfr_set_ui(t, 5, MPFR_RNDN);
	mpfr_log(t, t, MPFR_RNDN);
	about_bracket(v[2], v[3], t);	/* ln 5 */
	mpfr_sqrt_ui(t, 5, MPFR_RNDD);
	mpfr_add_ui(t, t, 1, MPFR_RNDD);
	mpfr_div_2ui(t, t, 1, MPFR_RNDD);
	mpfr_log(v[0], t, MPFR_RNDD);	/* ln phi, below */
	mpfr_sqrt_ui(t, 5, MPFR_RNDU);
	mpfr_add_ui(t, t, 1, MPFR_RNDU);
	mpfr_div_2ui(t, t, 1, MPFR_RNDU);
	mpfr_log(v[1], t, MPFR_RNDU);	/* ln phi, above */

	/* log10 phi = ln phi / ln 10, log10 sqrt 5 = ln 5 / (2 ln 10), all > 0 */
	mpfr_div(v[0], v[0], v[5], MPFR_RNDD);
	mpfr_div(v[1], v[1], v[4], MPFR_RNDU);
	mpfr_div(v[2], v[2], v[5], MPFR_RNDD);
	mpfr_div_2ui(v[2], v[2], 1, MPFR_RNDD);
	mpfr_div(v[3], v[3], v[4], MPFR_RNDU);
	mpfr_div_2ui(v[3], v[3], 1, MPFR_RNDU);

	size = mpfr_custom_get_size(prec);
	block = MemoryContextAlloc(TopMemoryContext, 6 * size);
	if (about_consts.block)
		pfree(about_consts.block);
	about_consts.block = block;
	about_keep(about_consts.log10_phi[0], v[0], block);
	about_keep(about_consts.log10_phi[1], v[1], block + size);
	about_keep(about_consts.log10_sqrt5[0], v[2], block + 2 * size);
	about_keep(about_consts.log10_sqrt5[1], v[3], block + 3 * size);
	about_keep(about_consts.ln10[0], v[4], block + 4 * size);
	about_keep(about_consts.ln10[1], v[5], block + 5 * size);
	about_consts.prec = prec;
}

/*
 * about_log10_bounds sets lo <= log10 F(absn) <= hi, at their precision,
 * for absn > PG_FIB_INT64_MAX_N, from about_consts (at least as precise).
 */
static void
about_log10_bounds(mpfr_t lo, mpfr_t hi, uint64 absn)
{
	mpfr_t		eps;
	long		e;

	StaticAssertStmt(sizeof(unsigned long) >= sizeof(uint64),
					 "MPFR's _ui functions must take a uint64");

	mpfr_mul_ui(lo, about_consts.log10_phi[0], (unsigned long) absn, MPFR_RNDD);
	mpfr_sub(lo, lo, about_consts.log10_sqrt5[1], MPFR_RNDD);
	mpfr_mul_ui(hi, about_consts.log10_phi[1], (unsigned long) absn, MPFR_RNDU);
	mpfr_sub(hi, hi, about_consts.log10_sqrt5[0], MPFR_RNDU);

	/*
	 * |c| < 2^-floor(1.388 N), negative for even N, positive for odd N.  Past
	 * N = 2^29 the exponent is held at 2^29 (a wider bound, still true, and
	 * within MPFR's exponent range); either way the 2^-e is far below the
	 * interval's width, and the directed rounding moves the bound by one ulp.
	 */
	e = absn < ((uint64) 1 << 29) ? (long) (absn * 1388 / 1000) : (1L << 29);
	mpfr_init2(eps, 2);
	mpfr_set_ui_2exp(eps, 1, -e, MPFR_RNDN);
	if (absn % 2 == 0)
		mpfr_sub(lo, lo, eps, MPFR_RNDD);
	else
		mpfr_add(hi, hi, eps, MPFR_RNDU);
	mpfr_clear(eps);
}

/*
 * about_leading_bounds tells whether the bounds lo <= x <= hi of log10 F(N),
 * whose floor is j, settle the first k digits, and if so sets leading to
 * them.  y, z and w are scratch numbers of the working precision.
 */
static bool
about_leading_bounds(mpfr_t lo, mpfr_t hi, uint64 j, int k, mpz_t leading,
					 mpfr_t y_lo, mpfr_t y_hi, mpfr_t z_lo, mpfr_t z_hi,
					 mpz_t m_hi)
{
	/* z = (x - j + k - 1) ln 10 >= 0, so y = e^z */
	mpfr_sub_ui(z_lo, lo, (unsigned long) j, MPFR_RNDD);
	mpfr_add_ui(z_lo, z_lo, (unsigned long) (k - 1), MPFR_RNDD);
	mpfr_mul(z_lo, z_lo, about_consts.ln10[0], MPFR_RNDD);
	mpfr_sub_ui(z_hi, hi, (unsigned long) j, MPFR_RNDU);
	mpfr_add_ui(z_hi, z_hi, (unsigned long) (k - 1), MPFR_RNDU);
	mpfr_mul(z_hi, z_hi, about_consts.ln10[1], MPFR_RNDU);

	mpfr_exp(y_lo, z_lo, MPFR_RNDD);

	/* e^z_hi <= next_above(y_lo) (1 + 2 w), w = z_hi - z_lo <= 1/2 */
	mpfr_sub(z_hi, z_hi, z_lo, MPFR_RNDU);
	if (mpfr_cmp_ui_2exp(z_hi, 1, -1) > 0)
		return false;
	mpfr_mul_2ui(z_hi, z_hi, 1, MPFR_RNDU);
	mpfr_add_ui(z_hi, z_hi, 1, MPFR_RNDU);
	mpfr_set(y_hi, y_lo, MPFR_RNDN);	/* exact: same precision */
	mpfr_nextabove(y_hi);
	mpfr_mul(y_hi, y_hi, z_hi, MPFR_RNDU);

	mpfr_get_z(leading, y_lo, MPFR_RNDD);
	mpfr_get_z(m_hi, y_hi, MPFR_RNDD);
	return mpz_cmp(leading, m_hi) == 0;
}

/*
 * about_ziv returns the number of digits of F(absn), for
 * absn > PG_FIB_INT64_MAX_N, and when k >= 1 and absn > about_exact_max_n(k)
 * sets leading to its first k digits: Ziv's loop of the file header.
 * Inside a FibArena.
 */
static uint64
about_ziv(uint64 absn, int k, mpz_t leading)
{
	mpfr_prec_t first = 64 + FIB_ABOUT_GUARD_BITS +
		(mpfr_prec_t) ceil(k * 3.3219280948873623);
	mpfr_prec_t prec = first;
	mpfr_t		lo,
				hi,
				y_lo,
				y_hi,
				z_lo,
				z_hi;
	mpz_t		m_hi;
	int			rounds = 0;
	uint64		j;

	mpfr_inits2(prec, lo, hi, y_lo, y_hi, z_lo, z_hi, (mpfr_ptr) 0);
	mpz_init(m_hi);
	for (;;)
	{
		rounds++;
		about_constants(prec);
		about_log10_bounds(lo, hi, absn);
		j = mpfr_get_ui(lo, MPFR_RNDD);
		if (j == mpfr_get_ui(hi, MPFR_RNDD) &&
			(k == 0 ||
			 about_leading_bounds(lo, hi, j, k, leading,
								  y_lo, y_hi, z_lo, z_hi, m_hi)))
			break;

		if (prec >= first + FIB_ABOUT_MAX_EXTRA_BITS)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not settle the digits of F(" UINT64_FORMAT ") at %ld bits of precision",
							absn, (long) prec),
					 errdetail("The interval bounds still disagree on the %s.",
							   k == 0 ? "digit count" : "leading digits"),
					 errhint("Please report this n and k to pg_fib's developers: the file header of pg_fib/fibabout.c argues it should not happen.")));
		prec = Min(prec + prec / 2, first + FIB_ABOUT_MAX_EXTRA_BITS);
		mpfr_set_prec(lo, prec);
		mpfr_set_prec(hi, prec);
		mpfr_set_prec(y_lo, prec);
		mpfr_set_prec(y_hi, prec);
		mpfr_set_prec(z_lo, prec);
		mpfr_set_prec(z_hi, prec);
		CHECK_FOR_INTERRUPTS();
	}

	elog(DEBUG2, "pg_fib: digits of F(" UINT64_FORMAT ") (k = %d) settled at %ld bits in %d rounds",
		 absn, k, (long) prec, rounds);
	return j + 1;
}

/*
 * pg_fib_about_digits returns the number of decimal digits of F(absn)
 * (1 for F(0) = 0).
 */
uint64
pg_fib_about_digits(uint64 absn)
{
	FibArena	arena;
	volatile uint64 count = 0;

	if (absn <= PG_FIB_INT64_MAX_N)
		return about_uint64_digits(pg_fib_small(absn));

	about_arena_begin(&arena);
	PG_TRY();
	{
		count = about_ziv(absn, 0, NULL);
	}
	PG_FINALLY();
	{
		about_arena_end(&arena);
	}
	PG_END_TRY();
	return count;
}

/*
 * pg_fib_about_leading returns the first k digits of F(absn) (all of them when it
 * has fewer) as text, in the caller's memory context.
 */
text *
pg_fib_about_leading(uint64 absn, int k)
{
	FibArena	arena;
	text	   *volatile result = NULL;

	if (absn <= PG_FIB_INT64_MAX_N)
	{
		char		buf[32];
		int			len;

		len = snprintf(buf, sizeof(buf), UINT64_FORMAT, pg_fib_small(absn));
		return cstring_to_text_with_len(buf, Min(len, k));
	}

	about_arena_begin(&arena);
	PG_TRY();
	{
		if (absn <= about_exact_max_n(k))
		{
			char	   *digits = about_exact_decimal(absn);

			result = cstring_to_text_with_len(digits, (int) Min(strlen(digits), (size_t) k));
		}
		else
		{
			mpz_t		leading;

			mpz_init(leading);
			about_ziv(absn, k, leading);
			result = cstring_to_text(mpz_get_str(NULL, 10, leading));
		}
	}
	PG_FINALLY();
	{
		about_arena_end(&arena);
	}
	PG_END_TRY();
	return result;
}

/*
 * about_reduce sets x to x mod m, in [0, m): by truncation when m = 2^twos
 * (twos > 0), by division otherwise.
 */
static inline void
about_reduce(mpz_t x, const mpz_t m, unsigned long twos)
{
	if (twos > 0)
		mpz_fdiv_r_2exp(x, x, twos);
	else
		mpz_mod(x, x, m);
}

/*
 * about_fib_mod_mpz sets a to F(absn) mod m, for absn >= 1 and m = 2^twos
 * when twos > 0.  It walks the bits of absn from the top keeping
 * (a, b) = (F(j), F(j-1)) mod m with two squarings a step (the formulas of
 * fibcore.c's fib_double_step):
 *	 F(2j-1) = F(j)^2 + F(j-1)^2
 *	 F(2j+1) = 4 F(j)^2 - F(j-1)^2 + 2 (-1)^j
 *	 F(2j)	 = F(2j+1) - F(2j-1)
 */
static void
about_fib_mod_mpz(mpz_t a, uint64 absn, const mpz_t m, unsigned long twos)
{
	mpz_t		b,
				t1,
				t2;
	uint64		j = 1;
	int			bit = 63;

	mpz_inits(b, t1, t2, NULL);
	while (((absn >> bit) & 1) == 0)
		bit--;
	mpz_set_ui(a, 1);			/* (F(1), F(0)) */
	for (bit--; bit >= 0; bit--)
	{
		mpz_mul(t1, a, a);
		mpz_mul(t2, b, b);
		mpz_add(b, t1, t2);
		about_reduce(b, m, twos);	/* F(2j-1) */
		mpz_mul_2exp(t1, t1, 2);
		mpz_sub(t1, t1, t2);
		if (j & 1)
			mpz_sub_ui(t1, t1, 2);
		else
			mpz_add_ui(t1, t1, 2);
		about_reduce(t1, m, twos);	/* F(2j+1) */
		mpz_sub(a, t1, b);
		about_reduce(a, m, twos);	/* F(2j) */
		if ((absn >> bit) & 1)
		{
			mpz_swap(b, a);
			mpz_swap(a, t1);
		}
		j = 2 * j + ((absn >> bit) & 1);
	}
	mpz_clears(b, t1, t2, NULL);
}

/*
 * about_trailing_mpz returns F(absn) mod 10^k in decimal (no leading
 * zeros), allocated by GMP: inside a FibArena.  10^k = 2^k 5^k, and the two
 * factors are taken apart: mod 2^k the reductions are truncations, and mod
 * 5^k the numbers have 2.32 k bits instead of 3.32 k, so both ladders
 * together cost about 60% of one mod 10^k.  The Chinese remainder theorem
 * joins them: r = r5 + 5^k ((r2 - r5) 5^-k mod 2^k).
 */
static char *
about_trailing_mpz(uint64 absn, int k)
{
	mpz_t		five_k,
				r2,
				r5,
				t;

	mpz_inits(five_k, r2, r5, t, NULL);
	if (absn == 0)
		return mpz_get_str(NULL, 10, r5);

	mpz_ui_pow_ui(five_k, 5, (unsigned long) k);
	about_fib_mod_mpz(r2, absn, NULL, (unsigned long) k);
	about_fib_mod_mpz(r5, absn, five_k, 0);

	mpz_setbit(t, (mp_bitcnt_t) k);		/* t = 2^k */
	if (!mpz_invert(t, five_k, t))
		elog(ERROR, "5^k has no inverse mod 2^k");	/* cannot happen */
	mpz_sub(r2, r2, r5);
	mpz_mul(r2, r2, t);
	mpz_fdiv_r_2exp(r2, r2, (mp_bitcnt_t) k);
	mpz_mul(r2, r2, five_k);
	mpz_add(r5, r5, r2);
	return mpz_get_str(NULL, 10, r5);
}

/*
 * about_trailing_gmp writes F(absn) mod 10^k, for k > 18, to buf as width
 * digits, zero-padded (width >= its digits).
 */
static void
about_trailing_gmp(uint64 absn, int k, char *buf, int width)
{
	FibArena	arena;

	about_arena_begin(&arena);
	PG_TRY();
	{
		char	   *digits = about_trailing_mpz(absn, k);
		size_t		len = strlen(digits);

		Assert(len <= (size_t) width);
		memset(buf, '0', width - len);
		memcpy(buf + width - len, digits, len + 1);
	}
	PG_FINALLY();
	{
		about_arena_end(&arena);
	}
	PG_END_TRY();
}

/*
 * pg_fib_about_trailing returns the last k digits of F(absn), zero-padded to k
 * digits or to all of F(absn)'s digits when it has fewer, as text in the
 * caller's memory context.
 */
text *
pg_fib_about_trailing(uint64 absn, int k)
{
	int			width = k;
	char	   *buf;

	/*
	 * F(N) has at least N 0.2089 - 0.35 digits, so k or more past this
	 * bound; below it, ask.
	 */
	if (absn <= (uint64) (k + 1) * 10000 / 2089 + 1)
		width = (int) Min(pg_fib_about_digits(absn), (uint64) k);

	buf = palloc(width + 1);
	if (k <= 18)
	{
		uint64		m = 1;
		int			i;

		for (i = 0; i < k; i++)
			m *= 10;
		snprintf(buf, width + 1, "%0*" INT64_MODIFIER "u", width,
				 pg_fib_mod_abs(absn, m));
	}
	else
		about_trailing_gmp(absn, k, buf, width);
	return cstring_to_text_with_len(buf, width);
}
