"""What a row of the database means to any route (the API, the page and the
old stack's routes share these): a job done, queued or failed, and the
refusal of an n beyond the limit, told with what can still be asked."""

import psycopg
from flask import current_app, jsonify, url_for

from web import db
from web.problems import Problem, as_problem, job_failed

# A job is polled: never cache its state.
NO_STORE = "no-store"


def queued_response(row):
    """202 for a job that is queued or running."""
    response = jsonify({"n": str(row["n"]), "state": row["state"], "progress": row["progress"]})
    response.status_code = 202
    response.headers["Location"] = url_for("api.fib_job", n=str(row["n"]))
    response.headers["Retry-After"] = "1"
    response.headers["Cache-Control"] = NO_STORE
    return response


def check_done(row):
    """Raise the problem of a failed job; True when the row is done."""
    if row["state"] == "failed":
        raise job_failed(row, int(current_app.config["FAILED_JOB_RETRY_SECONDS"]),
                         url_for("api.fib_job", n=str(row["n"])))
    return row["state"] == "done"


def beyond_limit(n, query, *args):
    """query(n, *args), whose refusal of an n beyond the role's pg_fib.max_n
    (54000) says the limit and links to what can still be said of F(n):
    its /about (digit count, first and last digits) and /mod/<m>."""
    try:
        return query(n, *args)
    except psycopg.Error as error:
        if error.sqlstate != "54000":
            raise
        problem = as_problem(error)
        about_url = url_for("api.fib_about", n=str(n))
        problem.extra["about"] = about_url
        try:
            max_n = db.about(n)["max_n"]
        except psycopg.Error:
            raise problem from error  # the refusal without the limit, then
        problem.detail = (f"F(n) is computed here for |n| up to {max_n:,}. For n = {n}, "
                          f"{about_url} gives the number of digits of F(n) and its first and "
                          f"last digits, and /api/v1/fib/{n}/mod/<m> gives F(n) modulo m.")
        problem.extra["max_n"] = str(max_n)
        raise problem from error
