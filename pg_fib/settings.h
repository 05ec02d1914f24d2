/*-------------------------------------------------------------------------
 *
 * settings.h
 *	  The configuration variables pg_fib.*, named after their settings.
 *
 * IDENTIFICATION
 *	  pg_fib/settings.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SETTINGS_H
#define SETTINGS_H

/* The most compute workers pg_fib.workers may ask for. */
#define PG_FIB_MAX_WORKERS		32

/* settings.c */
extern int	pg_fib_max_n;
extern int	pg_fib_sync_max_n;
extern int	pg_fib_memo_min_n;
extern int	pg_fib_workers;
extern char *pg_fib_database;
extern int	pg_fib_max_queued;
extern int	pg_fib_max_queued_per_role;
extern int	pg_fib_max_queued_per_requester;
extern int	pg_fib_max_attempts;
extern int	pg_fib_job_retention;
extern int	pg_fib_memo_max_size;
extern void pg_fib_settings_init(void);

#endif							/* SETTINGS_H */
