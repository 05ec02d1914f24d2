"""Runs of consecutive values, F(from) to F(to), a page at a time: what the
API's /api/v1/fib?from=&to= and the page's table share.

A page holds at most PAGE_SIZE values and at most max_digits digits in all
(FIB_WEB_VALUE_MAX_DIGITS, the most the API gives of one value whole), and
always its first value, so that following the pages always ends.  Every
value is given whole: the largest a run can hold, F(627177), has 131,067
digits, within the default budget.  The run is pg_fib's fib_series, which
refuses an endpoint that fib(n) would refuse: beyond the role's pg_fib.max_n
(54000) or beyond numeric's range (22003).  A range with an endpoint beyond
is refused whole, before any value: a client learns at the first page, not
the last, that it cannot have the run.
"""

import psycopg

from web import db
from web.problems import Problem, as_problem

# Values per page.
PAGE_SIZE = 1000
# The largest |n| whose F(n) PostgreSQL's numeric holds (fib_series refuses
# beyond it with 22003; the single values, text, go further).
NUMERIC_MAX_N = 627177


def check_order(first, last):
    """The 422 of a range with no n in it."""
    if first > last:
        raise Problem(422, "Empty range", f"from = {first} is greater than to = {last}: the "
                      "range holds no n. Ask with from <= to (from = to gives one value).",
                      slug="empty-range", parameter="from")


def page(first, last, max_digits, about_url):
    """The rows (n, value) of the page of F(first), ..., F(last) that starts
    at first, and the from of the next page (None at the end).
    about_url(n) is the URL of /api/v1/fib/<n>/about, linked from the
    refusal of an endpoint beyond the limit."""
    stop = min(last, first + PAGE_SIZE - 1)
    try:
        rows = db.series(first, last, stop, max_digits)
    except (psycopg.errors.ProgramLimitExceeded, psycopg.errors.NumericValueOutOfRange) as error:
        raise _beyond(first, last, error, about_url) from error
    end = rows[-1]["n"]
    return rows, (end + 1 if end < last else None)


def _beyond(first, last, error, about_url):
    """The refusal of a range with an endpoint beyond the limit: 54000
    (the role's pg_fib.max_n) or 22003 (numeric's range), with the limit of
    runs, the endpoint beyond it, and what can still be said of its F(n)."""
    problem = as_problem(error)
    limit = NUMERIC_MAX_N
    if isinstance(error, psycopg.errors.ProgramLimitExceeded):
        try:
            limit = min(limit, db.about(first)["max_n"])
        except psycopg.Error:
            return problem  # the refusal without the limit, then
    name, n = ("from", first) if abs(first) > limit else ("to", last)
    about = about_url(n)
    problem.detail = (f"Runs of F(n) are given for |n| up to {limit:,}, and {name} = {n} is "
                      f"beyond. {about} gives the number of digits of F({n}) and its first "
                      f"and last digits.")
    problem.extra.update(parameter=name, about=about, max_n=str(limit))
    return problem
