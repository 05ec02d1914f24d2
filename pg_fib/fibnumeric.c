/*-------------------------------------------------------------------------
 *
 * fibnumeric.c
 *	  Conversion of GMP integers to PostgreSQL numeric values.
 *
 * A numeric holds its magnitude as base-10000 digits, like the memo.  A
 * value from the memo is copied into a numeric as it is; a value computed
 * by GMP goes through mpn_get_str, which produces raw base-100 digits
 * (values 0..99, not characters) with its subquadratic radix conversion,
 * two of which make one base-10000 digit.  Either way the numeric is built
 * directly, without a decimal string parsed back by numeric_in.
 *
 * PostgreSQL does not export the layout of numeric (it is private to
 * src/backend/utils/adt/numeric.c), so the few definitions needed to build
 * one are repeated here.  That layout is the on-disk format, which
 * pg_upgrade requires to stay the same across releases.  The value built
 * is the canonical one make_result() would build: the short header where
 * the weight allows it, no leading or trailing zero digits.  The
 * regression tests compare it byte for byte with numeric_in's result.
 *
 * IDENTIFICATION
 *	  pg_fib/fibnumeric.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fib.h"

/* From src/backend/utils/adt/numeric.c: the stored form of a numeric. */

#define FIB_NUMERIC_POS						0x0000
#define FIB_NUMERIC_NEG						0x4000
#define FIB_NUMERIC_SHORT					0x8000
#define FIB_NUMERIC_SHORT_SIGN_MASK			0x2000
#define FIB_NUMERIC_SHORT_WEIGHT_MASK		0x003F
#define FIB_NUMERIC_SHORT_WEIGHT_MAX		FIB_NUMERIC_SHORT_WEIGHT_MASK
#define FIB_NUMERIC_WEIGHT_MAX				PG_INT16_MAX

typedef struct FibNumericShort
{
	int32		vl_len_;
	uint16		n_header;
	FibDigit	n_data[FLEXIBLE_ARRAY_MEMBER];
} FibNumericShort;

typedef struct FibNumericLong
{
	int32		vl_len_;
	uint16		n_sign_dscale;
	int16		n_weight;
	FibDigit	n_data[FLEXIBLE_ARRAY_MEMBER];
} FibNumericLong;

/*
 * pg_fib_digits_to_numeric returns the base-10000 number digits (most
 * significant first, no leading zeros) as a numeric, negative when asked,
 * allocated in the current memory context.  A value beyond numeric's range
 * is refused with SQLSTATE 22003; callers bound n so that it does not
 * happen.
 */
Numeric
pg_fib_digits_to_numeric(const FibDigit *digits, size_t ndigits, bool negative)
{
	int			weight;
	size_t		stored;
	size_t		header_size;
	char	   *result;

	if (ndigits == 0 || digits[0] == 0)
	{
		FibNumericShort *zero = palloc(offsetof(FibNumericShort, n_data));

		SET_VARSIZE(zero, offsetof(FibNumericShort, n_data));
		zero->n_header = FIB_NUMERIC_SHORT;
		return (Numeric) zero;
	}

	if (ndigits - 1 > FIB_NUMERIC_WEIGHT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value overflows numeric format")));
	weight = (int) ndigits - 1;

	/* Trailing zero digits are implied by the weight. */
	for (stored = ndigits; digits[stored - 1] == 0; stored--)
		;

	if (weight <= FIB_NUMERIC_SHORT_WEIGHT_MAX)
		header_size = offsetof(FibNumericShort, n_data);
	else
		header_size = offsetof(FibNumericLong, n_data);
	result = palloc(header_size + stored * sizeof(FibDigit));
	SET_VARSIZE(result, header_size + stored * sizeof(FibDigit));
	memcpy(result + header_size, digits, stored * sizeof(FibDigit));

	if (weight <= FIB_NUMERIC_SHORT_WEIGHT_MAX)
		((FibNumericShort *) result)->n_header =
			FIB_NUMERIC_SHORT |
			(negative ? FIB_NUMERIC_SHORT_SIGN_MASK : 0) |
			(weight & FIB_NUMERIC_SHORT_WEIGHT_MASK);
	else
	{
		((FibNumericLong *) result)->n_sign_dscale =
			negative ? FIB_NUMERIC_NEG : FIB_NUMERIC_POS;
		((FibNumericLong *) result)->n_weight = (int16) weight;
	}
	return (Numeric) result;
}

/*
 * pg_fib_mpz_to_numeric returns value as a numeric allocated in the current
 * memory context, through GMP's raw base-100 digits: two of them make one
 * base-10000 digit.
 */
Numeric
pg_fib_mpz_to_numeric(const mpz_t value)
{
	size_t		nlimbs = mpz_size(value);
	unsigned char *str;
	mp_limb_t  *scratch;
	size_t		len;
	size_t		start;
	size_t		ndigits;
	FibDigit   *digits;
	size_t		i;
	size_t		j;
	Numeric		result;

	if (nlimbs == 0)
		return pg_fib_digits_to_numeric(NULL, 0, false);

	/*
	 * mpn_get_str clobbers its input and wants room for the largest value of
	 * nlimbs limbs plus one: each base-100 digit carries more than 6 bits.
	 */
	scratch = palloc(nlimbs * sizeof(mp_limb_t));
	memcpy(scratch, mpz_limbs_read(value), nlimbs * sizeof(mp_limb_t));
	str = palloc(nlimbs * GMP_NUMB_BITS / 6 + 2);
	len = mpn_get_str(str, 100, scratch, (mp_size_t) nlimbs);
	pfree(scratch);

	for (start = 0; start < len && str[start] == 0; start++)
		;
	Assert(start < len);

	/* An odd count of base-100 digits leaves the leading digit alone. */
	ndigits = (len - start + 1) / 2;
	digits = palloc(ndigits * sizeof(FibDigit));
	i = start;
	j = 0;
	if ((len - start) % 2 == 1)
		digits[j++] = str[i++];
	for (; j < ndigits; j++, i += 2)
		digits[j] = (FibDigit) (str[i] * 100 + str[i + 1]);
	pfree(str);

	result = pg_fib_digits_to_numeric(digits, ndigits, mpz_sgn(value) < 0);
	pfree(digits);
	return result;
}
