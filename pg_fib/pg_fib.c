/*-------------------------------------------------------------------------
 *
 * pg_fib.c
 *	  Entry point of the pg_fib extension.
 *
 * pg_fib must be loaded through shared_preload_libraries: it keeps shared
 * memory and starts background workers.  _PG_init checks that, then only
 * asks each module to set itself up.
 *
 * IDENTIFICATION
 *	  pg_fib/pg_fib.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "settings.h"
#include "queue.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * _PG_init is called when the library is loaded.
 */
void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_fib can only be loaded via shared_preload_libraries"),
				 errhint("Add pg_fib to the shared_preload_libraries configuration variable in postgresql.conf, then restart the server.")));

	pg_fib_settings_init();
	pg_fib_shmem_init();
	pg_fib_register_workers();
}
