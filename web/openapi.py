"""The API's description, OpenAPI 3.1: every route of the app, the old
stack's, /healthz, /metrics, the page, and what Nginx answers by itself.

Written once, here, as data; made into the document served at
/api/v1/openapi.json by document(config).  The problem types come from
web.problems.PROBLEM_TYPES and the limits from the app's configuration, so
they cannot drift.  test_openapi.py checks it against the app's URL map (no
route without a description, no description without a route), lints it
with Redocly's CLI, and every web suite validates each answer it receives
against it (test/web/openapi_check.py).
"""

from web.problems import PROBLEM_TYPES
from web.series import NUMERIC_MAX_N as _NUMERIC_MAX_N, PAGE_SIZE as _RANGE_PAGE

VERSION = "1.1.0"

# Canonical integers as the JSON bodies write them (strings: no JavaScript
# client rounds them), and as a path may write them.
_INTEGER = r"^-?(0|[1-9][0-9]*)$"
_CANONICAL = r"^(0|-?[1-9][0-9]{0,18})$"
_PATH_INTEGER = r"^-?[0-9]{1,19}$"
_DIGITS = r"^[0-9]+$"


def _ref(kind, name):
    return {"$ref": f"#/components/{kind}/{name}"}


def _json(schema):
    return {"application/json": {"schema": schema}}


def _header(name, description, schema=None, required=True):
    return {name: {"description": description, "required": required,
                   "schema": schema or {"type": "string"}}}


# Headers of every answer of the app.
_ALWAYS = _header("X-Request-Id", "The request's id, as Nginx's, Gunicorn's and PostgreSQL's "
                  "logs name it.")
_CORS = _header("Access-Control-Allow-Origin", "Any origin may read the answer.",
                {"const": "*"})
_IMMUTABLE = {
    **_header("Cache-Control", "A Fibonacci number never changes.",
              {"const": "public, max-age=31536000, immutable"}),
    **_header("ETag", "Names the value; If-None-Match with it gives 304.",
              {"type": "string", "pattern": r'^(W/)?"[^"]+"$'}),
}
_NO_STORE = _header("Cache-Control", "Never cached.", {"const": "no-store"})


def _problems_of(status):
    """The sentence naming the problem types answered with status."""
    slugs = sorted(slug for slug, t in PROBLEM_TYPES.items() if t.status == status)
    return (f"Problem type{'s' if len(slugs) > 1 else ''}: "
            + ", ".join(f"`{slug}`" for slug in slugs) + ".")


def _problem_response(status, description, retry=None, headers=_NO_STORE):
    """A problem response with headers; retry: "always" or "maybe" where it
    says when to ask again."""
    headers = dict(headers)
    if retry:
        headers.update(_header("Retry-After", "Seconds to wait before asking again.",
                               {"type": "string", "pattern": "^[0-9]+$"},
                               required=retry == "always"))
    return {"description": f"{description} {_problems_of(status)}",
            "headers": headers,
            "content": {"application/problem+json": {"schema": _ref("schemas", "Problem")}}}


# Answers Nginx gives on any path, whatever the app would say.
_NGINX = {
    "400": _ref("responses", "BadRequest"),
    "405": _ref("responses", "MethodNotAllowed"),
    "413": _ref("responses", "ContentTooLarge"),
    "414": _ref("responses", "UriTooLong"),
    "429": _ref("responses", "TooManyRequests"),
    "500": _ref("responses", "ProxyError"),
    "502": _ref("responses", "BadGateway"),
    "503": _ref("responses", "Unavailable"),
    "504": _ref("responses", "Timeout"),
}


def _responses(**responses):
    """The responses of an operation: its own, over Nginx's."""
    out = dict(_NGINX)
    out.update({code.lstrip("_"): response for code, response in responses.items()})
    return dict(sorted(out.items()))


def _n(description="n, an optional '-' and 1 to 19 ASCII digits, in bigint range; "
                   "other ways of writing it are 400, leading zeros and -0 are 301 to the "
                   "canonical path."):
    return {"name": "n", "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "pattern": _PATH_INTEGER}, "example": "32"}


def _operation(operation_id, summary, description, tags, responses, parameters=()):
    op = {"operationId": operation_id, "summary": summary, "description": description,
          "tags": tags, "responses": responses}
    if parameters:
        op["parameters"] = list(parameters)
    return op


def _get(path_item_params=(), **operation):
    return {"get": _operation(**operation), **({"parameters": list(path_item_params)}
                                               if path_item_params else {})}


def _text(description, headers=None, media="text/plain"):
    return {"description": description, "headers": {**(headers or {}), **_ALWAYS},
            "content": {media: {"schema": {"type": "string"}}}}


def _value_paths(config):
    max_digits = int(config["VALUE_MAX_DIGITS"])
    value_ok = {"description": "F(n), computed now or read from the memo.",
                "headers": {**_IMMUTABLE, **_ALWAYS, **_CORS},
                "content": _json(_ref("schemas", "Value"))}
    queued = {"description": "F(n) is being computed: poll the job (Location) or this URL.",
              "headers": {**_header("Location", "The job's URL.",
                                    {"type": "string", "pattern": "^/api/v1/fib/.+/job$"}),
                          **_header("Retry-After", "Seconds before polling again.",
                                    {"const": "1"}),
                          **_NO_STORE, **_ALWAYS, **_CORS},
                "content": _json(_ref("schemas", "Queued"))}
    moved = _ref("responses", "NonCanonical")
    not_modified = {"description": "The client's copy (If-None-Match) is this value's.",
                    "headers": _IMMUTABLE}
    bound = {"in": "query", "required": True,
             "schema": {"type": "string", "pattern": _PATH_INTEGER}}
    return {
        "/api/v1/fib": _get(
            [{"name": "from", **bound, "example": "0",
              "description": "The first n, written as n is in a path."},
             {"name": "to", **bound, "example": "100",
              "description": "The last n, from <= to."}],
            operation_id="getFibRange", summary="F(from) to F(to)",
            description=f"The values F(from), F(from + 1), ..., F(to), a page at a time: at "
                        f"most {_RANGE_PAGE:,} values and {max_digits:,} digits in all, and "
                        "at least one; next is the URL of the rest (null on the last page). "
                        f"Both ends within |n| <= {_NUMERIC_MAX_N:,} (and the service's "
                        "limit), else the range is refused whole (422, with max_n and "
                        "about). The query is exactly from=<a>&to=<b>: another parameter, "
                        "one missing or given twice is 400; the same range written otherwise "
                        "(leading zeros, -0, to before from, percent-encoding) is 301 to the "
                        "canonical query. Cached like single values.",
            tags=["values"],
            responses=_responses(
                _200={"description": "A page of the run.",
                      "headers": {**_IMMUTABLE, **_ALWAYS, **_CORS},
                      "content": _json(_ref("schemas", "Range"))},
                _301=moved, _304=not_modified, _400=_ref("responses", "Malformed"),
                _422=_problem_response(422, "from > to (`empty-range`), or an end beyond the "
                                            "limit (max_n, and about for that end)."),
                _503=_ref("responses", "Unavailable"), _504=_ref("responses", "Timeout"))),
        "/api/v1/fib/{n}": _get(
            [_n()], operation_id="getFib", summary="F(n)",
            description=f"F(n) for every n within the service's limit. Up to {max_digits:,} "
                        "digits the value is in the body; beyond, its first and last digits "
                        "and value_url, the full decimal. A value not computed yet is queued: "
                        "202, then 200 when done.",
            tags=["values"],
            responses=_responses(
                _200=value_ok, _202=queued, _301=moved, _304=not_modified,
                _400=_ref("responses", "Malformed"), _422=_ref("responses", "BeyondLimit"),
                _503=_ref("responses", "Unavailable"), _504=_ref("responses", "Timeout"))),
        "/api/v1/fib/{n}/job": _get(
            [_n()], operation_id="getFibJob", summary="The job of F(n)",
            description="How the computation of F(n) stands, at every stage; never cached. "
                        "A done job links to its value.",
            tags=["values"],
            responses=_responses(
                _200={"description": "The job.", "headers": {**_NO_STORE, **_ALWAYS, **_CORS},
                      "content": _json(_ref("schemas", "Job"))},
                _301=moved, _400=_ref("responses", "Malformed"),
                _404=_problem_response(404, "F(n) was never requested, or no such path."),
                _422=_ref("responses", "BeyondLimit"),
                _503=_ref("responses", "Unavailable"), _504=_ref("responses", "Timeout"))),
        "/api/v1/fib/{n}/digits": _get(
            [_n()], operation_id="getFibDigits", summary="The full decimal of F(n)",
            description="The whole decimal as text/plain, streamed (F(10^8) has 20,898,764 "
                        "digits), with Content-Length; at most 2 downloads under way per "
                        "client address.",
            tags=["values"],
            responses=_responses(
                _200=_text("The decimal, '-' first for a negative F(n).",
                           {**_IMMUTABLE, **_CORS,
                            **_header("Content-Disposition", "A file name for it.",
                                      {"type": "string",
                                       "pattern": r"^attachment; filename=fib--?[0-9]+\.txt$"})}),
                _202=queued, _301=moved, _304=not_modified,
                _400=_ref("responses", "Malformed"), _422=_ref("responses", "BeyondLimit"),
                _503=_ref("responses", "Unavailable"), _504=_ref("responses", "Timeout"))),
        "/api/v1/fib/{n}/about": _get(
            [_n()], operation_id="getFibAbout", summary="What is known of F(n), for every n",
            description="For every bigint n, in microseconds: the number of digits of F(n), "
                        "its first and last 20 digits and its sign; value_url when the "
                        "service gives F(n) itself.",
            tags=["values"],
            responses=_responses(
                _200={"description": "The facts.", "headers": {**_IMMUTABLE, **_ALWAYS, **_CORS},
                      "content": _json(_ref("schemas", "About"))},
                _301=moved, _304=not_modified, _400=_ref("responses", "Malformed"),
                _503=_ref("responses", "Unavailable"), _504=_ref("responses", "Timeout"))),
        "/api/v1/fib/{n}/mod/{m}": _get(
            [_n(), {"name": "m", "in": "path", "required": True,
                    "description": "The modulus, written as n is; m >= 1.",
                    "schema": {"type": "string", "pattern": _PATH_INTEGER}, "example": "97"}],
            operation_id="getFibMod", summary="F(n) mod m",
            description="F(n) modulo m for every bigint n and every m >= 1, in microseconds.",
            tags=["values"],
            responses=_responses(
                _200={"description": "F(n) mod m, in [0, m).",
                      "headers": {**_IMMUTABLE, **_ALWAYS, **_CORS},
                      "content": _json(_ref("schemas", "Mod"))},
                _301=moved, _304=not_modified, _400=_ref("responses", "Malformed"),
                _422=_problem_response(422, "m <= 0."),
                _503=_ref("responses", "Unavailable"), _504=_ref("responses", "Timeout"))),
    }


def _service_paths():
    return {
        "/api/v1": _get(
            operation_id="getIndex", summary="The routes",
            description="The API's routes, with links to this description and its pages.",
            tags=["service"],
            responses=_responses(_200={"description": "The index.",
                                       "headers": {**_ALWAYS, **_CORS},
                                       "content": _json(_ref("schemas", "Index"))})),
        "/api/v1/openapi.json": _get(
            operation_id="getOpenApi", summary="This description",
            description="The API's description, OpenAPI 3.1.", tags=["service"],
            responses=_responses(_200={"description": "This document.",
                                       "headers": {**_ALWAYS, **_CORS},
                                       "content": _json({"type": "object"})})),
        "/api/docs": _get(
            operation_id="getApiDocs", summary="This description, for people",
            description="Swagger UI showing this description; static files served by Nginx "
                        "(x-served-by), working offline.", tags=["service"],
            responses=_responses(_200={"description": "The documentation page.",
                                       "content": {"text/html": {"schema": {"type": "string"}}}})),
        "/problems": _get(
            operation_id="getProblems", summary="Every problem type",
            description="The problem types the service answers with: HTML, or JSON when "
                        "the client accepts application/json.", tags=["service"],
            responses=_responses(_200={"description": "The problem types.",
                                       "headers": {**_ALWAYS, **_CORS},
                                       "content": {"text/html": {"schema": {"type": "string"}},
                                                   **_json(_ref("schemas", "ProblemTypes"))}})),
        "/problems/{slug}": _get(
            [{"name": "slug", "in": "path", "required": True,
              "description": "A problem type, the last part of a problem's type URI.",
              "schema": {"type": "string", "enum": sorted(PROBLEM_TYPES)}}],
            operation_id="getProblem", summary="A problem type",
            description="What a problem type means and what to do: HTML, or JSON when the "
                        "client accepts application/json. Problems' type URIs point here.",
            tags=["service"],
            responses=_responses(
                _200={"description": "The problem type.", "headers": {**_ALWAYS, **_CORS},
                      "content": {"text/html": {"schema": {"type": "string"}},
                                  **_json(_ref("schemas", "ProblemType"))}},
                _404=_problem_response(404, "No such problem type."))),
        "/static/{filename}": _get(
            [{"name": "filename", "in": "path", "required": True,
              "description": "A file of the page: fib.css, fib.js, favicon.svg.",
              "schema": {"type": "string"}}],
            operation_id="getStatic", summary="The page's files",
            description="The page's style sheet, script and icon.", tags=["page"],
            responses=_responses(
                _200={"description": "The file.",
                      "content": {"text/css": {"schema": {"type": "string"}},
                                  "text/javascript": {"schema": {"type": "string"}},
                                  "application/javascript": {"schema": {"type": "string"}},
                                  "image/svg+xml": {"schema": {"type": "string"}}}},
                _304={"description": "The client's copy is current."},
                _404=_problem_response(404, "No such file."))),
        "/favicon.ico": _get(
            operation_id="getFavicon", summary="The page's icon",
            description="The icon browsers ask for at this path whatever a page links (the "
                        "page links /static/favicon.svg, the same drawing).", tags=["page"],
            responses=_responses(
                _200={"description": "The icon, an ICO.",
                      "headers": _header("Cache-Control", "Kept for a day.",
                                         {"type": "string", "pattern": "max-age=86400"}),
                      "content": {"image/vnd.microsoft.icon": {
                          "schema": {"type": "string", "contentMediaType":
                                     "image/vnd.microsoft.icon"}}}},
                _304={"description": "The client's copy is current."})),
        "/healthz": _get(
            operation_id="getHealth", summary="Whether the service is up",
            description="200 when the primary answers and pg_fib's keeper and every compute "
                        "worker run; 503 otherwise, with what is known. Replicas are "
                        "reported; one that is down does not make the service down.",
            tags=["service"],
            responses=_responses(
                _200={"description": "Up.", "headers": {**_NO_STORE, **_ALWAYS, **_CORS},
                      "content": _json(_ref("schemas", "Health"))},
                _503={"description": "Down: the body says what is known; or Nginx's own 503.",
                      "headers": {**_NO_STORE, **_header(
                          "Retry-After", "Seconds to wait.",
                          {"type": "string", "pattern": "^[0-9]+$"})},
                      "content": {**_json(_ref("schemas", "Health")),
                                  "application/problem+json": {
                                      "schema": _ref("schemas", "Problem")}}})),
        "/metrics": _get(
            operation_id="getMetrics", summary="Prometheus metrics",
            description="Requests, latencies, queries by server, pools, and pg_fib's queue "
                        "and memo, over every Gunicorn worker. Nginx serves it to loopback "
                        "addresses only.", tags=["service"],
            responses=_responses(
                _200=_text("Prometheus's text format.", _NO_STORE),
                _403=_problem_response(403, "Not from a loopback address."))),
        "/": _get(
            [{"name": "n", "in": "query", "required": False,
              "description": "Show F(n): the page's form, which works without JavaScript.",
              "schema": {"type": "string"}},
             {"name": "from", "in": "query", "required": False,
              "description": "With to: show F(from) to F(to) as a table, a page of the "
                             "run at a time (the second form).",
              "schema": {"type": "string"}},
             {"name": "to", "in": "query", "required": False,
              "description": "The last n of the run.", "schema": {"type": "string"}}],
            operation_id="getPage", summary="The page",
            description="An HTML page with a form for n and one for a run of values; /?n=32 "
                        "shows F(32), /?from=0&to=100 the table of F(0) to F(100). Its "
                        "status is the answer's: 202 while F(n) is computed, 400, 422 or 503 "
                        "with the problem shown.", tags=["page"],
            responses=_responses(**{f"_{code}": _text(text, _NO_STORE, "text/html")
                                    for code, text in (
                                        (200, "The page."), (202, "F(n) is being computed."),
                                        (400, "A malformed n."), (422, "n beyond the limit."),
                                        (503, "The database could not answer."))})),
    }


def _old_paths():
    sentence = {"_200": _text("The old stack's sentence.", _NO_STORE),
                "_400": _ref("responses", "Malformed"),
                "_422": _ref("responses", "BeyondLimit"),
                "_503": _ref("responses", "Unavailable"), "_504": _ref("responses", "Timeout")}
    paths = {}
    for path, operation_id, summary in (
            ("/calculate/{n}", "calculate", "The old stack's /calculate"),
            ("/calculate_v2/{n}", "calculateV2", "The old stack's /calculate_v2"),
            ("/calculate_v3/{n}", "calculateV3", "The old stack's /calculate_v3")):
        paths[path] = _get(
            [_n("n as the old stack took it: an optional '-' and 1 to 19 ASCII digits "
                "(leading zeros allowed).")],
            operation_id=operation_id, summary=summary,
            description="Kept for the old stack's clients, in its own sentences.",
            tags=["old stack"], responses=_responses(**sentence))
    paths["/calculate_v4/{impl}/{n}"] = _get(
        [{"name": "impl", "in": "path", "required": True,
          "description": "python, rust or c: all served by the pg_fib extension.",
          "schema": {"type": "string"}},
         _n("n as the old stack took it.")],
        operation_id="calculateV4", summary="The old stack's /calculate_v4",
        description="The v2 sentence and the seconds the database spent.",
        tags=["old stack"], responses=_responses(**sentence))
    paths["/get"] = _get(
        [{"name": "after", "in": "query", "required": False,
          "description": "Continue after this n.", "schema": {"type": "string"}},
         {"name": "limit", "in": "query", "required": False,
          "description": "Entries per page, 1 to FIB_WEB_GET_PAGE_SIZE (100).",
          "schema": {"type": "string"}}],
        operation_id="getMemo", summary="The memo's entries",
        description="The old stack's listing of what it had cached: the memo's entries by "
                    "n, a page at a time.", tags=["old stack"],
        responses=_responses(
            _200={"description": "A page.", "headers": {**_NO_STORE, **_ALWAYS},
                  "content": _json(_ref("schemas", "MemoPage"))},
            _400=_ref("responses", "Malformed"), _503=_ref("responses", "Unavailable")))
    return paths


def _schemas(config):
    integer = {"type": "string", "pattern": _INTEGER}
    canonical = {"type": "string", "pattern": _CANONICAL}
    digits = {"type": "string", "pattern": _DIGITS}
    url = {"type": "string", "pattern": "^/"}
    return {
        "Value": {
            "type": "object", "additionalProperties": False,
            "required": ["n", "digits", "negative", "source"],
            "properties": {
                "n": canonical, "digits": digits, "negative": {"type": "boolean"},
                "source": {"enum": ["memo", "computed"],
                           "description": "memo: the memo's row; computed: inside the query."},
                "value": {"type": "string", "pattern": r"^-?[0-9]+$",
                          "description": "The whole value, up to FIB_WEB_VALUE_MAX_DIGITS "
                                         f"({int(config['VALUE_MAX_DIGITS']):,}) digits."},
                "leading": digits, "trailing": digits, "value_url": url},
            "oneOf": [{"required": ["value"]},
                      {"required": ["leading", "trailing", "value_url"]}]},
        "Range": {
            "type": "object", "additionalProperties": False, "required": ["items", "next"],
            "properties": {
                "items": {"type": "array", "minItems": 1, "maxItems": _RANGE_PAGE,
                          "items": {
                              "type": "object", "additionalProperties": False,
                              "required": ["n", "value"],
                              "properties": {"n": canonical,
                                             "value": {"type": "string",
                                                       "pattern": r"^-?[0-9]+$"}}}},
                "next": {"type": ["string", "null"],
                         "pattern": r"^/api/v1/fib\?from=(0|-?[1-9][0-9]*)&to=(0|-?[1-9][0-9]*)$",
                         "description": "The URL of the next page, null on the last."}}},
        "Queued": {
            "type": "object", "additionalProperties": False,
            "required": ["n", "state", "progress"],
            "properties": {"n": canonical, "state": {"enum": ["queued", "running"]},
                           "progress": {"type": "number", "minimum": 0, "maximum": 1}}},
        "Job": {
            "type": "object", "additionalProperties": False,
            "required": ["n", "state", "progress", "digits", "requested_at", "started_at",
                         "finished_at", "compute_ms", "error"],
            "properties": {
                "n": canonical, "state": {"enum": ["queued", "running", "done", "failed"]},
                "progress": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                "digits": {"type": ["string", "null"], "pattern": _DIGITS},
                "requested_at": {"type": ["string", "null"], "format": "date-time"},
                "started_at": {"type": ["string", "null"], "format": "date-time"},
                "finished_at": {"type": ["string", "null"], "format": "date-time"},
                "compute_ms": {"type": ["number", "null"]},
                "error": {"type": ["string", "null"]},
                "value_url": {**url, "description": "The value's URL, when the job is done."}}},
        "About": {
            "type": "object", "additionalProperties": False,
            "required": ["n", "digits", "leading", "trailing", "negative"],
            "properties": {"n": canonical, "digits": digits, "leading": digits,
                           "trailing": digits, "negative": {"type": "boolean"},
                           "value_url": url}},
        "Mod": {
            "type": "object", "additionalProperties": False, "required": ["n", "m", "value"],
            "properties": {"n": canonical, "m": canonical, "value": digits}},
        "Health": {
            "type": "object", "additionalProperties": False,
            "required": ["status", "database", "keeper", "workers", "workers_expected",
                         "replicas"],
            "properties": {
                "status": {"enum": ["up", "down"]}, "database": {"enum": ["up", "down"]},
                "keeper": {"enum": ["up", "down", None]},
                "workers": {"type": ["integer", "null"]},
                "workers_expected": {"type": ["integer", "null"]},
                "replicas": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False,
                    "required": ["name", "state"],
                    "properties": {"name": {"type": "string"},
                                   "state": {"enum": ["up", "down", "not a standby"]}}}}}},
        "MemoPage": {
            "type": "object", "additionalProperties": False, "required": ["entries", "next"],
            "properties": {
                "entries": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False,
                    "required": ["n", "digits"],
                    "properties": {"n": integer, "digits": digits,
                                   "value": {"type": "string", "pattern": r"^-?[0-9]+$"}}}},
                "next": {"type": ["string", "null"]}}},
        "Index": {
            "type": "object", "required": ["description", "docs", "routes", "problems"],
            "properties": {
                "description": url, "docs": url, "problems": url,
                "routes": {"type": "array", "items": {
                    "type": "object", "required": ["path", "summary"],
                    "properties": {"path": {"type": "string"},
                                   "summary": {"type": "string"}}}}}},
        "Problem": {
            "type": "object", "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string", "description": "A URI naming the problem type: "
                         "its page (/problems/<slug>), or about:blank."},
                "title": {"type": "string"}, "status": {"type": "integer"},
                "detail": {"type": "string"},
                "sqlstate": {"type": "string", "pattern": "^[0-9A-Z]{5}$",
                             "description": "The database's error code, where it refused."},
                "parameter": {"type": "string"}, "about": url, "max_n": digits,
                "location": url, "n": integer, "state": {"type": "string"},
                "error": {"type": ["string", "null"]}, "job": url}},
        "ProblemType": {
            "type": "object", "additionalProperties": False,
            "required": ["type", "status", "title", "meaning", "remedy"],
            "properties": {"type": {"type": "string"}, "status": {"type": "integer"},
                           "title": {"type": "string"}, "meaning": {"type": "string"},
                           "remedy": {"type": "string"}}},
        "ProblemTypes": {"type": "array", "items": _ref("schemas", "ProblemType")},
    }


def _shared_responses():
    return {
        "Malformed": _problem_response(400, "A malformed n or m (or another parameter), or a "
                                            "malformed request Nginx refused."),
        "NonCanonical": _problem_response(
            301, "n or m written otherwise than canonically: the value's URL is in Location.",
            headers={**_header("Location", "The canonical URL.",
                               {"type": "string", "pattern": "^/"}), **_NO_STORE}),
        "BeyondLimit": _problem_response(
            422, "n beyond the service's limit (or another argument the database refuses): "
                 "the limit (max_n) and the routes that still answer (about)."),
        "BadRequest": _problem_response(400, "A malformed request."),
        "MethodNotAllowed": _problem_response(
            405, "Every route is read-only.",
            headers=_header("Allow", "The methods served.", {"type": "string", "pattern": "GET"})),
        "ContentTooLarge": _problem_response(413, "A request with a body."),
        "UriTooLong": _problem_response(414, "A request line too long."),
        "TooManyRequests": _problem_response(429, "Beyond this address's share.",
                                             retry="always"),
        "ProxyError": _problem_response(500, "Nginx could not pass the request on."),
        "BadGateway": _problem_response(502, "The application server is down.",
                                        retry="always"),
        "Unavailable": _problem_response(503, "The database could not answer, a job failed, "
                                              "or the queue is full.", retry="maybe"),
        "Timeout": _problem_response(504, "Too slow."),
    }


def document(config):
    """The OpenAPI 3.1 document of the app configured by config."""
    paths = {**_value_paths(config), **_service_paths(), **_old_paths()}
    paths["/api/docs"]["x-served-by"] = "nginx"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pg_fib",
            "version": VERSION,
            "summary": "Exact Fibonacci numbers from PostgreSQL.",
            "description": (
                "Exact Fibonacci numbers, computed and kept by the pg_fib extension in "
                "PostgreSQL. Every route is read-only: GET, HEAD (the GET's status and "
                "headers) and OPTIONS (Allow; a CORS preflight is answered for the public "
                "routes, cached for a day). Integers that can exceed 2^53 are JSON strings. "
                "Values never change: their answers are cached for a year, and each has one "
                "URL. Errors are RFC 9457 problem details whose type URI is a page saying "
                "what to do (/problems). Per client address: 50 requests a second (bursts of "
                "100), 32 under way at once, 2 downloads of full decimals at once."),
            "license": {"name": "PostgreSQL", "identifier": "PostgreSQL"},
        },
        "servers": [{"url": "/"}],
        # Public: no route asks for credentials.
        "security": [],
        "tags": [{"name": "values", "description": "Fibonacci numbers."},
                 {"name": "service", "description": "The service itself."},
                 {"name": "page", "description": "The page for people."},
                 {"name": "old stack", "description": "The routes of the stack pg_fib "
                                                      "replaced, kept for its clients."}],
        "paths": paths,
        "components": {"schemas": _schemas(config), "responses": _shared_responses()},
    }
