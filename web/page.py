"""The page, GET /: a GET form that works without JavaScript (/?n=32 renders
the answer on the server); web/static/fib.js improves it in place and
renders the same states from the JSON API, so that a result looks and
behaves the same however it was reached.  For an n beyond the role's
pg_fib.max_n it shows the digit count and the leading and trailing digits
(/about) beside the refusal.  A second form shows a run of values as a
table (/?from=0&to=100, web.series: the API's pages, with a link to the
next), rendered on the server (templates/_range.html).  Also /favicon.ico,
which browsers ask for whatever the page links."""

import psycopg
import psycopg_pool
from flask import (Blueprint, current_app, render_template, request, send_from_directory,
                   url_for)
from markupsafe import Markup, escape

from web import db, series
from web.inputs import parse_bigint
from web.problems import Problem, as_problem
from web.results import beyond_limit, check_done

bp = Blueprint("page", __name__)

# What /favicon.ico's answer may be kept for, by browsers and Nginx.
FAVICON_MAX_AGE = 86400


def digit_groups(text, first=None):
    """A decimal's digits in groups of three, for reading: the groups at odd
    places are wrapped in <span>, which web/static/fib.css spaces from its
    neighbours with generated spaces.  No character is added, so a copy of
    the text, by the Copy button or a selection, is the number itself.

    first: the length of the first group, when text is not a whole number
    (the leading digits of a longer one); by default the groups end at the
    last digit, as thousands do.  fib.js's digitGroups() builds the same."""
    sign = "-" if text.startswith("-") else ""
    digits = text[len(sign):]
    if first is None:
        first = len(digits) % 3 or 3
    groups = [digits[:first]] + [digits[i:i + 3] for i in range(first, len(digits), 3)]
    if not (digits.isascii() and digits.isdigit()):
        parts = [escape(sign)]
        for index, group in enumerate(groups):
            parts.append(Markup("<span>%s</span>") % group if index % 2 else escape(group))
        return Markup("").join(parts)
    # Digits need no escaping: joined as plain text, a value of 200,000
    # digits takes a tenth of the time a Markup per group did (the page
    # of /?n= is rendered per request).
    groups[1::2] = [f"<span>{group}</span>" for group in groups[1::2]]
    return Markup(sign + "".join(groups))


def leading_group(digits):
    """The length of the first group of the leading digits of a number of
    `digits` digits: its groups are the whole number's."""
    return int(digits) % 3 or 3


@bp.app_template_filter("grouped")
def _grouped(value):
    """An integer with thousands separators (digit counts, limits)."""
    return f"{int(value):,}"


@bp.app_template_global("digit_groups")
def _digit_groups(text, first=None):
    return digit_groups(text, first)


@bp.app_template_global("leading_group")
def _leading_group(digits):
    return leading_group(digits)


def _title(context):
    """The document's title: F(n) for a value or a job, the problem's title
    for an error (fib.js's title() says the same)."""
    if context["problem"] is not None:
        return f"Error: {context['problem'].title} · pg_fib"
    row = context["result"] or context["job"]
    if row is not None:
        return f"F({row['n']}) · pg_fib"
    return "pg_fib: Fibonacci numbers, exactly"


@bp.get("/")
def index():
    n_text = request.args.get("n")
    context = {"n_text": n_text or "", "result": None, "job": None, "problem": None,
               "about": None}
    status = 200
    if n_text is not None:
        try:
            n = parse_bigint(n_text)
            row = beyond_limit(n, db.value, current_app.config["VALUE_MAX_DIGITS"])
            if check_done(row):
                context["result"] = row
            else:
                context["job"] = row
                status = 202
        except Problem as problem:
            context["problem"] = problem
            if "about" in problem.extra:
                # beyond this role's pg_fib.max_n: say what can still be said
                try:
                    context["about"] = {**db.about(n), "n": n}
                except (psycopg.Error, psycopg_pool.PoolTimeout):
                    pass  # the refusal alone, then
        except (psycopg.Error, psycopg_pool.PoolTimeout) as error:
            context["problem"] = as_problem(error)
        if context["problem"] is not None:
            status = context["problem"].status
    context["run"] = _range(request.args.get("from"), request.args.get("to"))
    if status == 200 and context["run"]["problem"] is not None:
        status = context["run"]["problem"].status
    problem = context["problem"]
    # A problem with n itself (malformed, beyond the limit) marks the field
    # invalid and is read with it; one of the service's (503) is not n's.
    context["invalid"] = problem is not None and 400 <= problem.status < 500
    context["title"] = _title(context)
    response = current_app.make_response((render_template("index.html", **context), status))
    response.headers["Cache-Control"] = "no-store"
    return response


def _range(from_text, to_text):
    """The context of the range's form and table: the page of F(from) to
    F(to) that starts at from, the link to the next, or the problem."""
    context = {"from_text": from_text or "", "to_text": to_text or "", "rows": None,
               "next": None, "problem": None}
    if from_text is None and to_text is None:
        return context
    try:
        first = parse_bigint(from_text or "", "from")
        last = parse_bigint(to_text or "", "to")
        series.check_order(first, last)
        context["rows"], next_first = series.page(
            first, last, int(current_app.config["VALUE_MAX_DIGITS"]),
            lambda n: url_for("api.fib_about", n=str(n)))
        if next_first is not None:
            context["next"] = url_for("page.index", **{"from": next_first, "to": last})
    except Problem as problem:
        context["problem"] = problem
    except (psycopg.Error, psycopg_pool.PoolTimeout) as error:
        context["problem"] = as_problem(error)
    return context


@bp.get("/favicon.ico")
def favicon():
    """The icon browsers ask for at this fixed path (the page links the SVG
    one, web/static/favicon.svg; this is the same drawing as an ICO)."""
    return send_from_directory(current_app.static_folder, "favicon.ico",
                               max_age=FAVICON_MAX_AGE)
