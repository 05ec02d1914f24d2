/*-------------------------------------------------------------------------
 *
 * fibdigits.c
 *	  Addition and subtraction of base-10000 numbers, in place.
 *
 * fib_series_values() walks the Fibonacci numbers by the recurrence itself,
 * one addition (or, below n = 0, one subtraction) per row, in numeric's own
 * base-10000 digits, so that a row costs a pass over its digits and no
 * conversion from binary.  The pass is the whole cost of a row at large n
 * (F(600000) has 31,350 digits), so it is done eight digits at a time with
 * SSE2 (every x86-64), and by the same formula one digit at a time
 * elsewhere.
 *
 * The carry chain is what keeps an addition from running eight digits at a
 * time: the carry into a digit depends on every digit to its right.  So the
 * carry is guessed from the right-hand neighbour alone (a carry comes out of
 * it when its two digits add up to 10000 or more) and the guess is checked.
 * It is wrong only where the neighbour's digits add up to exactly 9999 and
 * a carry comes into the neighbour too; then the neighbour's digit comes
 * out as 10000, which the check sees, and that carry is passed on by hand,
 * to the left, for as long as it makes another 10000.  For random digits
 * that happens about once in 20,000 digits.  Subtraction is the mirror
 * image: a borrow guessed from the neighbour, a digit of -1 when the guess
 * was wrong.
 *
 * Digits are stored most significant first (numeric's order), so "to the
 * left" is a lower index.  Every position is computed from the inputs at
 * its own index and the next one, before anything at those indexes is
 * written, and a carry or borrow passed on by hand only ever moves to
 * indexes already written, so the result can overwrite x as it goes.
 *
 * IDENTIFICATION
 *	  pg_fib/fibdigits.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "fib.h"

#define FIB_BASE	10000

/*
 * fib_carry_left passes on the carry that the guess missed at position i,
 * which holds FIB_BASE: it becomes 0 and the digit to its left goes up by
 * one, and so on while that makes another FIB_BASE.  A digit to the left
 * of a missed carry never holds FIB_BASE itself (its guessed carry-in was
 * 0, so it is at most 9999), which is why the positions can be put right
 * one at a time, in any order.
 */
static inline void
fib_carry_left(FibDigit *x, size_t i)
{
	do
	{
		x[i] = 0;
		i--;
		x[i]++;
	} while (x[i] == FIB_BASE);
}

/*
 * fib_borrow_left passes on the borrow that the guess missed at position i,
 * which holds -1: the mirror image of fib_carry_left.
 */
static inline void
fib_borrow_left(FibDigit *x, size_t i)
{
	do
	{
		x[i] = FIB_BASE - 1;
		i--;
		x[i]--;
	} while (x[i] == -1);
}

/*
 * pg_fib_digits_add sets x to x + y, two base-10000 numbers held most
 * significant first whose last digit is at index end - 1, over the
 * positions start .. end - 1.  x[end] and y[end] must exist and be 0 (the
 * guess of the last digit's carry reads them), and nothing may carry out of
 * position start: the caller keeps a zero digit there in both.
 */
void
pg_fib_digits_add(FibDigit *x, const FibDigit *y, size_t start, size_t end)
{
	size_t		i = start;

	Assert(x[end] == 0 && y[end] == 0);
#ifdef __SSE2__
	{
		const __m128i base = _mm_set1_epi16(FIB_BASE);
		const __m128i top = _mm_set1_epi16(FIB_BASE - 1);

		for (; i + 8 <= end; i += 8)
		{
			__m128i		sum = _mm_add_epi16(_mm_loadu_si128((const __m128i *) &x[i]),
											_mm_loadu_si128((const __m128i *) &y[i]));
			__m128i		right = _mm_add_epi16(_mm_loadu_si128((const __m128i *) &x[i + 1]),
											  _mm_loadu_si128((const __m128i *) &y[i + 1]));

			/* a carry out is -1 in its lane: subtracting it adds one */
			__m128i		carry_out = _mm_cmpgt_epi16(sum, top);
			__m128i		carry_in = _mm_cmpgt_epi16(right, top);
			__m128i		digit = _mm_sub_epi16(_mm_sub_epi16(sum, _mm_and_si128(carry_out, base)),
											  carry_in);

			_mm_storeu_si128((__m128i *) &x[i], digit);
			if (_mm_movemask_epi8(_mm_cmpeq_epi16(digit, base)) != 0)
			{
				size_t		j;

				for (j = i; j < i + 8; j++)
					if (x[j] == FIB_BASE)
						fib_carry_left(x, j);
			}
		}
	}
#endif
	for (; i < end; i++)
	{
		int			sum = x[i] + y[i];
		int			right = x[i + 1] + y[i + 1];

		x[i] = (FibDigit) (sum - (sum >= FIB_BASE ? FIB_BASE : 0) + (right >= FIB_BASE));
		if (x[i] == FIB_BASE)
			fib_carry_left(x, i);
	}
}

/*
 * pg_fib_digits_subtract sets x to x - y, on the same terms as
 * pg_fib_digits_add; x must be at least y, so that nothing is borrowed from
 * the left of position start.
 */
void
pg_fib_digits_subtract(FibDigit *x, const FibDigit *y, size_t start, size_t end)
{
	size_t		i = start;

	Assert(x[end] == 0 && y[end] == 0);
#ifdef __SSE2__
	{
		const __m128i base = _mm_set1_epi16(FIB_BASE);
		const __m128i zero = _mm_setzero_si128();
		const __m128i minus_one = _mm_set1_epi16(-1);

		for (; i + 8 <= end; i += 8)
		{
			__m128i		diff = _mm_sub_epi16(_mm_loadu_si128((const __m128i *) &x[i]),
											 _mm_loadu_si128((const __m128i *) &y[i]));
			__m128i		right = _mm_sub_epi16(_mm_loadu_si128((const __m128i *) &x[i + 1]),
											  _mm_loadu_si128((const __m128i *) &y[i + 1]));

			/* a borrow is -1 in its lane: adding it subtracts one */
			__m128i		borrow_out = _mm_cmplt_epi16(diff, zero);
			__m128i		borrow_in = _mm_cmplt_epi16(right, zero);
			__m128i		digit = _mm_add_epi16(_mm_add_epi16(diff, _mm_and_si128(borrow_out, base)),
											  borrow_in);

			_mm_storeu_si128((__m128i *) &x[i], digit);
			if (_mm_movemask_epi8(_mm_cmpeq_epi16(digit, minus_one)) != 0)
			{
				size_t		j;

				for (j = i; j < i + 8; j++)
					if (x[j] == -1)
						fib_borrow_left(x, j);
			}
		}
	}
#endif
	for (; i < end; i++)
	{
		int			diff = x[i] - y[i];
		int			right = x[i + 1] - y[i + 1];

		x[i] = (FibDigit) (diff + (diff < 0 ? FIB_BASE : 0) - (right < 0));
		if (x[i] == -1)
			fib_borrow_left(x, i);
	}
}
