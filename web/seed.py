"""The old stack's routes, kept for its clients, in its own sentences.

Where the old stack failed (n >= 47 overflowed its Integer column, negative
n gave 404, a duplicate row answered 500 forever), these answer correctly,
in the same sentences.  Errors are problem+json like everywhere else.
"""

from flask import Blueprint, Response, current_app, jsonify, request

from web import db
from web.inputs import parse_bigint
from web.problems import Problem
from web.results import check_done

bp = Blueprint("seed", __name__)

# The seed sentences carry the whole value, however long.
_WHOLE = 2 ** 62

IMPLEMENTATIONS = ("python", "rust", "c")


def _text(sentence):
    response = Response(sentence, mimetype="text/plain")
    # Whether F(n) was computed or came from the memo changes between two
    # requests: these sentences are not cached.
    response.headers["Cache-Control"] = "no-store"
    return response


def _lookup(n_text):
    n = parse_bigint(n_text)
    row = db.value(n, _WHOLE, db.SENTENCE)
    # v4 reports the time the database took, as it measured it.
    return n, row, row["db_seconds"], check_done(row)


@bp.get("/calculate/<n>")
def calculate(n):
    n, row, _, done = _lookup(n)
    if not done:
        # The old sentence said 30; ours names pg_fib.sync_max_n, as the
        # database reports it in the same query.
        return _text(f"calculate fib sent to queue because it's above {row['sync_max_n']}")
    existing = "an existing " if row["source"] == "memo" else "a "
    return _text(f"you entered {n} which has {existing}Fibonacci number of {row['value']}")


def _v2(n_text):
    n, row, seconds, done = _lookup(n_text)
    if not done:
        return n, None, seconds, (f"your entered number is: {n}, which is too large to "
                                  "calculate immediately, and has been sent to the queue")
    existing = "an existing " if row["source"] == "memo" else "a "
    return n, row, seconds, (f"your entered number is: {n}, which has {existing}"
                             f"fibonacci number of: {row['value']}")


@bp.get("/calculate_v2/<n>")
def calculate_v2(n):
    return _text(_v2(n)[3])


@bp.get("/calculate_v3/<n>")
def calculate_v3(n):
    return _text(_v2(n)[3])


@bp.get("/calculate_v4/<impl>/<n>")
def calculate_v4(impl, n):
    if impl not in IMPLEMENTATIONS:
        raise Problem(400, "Unknown implementation",
                      f"impl must be one of {', '.join(IMPLEMENTATIONS)} (all served by the "
                      f"pg_fib extension), not {impl!r}.", slug="unknown-impl")
    _, row, seconds, sentence = _v2(n)
    if row is None:
        return _text(sentence)
    # The time the database spent on the query, as it measured it (to the
    # microsecond, in the old stack's plain decimal form).
    return _text(f"{sentence}, took {seconds:.6f} seconds")


@bp.get("/get")
def get():
    """The memo's entries, by n, a page at a time: ?after=<n> continues."""
    after = request.args.get("after")
    after = -1 if after is None else parse_bigint(after, "after")
    limit = request.args.get("limit")
    page_size = int(current_app.config["GET_PAGE_SIZE"])
    limit = page_size if limit is None else parse_bigint(limit, "limit")
    if not 1 <= limit <= page_size:
        raise Problem(400, "Malformed limit", f"limit must lie in [1, {page_size}], not {limit}.",
                      slug="malformed-integer", parameter="limit")
    rows = db.memo_page(after, limit, int(current_app.config["GET_VALUE_MAX_DIGITS"]))
    entries = []
    for row in rows:
        entry = {"n": str(row["n"]), "digits": str(row["digits"])}
        if row["value"] is not None:
            entry["value"] = row["value"]
        entries.append(entry)
    body = {"entries": entries, "next": None}
    if len(rows) == limit:
        body["next"] = f"/get?after={rows[-1]['n']}&limit={limit}"
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response
