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

#include "settings.h"

/*
 * Each setting's default is defined once, here, and used both as the
 * variable's initial value (what a library loaded without
 * shared_preload_libraries sees before _PG_init) and as the setting's boot
 * value.  Why each default is what it is, with the figures measured for it,
 * is written once too: in README.md's Settings table, which
 * test/python/test_settings.py compares with pg_settings.
 */
#define PG_FIB_MAX_N_DEFAULT						100000000
#define PG_FIB_SYNC_MAX_N_DEFAULT					3000000
#define PG_FIB_MEMO_MIN_N_DEFAULT					5000
#define PG_FIB_WORKERS_DEFAULT						1
#define PG_FIB_DATABASE_DEFAULT						"postgres"
#define PG_FIB_MAX_QUEUED_DEFAULT					10000
#define PG_FIB_MAX_QUEUED_PER_ROLE_DEFAULT			1000
#define PG_FIB_MAX_QUEUED_PER_REQUESTER_DEFAULT		10
#define PG_FIB_MAX_ATTEMPTS_DEFAULT					3
#define PG_FIB_JOB_RETENTION_DEFAULT				(7 * 24 * 3600) /* s */
#define PG_FIB_MEMO_MAX_SIZE_DEFAULT				(1024 * 1024)	/* kB */

/* The largest |n| that any pg_fib function computing F(n) accepts. */
int			pg_fib_max_n = PG_FIB_MAX_N_DEFAULT;

/*
 * The largest |n| computed inside the caller's query; larger ones go to the
 * queue.
 */
int			pg_fib_sync_max_n = PG_FIB_SYNC_MAX_N_DEFAULT;

/*
 * The smallest |n| worth a memo row: below it, computing F(n) is as fast as
 * looking it up.
 */
int			pg_fib_memo_min_n = PG_FIB_MEMO_MIN_N_DEFAULT;

/*
 * How many compute workers to start, and in which database they work
 * (a string setting's variable is set by DefineCustomStringVariable).
 */
int			pg_fib_workers = PG_FIB_WORKERS_DEFAULT;
char	   *pg_fib_database = NULL;

/*
 * The most jobs that may wait in the queue: beyond it fib_request() of a new
 * n is refused, so that no role can queue work without bound.
 */
int			pg_fib_max_queued = PG_FIB_MAX_QUEUED_DEFAULT;

/*
 * The most jobs one role may have queued or running at once, so that no
 * role can fill the queue for everyone.  The caller's own value applies:
 * ALTER ROLE ... SET gives each role its share.
 */
int			pg_fib_max_queued_per_role = PG_FIB_MAX_QUEUED_PER_ROLE_DEFAULT;

/*
 * The most jobs one requester of a role (fib_request(n, requester)) may
 * have queued or running at once.  The calling session's value applies;
 * the web front sets it per connection.
 */
int			pg_fib_max_queued_per_requester = PG_FIB_MAX_QUEUED_PER_REQUESTER_DEFAULT;

/* How many times a job is tried before it ends "failed". */
int			pg_fib_max_attempts = PG_FIB_MAX_ATTEMPTS_DEFAULT;

/* How long finished jobs are kept, in seconds. */
int			pg_fib_job_retention = PG_FIB_JOB_RETENTION_DEFAULT;

/*
 * The most the memo's values may take, in kilobytes (a memory-unit
 * setting: '1GB').  The keeper evicts beyond it by itself.
 */
int			pg_fib_memo_max_size = PG_FIB_MEMO_MAX_SIZE_DEFAULT;

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
							PG_FIB_MAX_N_DEFAULT, 0, INT_MAX,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_fib.sync_max_n",
							"Largest |n| for which F(n) is computed inside the caller's query.",
							"F(n) for a larger n comes from the memo, or is computed "
							"by a background worker after fib_request(n).",
							&pg_fib_sync_max_n,
							PG_FIB_SYNC_MAX_N_DEFAULT, 0, INT_MAX,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_fib.memo_min_n",
							"Smallest |n| whose F(n) is worth a row in the memo.",
							NULL,
							&pg_fib_memo_min_n,
							PG_FIB_MEMO_MIN_N_DEFAULT, 0, INT_MAX,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_fib.workers",
							"Number of pg_fib background workers that compute queued jobs.",
							NULL,
							&pg_fib_workers,
							PG_FIB_WORKERS_DEFAULT, 0, PG_FIB_MAX_WORKERS,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("pg_fib.database",
							   "Database in which the pg_fib workers keep the queue and the memo.",
							   NULL,
							   &pg_fib_database,
							   PG_FIB_DATABASE_DEFAULT,
							   PGC_POSTMASTER, 0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("pg_fib.max_queued",
							"Most jobs that may wait in the queue.",
							"Beyond it, fib_request() of a new n is refused until the queue drains.",
							&pg_fib_max_queued,
							PG_FIB_MAX_QUEUED_DEFAULT, 0, INT_MAX,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_fib.max_queued_per_role",
							"Most jobs one role may have queued or running at once.",
							"Beyond it, fib_request() of a new n by that role is refused "
							"until its jobs end.  Set it per role with ALTER ROLE ... SET.",
							&pg_fib_max_queued_per_role,
							PG_FIB_MAX_QUEUED_PER_ROLE_DEFAULT, 0, INT_MAX,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_fib.max_queued_per_requester",
							"Most jobs one requester of a role may have queued or running at once.",
							"Beyond it, fib_request(n, requester) of a new n for that requester "
							"is refused until its jobs end.  The role's share "
							"(pg_fib.max_queued_per_role) still applies.",
							&pg_fib_max_queued_per_requester,
							PG_FIB_MAX_QUEUED_PER_REQUESTER_DEFAULT, 0, INT_MAX,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_fib.max_attempts",
							"Number of times a job is tried before it ends failed.",
							NULL,
							&pg_fib_max_attempts,
							PG_FIB_MAX_ATTEMPTS_DEFAULT, 1, 100,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_fib.job_retention",
							"How long fib_maintain() keeps finished jobs.",
							NULL,
							&pg_fib_job_retention,
							PG_FIB_JOB_RETENTION_DEFAULT, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_fib.memo_max_size",
							"Most space the memo's values may take.",
							"The keeper evicts the values worth least per byte beyond it.",
							&pg_fib_memo_max_size,
							PG_FIB_MEMO_MAX_SIZE_DEFAULT, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_KB,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("pg_fib");
}
