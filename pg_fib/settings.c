/*-------------------------------------------------------------------------
 *
 * settings.c
 *	  The configuration variables of pg_fib.
 *
 * Every setting lives under the reserved "pg_fib" prefix.  pg_fib.max_n
 * bounds the memory and time one computation may take, so only a superuser
 * may change it: a role that may call fib() must not be able to raise it.
 *
 * IDENTIFICATION
 *	  pg_fib/settings.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "pg_fib.h"

/*
 * The largest |n| that any pg_fib function computing F(n) accepts.  At the
 * default, 10^8, the whole computation of F(n) takes about 0.4 s and its
 * decimal conversion about 2.5 s on a 2-core machine; the largest single GMP
 * operation takes about 0.4 s, which keeps a cancel within 1 s.  At 3 * 10^8
 * that one operation already takes 1.4 s.
 */
int			pg_fib_max_n = 100000000;

/*
 * pg_fib_settings_init defines pg_fib's configuration variables and reserves
 * their prefix, so that a misspelled pg_fib.* setting is reported.
 */
void
pg_fib_settings_init(void)
{
	DefineCustomIntVariable("pg_fib.max_n",
							"Largest |n| for which pg_fib computes F(n).",
							"A larger n is refused before anything is allocated. "
							"fib_mod() is not bound by it: it allocates nothing.",
							&pg_fib_max_n,
							100000000,
							0,
							INT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("pg_fib");
}
