/*
 * fibdigits_check.c: pg_fib/fibdigits.c against a textbook carry loop, on
 * random numbers and on the inputs its carry guess gets wrong: digits that
 * add up to 9999 (or subtract to 0) for long stretches, where a carry or a
 * borrow must travel far to the left.  test_series.py builds it twice, with
 * the SSE2 path and with the scalar one (-U__SSE2__, the functions renamed
 * scalar_*), links both in, and runs it; it prints "ok" and exits 0 when
 * every result agrees.
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fib.h"

#undef printf

#define LENGTH	264				/* digits of a number, the padding included */

extern void scalar_add(FibDigit *x, const FibDigit *y, size_t start, size_t end);
extern void scalar_subtract(FibDigit *x, const FibDigit *y, size_t start, size_t end);

/* reference_add adds with a carry from the last digit to the first. */
static void
reference_add(FibDigit *x, const FibDigit *y, size_t start, size_t end)
{
	int			carry = 0;
	size_t		i;

	for (i = end; i-- > start;)
	{
		int			sum = x[i] + y[i] + carry;

		carry = sum >= 10000;
		x[i] = (FibDigit) (sum - 10000 * carry);
	}
	if (carry)
		abort();
}

/* reference_subtract subtracts with a borrow from the last digit to the first. */
static void
reference_subtract(FibDigit *x, const FibDigit *y, size_t start, size_t end)
{
	int			borrow = 0;
	size_t		i;

	for (i = end; i-- > start;)
	{
		int			diff = x[i] - y[i] - borrow;

		borrow = diff < 0;
		x[i] = (FibDigit) (diff + 10000 * borrow);
	}
	if (borrow)
		abort();
}

/* compare orders two numbers of LENGTH digits. */
static int
compare(const FibDigit *x, const FibDigit *y)
{
	int			i;

	for (i = 0; i < LENGTH; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

/*
 * check runs the three additions of y to x, and the three subtractions of
 * the smaller from the larger, over start .. end - 1, and says whether they
 * agree.
 */
static int
check(const FibDigit *x, const FibDigit *y, size_t start, size_t end)
{
	FibDigit	want[LENGTH],
				sse[LENGTH],
				scalar[LENGTH];
	const FibDigit *large = compare(x, y) >= 0 ? x : y;
	const FibDigit *small = large == x ? y : x;

	memcpy(want, x, sizeof(want));
	memcpy(sse, x, sizeof(sse));
	memcpy(scalar, x, sizeof(scalar));
	reference_add(want, y, start, end);
	pg_fib_digits_add(sse, y, start, end);
	scalar_add(scalar, y, start, end);
	if (compare(want, sse) != 0 || compare(want, scalar) != 0)
		return 0;

	memcpy(want, large, sizeof(want));
	memcpy(sse, large, sizeof(sse));
	memcpy(scalar, large, sizeof(scalar));
	reference_subtract(want, small, start, end);
	pg_fib_digits_subtract(sse, small, start, end);
	scalar_subtract(scalar, small, start, end);
	return compare(want, sse) == 0 && compare(want, scalar) == 0;
}

int
main(void)
{
	int			round;

	srand(19);
	for (round = 0; round < 200000; round++)
	{
		/* the digits of x and y lie in start + 1 .. end - 1; the rest is 0 */
		size_t		end = 1 + rand() % (LENGTH - 8);
		size_t		start = rand() % 2 ? 0 : rand() % end;
		int			kind = rand() % 4;
		FibDigit	x[LENGTH] = {0};
		FibDigit	y[LENGTH] = {0};
		size_t		i;

		for (i = start + 1; i < end; i++)
		{
			y[i] = (FibDigit) (rand() % 10000);
			switch (kind)
			{
				case 0:			/* random */
					x[i] = (FibDigit) (rand() % 10000);
					break;
				case 1:			/* sums of 9999 all along: the longest carries */
					x[i] = (FibDigit) (9999 - y[i]);
					break;
				case 2:			/* stretches of 9999 sums */
					x[i] = (FibDigit) (rand() % 3 ? 9999 - y[i] : rand() % 10000);
					break;
				case 3:			/* equal digits: differences of 0, the longest borrows */
					x[i] = rand() % 8 ? y[i] : (FibDigit) (rand() % 10000);
					break;
			}
		}
		if (!check(x, y, start, end))
		{
			printf("mismatch in round %d (kind %d, start %zu, end %zu)\n", round, kind, start, end);
			return 1;
		}
	}
	printf("ok: %d rounds\n", round);
	return 0;
}
