"""The page, GET /: a GET form that works without JavaScript (/?n=32 renders
the answer on the server); web/static/fib.js improves it in place.  For an n
beyond the role's pg_fib.max_n it shows the digit count and the leading and
trailing digits (/about) beside the refusal.  A second form shows a run of
values as a table (/?from=0&to=100, web.series: the API's pages, with a link
to the next), rendered on the server (templates/_range.html)."""

import psycopg
import psycopg_pool
from flask import Blueprint, current_app, render_template, request, url_for

from web import db, series
from web.inputs import parse_bigint
from web.problems import Problem, as_problem
from web.results import beyond_limit, check_done

bp = Blueprint("page", __name__)


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
                    context["about"] = db.about(n)
                except (psycopg.Error, psycopg_pool.PoolTimeout):
                    pass  # the refusal alone, then
        except (psycopg.Error, psycopg_pool.PoolTimeout) as error:
            context["problem"] = as_problem(error)
        if context["problem"] is not None:
            status = context["problem"].status
    context["run"] = _range(request.args.get("from"), request.args.get("to"))
    if status == 200 and context["run"]["problem"] is not None:
        status = context["run"]["problem"].status
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
