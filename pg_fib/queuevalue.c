/*-------------------------------------------------------------------------
 *
 * queuevalue.c
 *	  The memo's value format.
 *
 * fib_memo.value holds |F(n)| as base-10000 digits, most significant first,
 * each a little-endian 16-bit integer: the digits of a numeric, so a value
 * becomes a numeric by a copy and decimal text in linear time.  The byte
 * order is fixed so that a dump restores on any machine.  Every value read
 * is checked (each digit, the leading digit, the number of digits for n):
 * a damaged row is reported, never turned into a wrong answer.
 *
 * The memo's readers (queuememo.c) and the statements that store a value
 * (queuejobs.c) share this file and nothing else of each other's.
 *
 * IDENTIFICATION
 *	  pg_fib/queuevalue.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "port/pg_bswap.h"
#include "utils/memutils.h"

#include "queuevalue.h"

/*
 * pg_fib_digits_to_bytea returns digits in the memo's value format.
 */
bytea *
pg_fib_digits_to_bytea(const FibDigit *digits, size_t ndigits)
{
	size_t		size = ndigits * sizeof(FibDigit);
	bytea	   *result = (bytea *) MemoryContextAllocHuge(CurrentMemoryContext,
														  VARHDRSZ + size);

	SET_VARSIZE(result, VARHDRSZ + size);
#ifdef WORDS_BIGENDIAN
	{
		uint16	   *out = (uint16 *) VARDATA(result);
		size_t		i;

		for (i = 0; i < ndigits; i++)
			out[i] = pg_bswap16((uint16) digits[i]);
	}
#else
	memcpy(VARDATA(result), digits, size);
#endif
	return result;
}

/*
 * fib_base10000_digits_fit tells whether ndigits base-10000 digits is the
 * length of |F(absn)|.  F(n) has floor(n log10(phi) - log10(sqrt 5)) + 1
 * decimal digits for n >= 2; in double precision that floor may be off by
 * one where the logarithm lies within about 1e-7 of an integer, so both
 * neighbours of a near-integer are accepted.
 */
static bool
fib_base10000_digits_fit(uint64 absn, size_t ndigits)
{
	double		x;
	double		low;
	double		high;

	if (absn <= 2)
		return ndigits == 1;
	x = (double) absn * 0.20898764024997873 - 0.3494850021680094;
	low = floor(x - 1e-6) + 1;
	high = floor(x + 1e-6) + 1;
	return ndigits == (size_t) ((low + 3) / 4) || ndigits == (size_t) ((high + 3) / 4);
}

/* fib_corrupt_value reports a damaged memo row. */
static void
fib_corrupt_value(uint64 absn, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid value of F(" UINT64_FORMAT ") in table \"fib_memo\"", absn),
			 errdetail_internal("%s", detail),
			 errhint("Delete the row of n = " UINT64_FORMAT "; pg_fib computes F(n) again when it is next asked for.",
					 absn)));
}

/*
 * fib_digits_in_range tells whether every one of ndigits base-10000 digits
 * lies in 0..9999: it keeps the smallest and the largest, eight digits at a
 * time where SSE2 is there (every x86-64), which makes the check of a
 * 64 kB value cost well under a microsecond.
 */
static bool
fib_digits_in_range(const FibDigit *digits, size_t ndigits)
{
	FibDigit	smallest = 0;
	FibDigit	largest = 0;
	size_t		i = 0;

#ifdef __SSE2__
	__m128i		low = _mm_setzero_si128();
	__m128i		high = _mm_setzero_si128();
	__m128i		bad;

	for (; i + 8 <= ndigits; i += 8)
	{
		__m128i		v = _mm_loadu_si128((const __m128i *) &digits[i]);

		low = _mm_min_epi16(low, v);
		high = _mm_max_epi16(high, v);
	}
	bad = _mm_or_si128(_mm_cmplt_epi16(low, _mm_setzero_si128()),
					   _mm_cmpgt_epi16(high, _mm_set1_epi16(9999)));
	if (_mm_movemask_epi8(bad) != 0)
		return false;
#endif
	for (; i < ndigits; i++)
	{
		smallest = Min(smallest, digits[i]);
		largest = Max(largest, digits[i]);
	}
	return smallest >= 0 && largest <= 9999;
}

/*
 * pg_fib_bytea_to_digits returns the digits of a value of F(absn) in the
 * memo's format, after checking that it is one: a whole number of digits,
 * as many as |F(absn)| has, each in 0..9999, the first not 0 (unless F(absn)
 * = 0).  value must be detoasted, with a 4-byte header; on a little-endian
 * machine the digits returned are the value's own bytes, elsewhere a copy
 * allocated in the current memory context.
 */
FibDigit *
pg_fib_bytea_to_digits(bytea *value, uint64 absn, size_t *ndigits)
{
	size_t		size = VARSIZE(value) - VARHDRSZ;
	FibDigit   *digits;

	Assert(VARATT_IS_4B_U(value));
	if (size == 0 || size % sizeof(FibDigit) != 0)
		fib_corrupt_value(absn, psprintf("The value has %zu bytes, not a whole number of 2-byte digits.", size));
	*ndigits = size / sizeof(FibDigit);
	if (!fib_base10000_digits_fit(absn, *ndigits))
		fib_corrupt_value(absn, psprintf("The value has %zu base-10000 digits, which is not the length of F(" UINT64_FORMAT ").",
										 *ndigits, absn));

#ifdef WORDS_BIGENDIAN
	{
		const uint16 *in = (const uint16 *) VARDATA(value);
		size_t		i;

		digits = MemoryContextAllocHuge(CurrentMemoryContext, size);
		for (i = 0; i < *ndigits; i++)
			digits[i] = (FibDigit) pg_bswap16(in[i]);
	}
#else
	digits = (FibDigit *) VARDATA(value);
#endif
	if (!fib_digits_in_range(digits, *ndigits))
		fib_corrupt_value(absn, "A base-10000 digit of the value is not between 0 and 9999.");
	if (digits[0] == 0 && absn != 0)
		fib_corrupt_value(absn, "The leading digit of the value is zero.");
	return digits;
}
