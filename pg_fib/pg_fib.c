/*-------------------------------------------------------------------------
 *
 * pg_fib.c
 *	  Entry point of the pg_fib extension.
 *
 * _PG_init only asks each module to set itself up.
 *
 * IDENTIFICATION
 *	  pg_fib/pg_fib.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "pg_fib.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * _PG_init is called when the library is loaded.
 */
void
_PG_init(void)
{
	pg_fib_settings_init();
}
