/*-------------------------------------------------------------------------
 *
 * fibdecimal.c
 *	  Interruptible conversion of GMP integers to decimal, and the memo's
 *	  base-10000 digits to text.
 *
 * The memo keeps |F(n)| as base-10000 digits, most significant first: half a
 * byte per decimal digit, as compact as numeric, and printed or turned into a
 * numeric in linear time.  Getting there from GMP's binary is the expensive,
 * superlinear part (mpz_get_str on F(10^8) takes about 2.3 s here), and one
 * mpz_get_str call cannot be interrupted.  So the conversion is done here by
 * divide and conquer: the value is split by 10000^(2^j) for falling j, down
 * to leaves of FIB_LEAF_DIGITS digits that are finished by short divisions.
 * Interrupts are checked and progress reported after every split, so the
 * longest uninterruptible step is the top division (about 0.4 s for
 * F(10^8)).
 *
 * IDENTIFICATION
 *	  pg_fib/fibdecimal.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "fib.h"

/* A leaf of the conversion: 64 base-10000 digits, 256 decimal digits. */
#define FIB_LEAF_DIGITS		64

/* The state of one conversion. */
typedef struct FibConversion
{
	mpz_t	   *powers;			/* powers[j] = 10000^(2^j) */
	size_t		leaves_done;
	size_t		leaves_total;
	FibProgressCallback progress;
	void	   *progress_arg;
} FibConversion;

/*
 * fib_convert_leaf writes the width digits of x (x < 10000^width) to out,
 * most significant first, four at a time by division by 10^16.  x is
 * destroyed.
 */
static void
fib_convert_leaf(mpz_t x, FibDigit *out, size_t width)
{
	size_t		pos = width;

	while (pos > 0)
	{
		unsigned long chunk = mpz_tdiv_q_ui(x, x, 10000000000000000UL);
		int			i;

		for (i = 0; i < 4 && pos > 0; i++)
		{
			out[--pos] = (FibDigit) (chunk % 10000);
			chunk /= 10000;
		}
	}
}

/*
 * fib_convert writes the 2^(level+1) base-10000 digits of x (x below
 * 10000^(2^(level+1))), most significant first, to out.  x is destroyed.
 */
static void
fib_convert(FibConversion *conv, mpz_t x, int level, FibDigit *out)
{
	size_t		half = (size_t) 1 << level;
	mpz_t		high;

	if (2 * half <= FIB_LEAF_DIGITS)
	{
		fib_convert_leaf(x, out, 2 * half);
		conv->leaves_done++;
		if (conv->progress && conv->leaves_done % 256 == 0)
			conv->progress((double) conv->leaves_done / conv->leaves_total,
						   conv->progress_arg);
		return;
	}

	CHECK_FOR_INTERRUPTS();
	mpz_init(high);
	mpz_tdiv_qr(high, x, x, conv->powers[level]);
	fib_convert(conv, high, level - 1, out);
	mpz_clear(high);
	fib_convert(conv, x, level - 1, out + half);
}

/*
 * pg_fib_mpz_to_digits returns |value| as base-10000 digits, most
 * significant first and without leading zeros (zero is one digit 0), and
 * sets *ndigits.  It must run inside a FibArena; the digits are allocated
 * in the caller's memory context.  progress, when not NULL, hears the
 * fraction done.
 */
FibDigit *
pg_fib_mpz_to_digits(const mpz_t value, size_t *ndigits,
					 FibProgressCallback progress, void *progress_arg)
{
	FibConversion conv;
	size_t		estimate = mpz_sizeinbase(value, 10) / 4 + 1;
	size_t		width = FIB_LEAF_DIGITS;
	int			level = 0;
	int			j;
	FibDigit   *out;
	FibDigit   *result;
	size_t		skip;
	mpz_t		x;

	while (width < estimate)
	{
		width *= 2;
	}
	while (((size_t) 2 << level) < width)
		level++;

	conv.powers = palloc(sizeof(mpz_t) * (level + 1));
	mpz_init_set_ui(conv.powers[0], 10000);
	for (j = 1; j <= level; j++)
	{
		CHECK_FOR_INTERRUPTS();
		mpz_init(conv.powers[j]);
		mpz_mul(conv.powers[j], conv.powers[j - 1], conv.powers[j - 1]);
	}
	conv.leaves_done = 0;
	conv.leaves_total = width / FIB_LEAF_DIGITS;
	conv.progress = progress;
	conv.progress_arg = progress_arg;

	out = palloc(width * sizeof(FibDigit));
	mpz_init(x);
	mpz_abs(x, value);
	fib_convert(&conv, x, level, out);
	mpz_clear(x);
	for (j = 0; j <= level; j++)
		mpz_clear(conv.powers[j]);
	pfree(conv.powers);

	for (skip = 0; skip < width - 1 && out[skip] == 0; skip++)
		;
	*ndigits = width - skip;
	result = MemoryContextAllocHuge(CurrentMemoryContext,
									*ndigits * sizeof(FibDigit));
	memcpy(result, out + skip, *ndigits * sizeof(FibDigit));
	pfree(out);
	return result;
}

/* The digits' count and the conversion's listener, for fib_digits_of. */
typedef struct FibDigitsRequest
{
	FibProgressCallback progress;
	void	   *progress_arg;
	size_t		ndigits;
} FibDigitsRequest;

/* fib_digits_of is pg_fib_compute_digits's FibConvertFunction. */
static Datum
fib_digits_of(const mpz_t value, void *arg)
{
	FibDigitsRequest *request = (FibDigitsRequest *) arg;

	return PointerGetDatum(pg_fib_mpz_to_digits(value, &request->ndigits,
												request->progress,
												request->progress_arg));
}

/*
 * pg_fib_compute_digits computes F(n) on GMP in an arena of its own and
 * returns |F(n)| as pg_fib_mpz_to_digits does, allocated in the caller's
 * memory context.  progress hears the fraction of the computation done,
 * conversion_progress that of the conversion (each may be NULL), both with
 * progress_arg; *elapsed_ms is the time of both.
 */
FibDigit *
pg_fib_compute_digits(int64 n, size_t *ndigits,
					  FibProgressCallback progress,
					  FibProgressCallback conversion_progress,
					  void *progress_arg, double *elapsed_ms)
{
	FibDigitsRequest request = {conversion_progress, progress_arg, 0};
	Datum		digits;

	digits = pg_fib_compute_converted(n, progress, progress_arg,
									  fib_digits_of, &request, elapsed_ms);
	*ndigits = request.ndigits;
	return (FibDigit *) DatumGetPointer(digits);
}

/*
 * pg_fib_digits_decimal_count returns the number of decimal digits of a
 * base-10000 number without leading zeros.
 */
int64
pg_fib_digits_decimal_count(const FibDigit *digits, size_t ndigits)
{
	int			lead = digits[0] >= 1000 ? 4 : digits[0] >= 100 ? 3 : digits[0] >= 10 ? 2 : 1;

	return (int64) (ndigits - 1) * 4 + lead;
}

/*
 * pg_fib_digits_to_text returns the decimal text of the base-10000 number
 * digits, with a minus sign when negative, in linear time.
 */
text *
pg_fib_digits_to_text(const FibDigit *digits, size_t ndigits, bool negative)
{
	int64		len = pg_fib_digits_decimal_count(digits, ndigits) + (negative ? 1 : 0);
	text	   *result = (text *) MemoryContextAllocHuge(CurrentMemoryContext,
														 VARHDRSZ + len);
	char	   *p = VARDATA(result);
	char		lead[8];
	int			leadlen;
	size_t		i;

	SET_VARSIZE(result, VARHDRSZ + len);
	if (negative)
		*p++ = '-';
	leadlen = snprintf(lead, sizeof(lead), "%d", (int) digits[0]);
	memcpy(p, lead, leadlen);
	p += leadlen;
	for (i = 1; i < ndigits; i++)
	{
		int			d = digits[i];

		p[3] = '0' + d % 10;
		d /= 10;
		p[2] = '0' + d % 10;
		d /= 10;
		p[1] = '0' + d % 10;
		p[0] = '0' + d / 10;
		p += 4;
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	return result;
}

/*
 * pg_fib_mpz_to_text returns value as decimal text through one mpz_get_str
 * call: the fastest way for the values computed inside a caller's query,
 * which pg_fib.sync_max_n keeps small enough not to need interrupting.
 */
text *
pg_fib_mpz_to_text(const mpz_t value)
{
	size_t		room = mpz_sizeinbase(value, 10) + 2;
	text	   *result = (text *) MemoryContextAllocHuge(CurrentMemoryContext,
														 VARHDRSZ + room);

	mpz_get_str(VARDATA(result), 10, value);
	SET_VARSIZE(result, VARHDRSZ + strlen(VARDATA(result)));
	return result;
}
