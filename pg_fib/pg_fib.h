/*-------------------------------------------------------------------------
 *
 * pg_fib.h
 *	  The map of the pg_fib extension's modules.
 *
 * pg_fib computes exact Fibonacci numbers inside PostgreSQL on GMP.  The C
 * files sit in one flat folder, grouped by the subsystem they belong to,
 * which their name's prefix says; each subsystem has one header, and a file
 * can use a subsystem only by including its header, so a wrong dependency
 * is a compile error.  The layers, from the bottom:
 *
 * The arithmetic, fib*.c, header fib.h (knows nothing of shared memory,
 * the queue or the settings):
 *	 fibcore.c		the GMP arithmetic and its memory
 *	 fibdecimal.c	interruptible conversion to decimal, and text output
 *	 fibnumeric.c	conversion to numeric
 *	 fibmod.c		modular Fibonacci numbers in machine integers
 *	 fibdigits.c	addition and subtraction of base-10000 numbers in place
 *	 fibabout.c		the digit count, leading and trailing digits of F(n)
 *					for every n, without F(n)
 *
 * The settings, header settings.h:
 *	 settings.c		the configuration variables, their defaults defined once
 *
 * The queue, queue*.c, header queue.h (the two leaves queuestate.h and
 * queuevalue.h are what the memo's readers and the statements share):
 *	 queuestate.c	the job states and their names
 *	 queuevalue.c	the memo's value format: |F(n)| as base-10000 digits
 *	 queueshmem.c	shared memory: callers' request slots, hints for the
 *					keeper, the workers' state
 *	 queuerequest.c	a caller's side of a request to the keeper: post, wait,
 *					report
 *	 queuememo.c	reading the memo and the queue from a caller's query, by
 *					the tables' identity
 *	 queuejobs.c	every statement the keeper, the workers and
 *					fib_maintain() run on the tables
 *	 queuefair.c	the fair queue's start tags: the keeper's virtual
 *					clocks and each role's and requester's last turn
 *	 queuebgworker.c	what the keeper and the compute workers share:
 *					start-up, the transaction bracket, error recovery
 *	 queuekeeper.c	the keeper
 *	 queueworker.c	the compute workers
 *
 * The SQL-callable functions, sql*.c, header sqlfuncs.h:
 *	 sqlfib.c		fib() and fib_mod(), and the checks of n every caller runs
 *	 sqlseries.c	fib_series_values(): runs of consecutive F(n)
 *	 sqljobs.c		fib_text(), fib_request(), fib_status(), fib_wait(),
 *					fib_maintain() and the restore trigger
 *	 sqlabout.c		fib_digits(), fib_leading(), fib_trailing()
 *
 * pg_fib.c's _PG_init only calls each subsystem's initialisation.
 * "make layout-check" prints which file uses which and fails on a circle
 * (test/python/test_layout.py).
 *
 * IDENTIFICATION
 *	  pg_fib/pg_fib.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_FIB_H
#define PG_FIB_H

#include "settings.h"
#include "queue.h"

#endif							/* PG_FIB_H */
