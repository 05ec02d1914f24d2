"""What a row of the database means to any route (the API, the page and the
old stack's routes share these): a job done, queued or failed, and the
refusal of an n beyond the limit, told with what can still be asked."""

import psycopg
from flask import current_app, jsonify, url_for

from web import db
from web.problems import as_problem, job_failed

# A Fibonacci number never changes: its 200 responses are cached for a year.
IMMUTABLE = "public, max-age=31536000, immutable"
# A job is polled: never cache its state.
NO_STORE = "no-store"
# A queued job is worth asking about again after this many seconds.
POLL_SECONDS = "1"


def etag_of(*parts):
    """A strong ETag (without its quotes): the value never changes, so its
    name is enough."""
    return ".".join(str(p) for p in parts)


def value_body(n, row, digits_url):
    """The JSON of a done row of F(n): the value, or beyond the digits the
    route gives whole, its ends and where the whole is (digits_url)."""
    body = {"n": str(n), "digits": str(row["digits"]), "negative": row["negative"],
            "source": row["source"]}
    if row["value"] is not None:
        body["value"] = row["value"]
    else:
        body["leading"] = row["leading"]
        body["trailing"] = row["trailing"]
        body["value_url"] = digits_url
    return body


def queued_body(row):
    """The JSON of a job that is queued or running."""
    return {"n": str(row["n"]), "state": row["state"], "progress": row["progress"]}


def queued_response(row):
    """202 for a job that is queued or running."""
    response = jsonify(queued_body(row))
    response.status_code = 202
    response.headers["Location"] = url_for("api.fib_job", n=str(row["n"]))
    response.headers["Retry-After"] = POLL_SECONDS
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
    except psycopg.errors.ProgramLimitExceeded as error:
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
