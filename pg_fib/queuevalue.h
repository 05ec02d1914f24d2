/*-------------------------------------------------------------------------
 *
 * queuevalue.h
 *	  The memo's value format: |F(n)| as base-10000 digits in a bytea, a
 *	  leaf that the memo's readers (queuememo.c) and the queue's statements
 *	  (queuejobs.c) both use.
 *
 * IDENTIFICATION
 *	  pg_fib/queuevalue.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUEUEVALUE_H
#define QUEUEVALUE_H

#include "fib.h"

/* queuevalue.c */
extern bytea *pg_fib_digits_to_bytea(const FibDigit *digits, size_t ndigits);
extern FibDigit *pg_fib_bytea_to_digits(bytea *value, uint64 absn, size_t *ndigits);

#endif							/* QUEUEVALUE_H */
