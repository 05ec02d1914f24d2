/*-------------------------------------------------------------------------
 *
 * settings.c
 *	  The configuration variables of pg_fib.
 *
 * Every setting lives under the reserved "pg_fib" prefix.  The limits on
 * what a query may compute (max_n, sync_max_n, memo_min_n) are PGC_SUSET:
 * a role allowed to call the functions must not be able to raise them.
 * What the background workers are and where they connect is fixed at
 * server start (PGC_POSTMASTER); the upkeep settings apply at a reload
 * (PGC_SIGHUP).  pg_fib.max_queued_per_requester is the one any session
 * may set (PGC_USERSET): it only divides the share of the session's role,
 * which still bounds it, among the requesters the session names.
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
 * default, 10^8, the computation of F(n) takes about 0.4 s and its decimal
 * conversion about 2.7 s on a 2-core machine; the largest single GMP
 * operation takes about 0.4 s, which keeps a cancel within 1 s.  At 3 * 10^8
 * that one operation already takes 1.4 s.
 */
int			pg_fib_max_n = 100000000;

/*
 * The largest |n| computed inside the caller's query; larger ones go to the
 * queue.  At the default, computing F(n) and its decimal text takes about
 * 35 ms on a 2-core machine (20 ms at 2 * 10^6, 50 ms near 4 * 10^6).
 */
int			pg_fib_sync_max_n = 3000000;

/*
 * The smallest |n| worth a memo row: below it, computing F(n) is as fast as
 * looking it up.  Measured per call in the server (bench/queue.sh): a memo
 * hit costs about 1.7 us up to n = 10000 (7.5 us at 627177, copying more
 * digits); computing costs 1.6 us at n = 3000, 3.1 us at 5000 and 8 us at
 * 10000.
 */
int			pg_fib_memo_min_n = 5000;

/* How many compute workers to start, and in which database they work. */
int			pg_fib_workers = 1;
char	   *pg_fib_database = NULL;

/*
 * The most jobs that may wait in the queue: beyond it fib_request() of a new
 * n is refused, so that no role can queue work without bound.
 */
int			pg_fib_max_queued = 10000;

/*
 * The most jobs one role may have queued or running at once, so that no
 * role can fill the queue for everyone.  The caller's own value applies:
 * ALTER ROLE ... SET gives each role its share.
 */
int			pg_fib_max_queued_per_role = 1000;

/*
 * The most jobs one requester of a role (fib_request(n, requester)) may
 * have queued or running at once.  The default, 10, lets a client ask for a
 * few large values at once (a page, a script), while one client holds at
 * most 1% of the role's default share: a hundred clients at their bound
 * are needed to fill it.  The calling session's value applies; the web
 * front sets it per connection.
 */
int			pg_fib_max_queued_per_requester = 10;

/* How many times a job is tried before it ends "failed". */
int			pg_fib_max_attempts = 3;

/* How long finished jobs are kept, in seconds. */
int			pg_fib_job_retention = 7 * 24 * 3600;

/*
 * The most the memo's values may take, in kilobytes (a memory-unit
 * setting: '1GB').  The keeper evicts beyond it by itself.
 */
int			pg_fib_memo_max_size = 1024 * 1024;

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
							100000000, 0, INT_MAX,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_fib.sync_max_n",
							"Largest |n| for which F(n) is computed inside the caller's query.",
							"F(n) for a larger n comes from the memo, or is computed "
							"by a background worker after fib_request(n).",
							&pg_fib_sync_max_n,
							3000000, 0, INT_MAX,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_fib.memo_min_n",
							"Smallest |n| whose F(n) is worth a row in the memo.",
							NULL,
							&pg_fib_memo_min_n,
							5000, 0, INT_MAX,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_fib.workers",
							"Number of pg_fib background workers that compute queued jobs.",
							NULL,
							&pg_fib_workers,
							1, 0, PG_FIB_MAX_WORKERS,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("pg_fib.database",
							   "Database in which the pg_fib workers keep the queue and the memo.",
							   NULL,
							   &pg_fib_database,
							   "postgres",
							   PGC_POSTMASTER, 0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("pg_fib.max_queued",
							"Most jobs that may wait in the queue.",
							"Beyond it, fib_request() of a new n is refused until the queue drains.",
							&pg_fib_max_queued,
							10000, 0, INT_MAX,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_fib.max_queued_per_role",
							"Most jobs one role may have queued or running at once.",
							"Beyond it, fib_request() of a new n by that role is refused "
							"until its jobs end.  Set it per role with ALTER ROLE ... SET.",
							&pg_fib_max_queued_per_role,
							1000, 0, INT_MAX,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_fib.max_queued_per_requester",
							"Most jobs one requester of a role may have queued or running at once.",
							"Beyond it, fib_request(n, requester) of a new n for that requester "
							"is refused until its jobs end.  The role's share "
							"(pg_fib.max_queued_per_role) still applies.",
							&pg_fib_max_queued_per_requester,
							10, 0, INT_MAX,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_fib.max_attempts",
							"Number of times a job is tried before it ends failed.",
							NULL,
							&pg_fib_max_attempts,
							3, 1, 100,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_fib.job_retention",
							"How long fib_maintain() keeps finished jobs.",
							NULL,
							&pg_fib_job_retention,
							7 * 24 * 3600, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_fib.memo_max_size",
							"Most space the memo's values may take.",
							"The keeper evicts the values worth least per byte beyond it.",
							&pg_fib_memo_max_size,
							1024 * 1024, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_KB,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("pg_fib");
}
