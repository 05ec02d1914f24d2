# Makefile for pg_fib: the PGXS build of the extension, then the project's
# own targets (test, bench), which call scripts in deploy/, test/ and bench/.

EXTENSION = pg_fib
EXTVERSION = 1.1

MODULE_big = pg_fib
# One line per subsystem, from the bottom layer up (pg_fib/pg_fib.h maps them):
# the arithmetic (fib*), the settings, the queue (queue*), the SQL-callable
# functions (sql*).
OBJS = \
	pg_fib/fibcore.o pg_fib/fibdecimal.o pg_fib/fibnumeric.o pg_fib/fibmod.o \
	pg_fib/fibdigits.o pg_fib/fibabout.o \
	pg_fib/settings.o \
	pg_fib/queuestate.o pg_fib/queuevalue.o pg_fib/queueshmem.o \
	pg_fib/queuerequest.o pg_fib/queuememo.o pg_fib/queuejobs.o \
	pg_fib/queuefair.o pg_fib/queuebgworker.o pg_fib/queuekeeper.o \
	pg_fib/queueworker.o \
	pg_fib/sqlfib.o pg_fib/sqlseries.o pg_fib/sqljobs.o pg_fib/sqlabout.o \
	pg_fib/pg_fib.o

# PostgreSQL contrib's way: a base install script (pg_fib--1.0.sql) and an
# upgrade script per version bump, each object written once; CREATE
# EXTENSION of the current version runs the base script and then the chain.
DATA = $(wildcard sql/pg_fib--*.sql)

SHLIB_LINK += -lmpfr -lgmp
# The keeper and the workers write only to the tables of the SQL objects of
# their own version: EXTVERSION names it.
PG_CPPFLAGS += -I$(srcdir)/pg_fib -DPG_FIB_VERSION=\"$(EXTVERSION)\"
# Warnings are errors under "make WERROR=1", as "make test" builds.  PostgreSQL's
# own headers do not build cleanly with -Wunused-parameter and
# -Wsign-compare, so those two stay off.
PG_CFLAGS += -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare
ifdef WERROR
PG_CFLAGS += -Werror
endif

# pg_regress and pg_isolation_regress find their tests by wildcard: adding a
# test is adding a file.  They run against the server test/run-tests.sh
# starts (PGHOST, PGPORT), in databases of their own where no pg_fib worker
# runs, except the specs named queue_*.spec: those drive the keeper and the
# compute workers, so "make installcheck-queue" runs them in the workers'
# database (PG_FIB_DATABASE, pg_fib.database), as it is (it must not have
# pg_fib yet: each spec creates and drops it).
REGRESS = $(patsubst test/sql/%.sql,%,$(sort $(wildcard test/sql/*.sql)))
REGRESS_OPTS = --inputdir=test --outputdir=test/results
QUEUE_SPECS = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/queue_*.spec)))
ISOLATION = $(filter-out $(QUEUE_SPECS),$(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test --outputdir=test/output_iso
PG_FIB_DATABASE ?= postgres

EXTRA_CLEAN = test/results test/output_iso test/output_iso_queue test/regression.diffs test/regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifeq ($(MAKECMDGOALS),check)
# "make check" alone reads no PGXS: test/run-tests.sh builds and installs
# through makes of its own, and PGXS's own "check" (unsupported outside
# PostgreSQL's source tree) would be overridden here with a warning.
else ifneq ($(wildcard $(PGXS)),)
include $(PGXS)

# An install script of the current version that an older tree installed
# would take precedence over the chain: install removes it.
.PHONY: install-remove-stale
install: install-remove-stale
install-remove-stale:
	rm -f '$(DESTDIR)$(datadir)/extension/$(EXTENSION)--$(EXTVERSION).sql'
else
# On a machine without postgresql-server-dev-15 yet, only the project
# targets work: "make test" installs it (deploy/install-deps.sh) and then
# builds through a make that finds PGXS.
all install installcheck:
	@echo "PGXS not found (is postgresql-server-dev-15 installed?): run deploy/install-deps.sh, or make test" >&2
	@exit 1
endif

.PHONY: test check bench bench-about bench-series bench-versions installcheck-queue layout-check

# layout-check prints which C file uses which and which includes which, and
# fails on a circle, a file using a layer above its own, or a function used
# in one file only that is not static (test/python/test_layout.py, which
# "make test" also runs).
layout-check:
	/usr/bin/python3 test/python/test_layout.py

# installcheck-queue runs the queue_*.spec isolation specs in the workers'
# database; test/run-tests.sh calls it after installcheck.
installcheck-queue:
	$(pg_isolation_regress_installcheck) --inputdir=test --outputdir=test/output_iso_queue \
		--dbname=$(PG_FIB_DATABASE) --use-existing $(QUEUE_SPECS)

# test runs every suite against a throwaway cluster; check runs the fast
# loop (pg_regress, isolation, the Python value suites and the API suite).
# See test/run-tests.sh.  check is defined only when asked for, so that
# other goals do not override PGXS's rule of that name.
test:
	PG_CONFIG=$(PG_CONFIG) test/run-tests.sh

ifneq ($(filter check,$(MAKECMDGOALS)),)
check:
	PG_CONFIG=$(PG_CONFIG) test/run-tests.sh check
endif

# bench runs the benchmarks side by side: bench/run.sh (fib() beside GMP
# and pgmp), bench/queue.sh (the queue and the memo), bench/about.sh
# (fib_digits, fib_leading, fib_trailing), then bench/series.sh
# (fib_series against fib(n) per row and pgmp).
bench:
	PG_CONFIG=$(PG_CONFIG) bench/run.sh
	PG_CONFIG=$(PG_CONFIG) bench/queue.sh
	PG_CONFIG=$(PG_CONFIG) bench/about.sh
	PG_CONFIG=$(PG_CONFIG) bench/series.sh

# bench-about runs bench/about.sh alone.
bench-about:
	PG_CONFIG=$(PG_CONFIG) bench/about.sh

# bench-series runs bench/series.sh alone.
bench-series:
	PG_CONFIG=$(PG_CONFIG) bench/series.sh

# bench-versions compares the memo-hit path of this tree with the 1.0
# release (or BASE=<rev>), side by side; see bench/versions.sh.
bench-versions:
	PG_CONFIG=$(PG_CONFIG) bench/versions.sh $(BASE)

.PHONY: run stop status audit bench-web bench-web-profile soak

# run starts the whole stack on loopback (PostgreSQL; Gunicorn and Nginx
# under supervisord) and prints its URL, quietly (details in run/*.log);
# stop stops it; status says what runs.  See deploy/run.sh.
run:
	@PG_CONFIG=$(PG_CONFIG) deploy/run.sh start

stop:
	@PG_CONFIG=$(PG_CONFIG) deploy/run.sh stop

status:
	@PG_CONFIG=$(PG_CONFIG) deploy/run.sh status || true

# audit starts the stack as run does (harmless when it runs) and runs
# Lighthouse in Debian's chromium against the page, at phone and desktop
# sizes, printing the four scores of each (deploy/audit.sh).
audit: run
	deploy/audit.sh

# bench-web measures the web front through Nginx with wrk against a bare
# Flask route and the old stack's replica, then where the time of one
# request goes (bench/web.sh; ALTERNATIVES=1 and WORKER_CLASSES=1 add
# variants); bench-web-profile runs only the latter (bench/web_profile.py).
bench-web:
	PG_CONFIG=$(PG_CONFIG) bench/web.sh

bench-web-profile:
	PG_CONFIG=$(PG_CONFIG) bench/web.sh profile

# soak runs the load mix for ten minutes and plots the memory of every
# process (bench/soak.py); not part of "make test".
soak:
	PG_CONFIG=$(PG_CONFIG) bench/soak.sh
