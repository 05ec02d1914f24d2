/*-------------------------------------------------------------------------
 *
 * fibmod.c
 *	  F(n) modulo m in machine integers.
 *
 * The doubling formulas reduce F(n) mod m to about 64 steps for any bigint
 * n.  Every operand is below m <= 2^63 - 1, so sums of two fit in 64 bits
 * and every product is taken in 128 bits before its reduction: nothing can
 * overflow, and nothing is allocated.
 *
 * IDENTIFICATION
 *	  pg_fib/fibmod.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fib.h"

/* fib_mulmod returns a * b mod m through a 128-bit product. */
static inline uint64
fib_mulmod(uint64 a, uint64 b, uint64 m)
{
	return (uint64) (((uint128) a * b) % m);
}

/*
 * pg_fib_mod_abs returns F(absn) mod m, in [0, m), for any absn and any
 * 1 <= m <= 2^63 - 1.  It walks the bits of absn from the top keeping
 * (a, b) = (F(k), F(k+1)) mod m:
 *	 F(2k)	 = F(k) (2 F(k+1) - F(k))
 *	 F(2k+1) = F(k)^2 + F(k+1)^2
 */
uint64
pg_fib_mod_abs(uint64 absn, uint64 m)
{
	uint64		a = 0;
	uint64		b = 1 % m;
	int			bit;

	Assert(m >= 1 && m <= (uint64) PG_INT64_MAX);

	for (bit = 63; bit >= 0; bit--)
	{
		uint64		twice_b = (2 * b) % m;
		uint64		c = fib_mulmod(a, (twice_b + m - a) % m, m);
		uint64		d = (fib_mulmod(a, a, m) + fib_mulmod(b, b, m)) % m;

		if ((absn >> bit) & 1)
		{
			a = d;
			b = (c + d) % m;
		}
		else
		{
			a = c;
			b = d;
		}
	}
	return a;
}

/*
 * pg_fib_mod returns F(n) mod m, in [0, m), for any n and any
 * 1 <= m <= 2^63 - 1, applying F(-k) = (-1)^(k+1) F(k) for negative n.
 */
uint64
pg_fib_mod(int64 n, uint64 m)
{
	uint64		a = pg_fib_mod_abs(pg_fib_abs(n), m);

	if (pg_fib_fib_is_negative(n) && a != 0)
		a = m - a;
	return a;
}
