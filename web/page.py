"""The page, GET /: a GET form that works without JavaScript (/?n=32 renders
the answer on the server); web/static/fib.js improves it in place.  For an n
beyond the role's pg_fib.max_n it shows the digit count and the leading and
trailing digits (/about) beside the refusal."""

import psycopg
import psycopg_pool
from flask import Blueprint, current_app, render_template, request

from web import db
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
    response = current_app.make_response((render_template("index.html", **context), status))
    response.headers["Cache-Control"] = "no-store"
    return response
