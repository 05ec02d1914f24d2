"""What the service says about itself: its API description
(/api/v1/openapi.json, web.openapi), an index of its routes (/api/v1), and
a page for each problem type (/problems/<slug>), which every problem's type
URI names.  The human documentation of the API, /api/docs, is Swagger UI's
static files, served by Nginx (deploy/nginx.conf)."""

from flask import Blueprint, current_app, jsonify, render_template, request, url_for

from web.openapi import document
from web.problems import PROBLEM_TYPES, Problem, type_uri

bp = Blueprint("docs", __name__)

# These pages change only with the code.
CACHED = "public, max-age=86400"
# The problem types' pages name each type by an absolute URI, made from the
# Host the client sent: a shared cache (Nginx's) must not keep one client's
# for the others, or "Host: evil.example" would be everyone's for a day.
PER_CLIENT = "private, max-age=86400"


def _description():
    """This app's OpenAPI document, made once."""
    if "pg_fib_openapi" not in current_app.extensions:
        current_app.extensions["pg_fib_openapi"] = document(current_app.config)
    return current_app.extensions["pg_fib_openapi"]


def _cached(response, cache_control=CACHED):
    response.headers["Cache-Control"] = cache_control
    return response


@bp.get("/api/v1")
def index():
    paths = _description()["paths"]
    routes = [{"path": path, "summary": item["get"]["summary"]}
              for path, item in paths.items() if "get" in item]
    return _cached(jsonify({"description": url_for("docs.openapi"), "docs": "/api/docs",
                            "problems": url_for("docs.problems"), "routes": routes}))


@bp.get("/api/v1/openapi.json")
def openapi():
    return _cached(jsonify(_description()))


def _wants_json():
    best = request.accept_mimetypes.best_match(
        ["text/html", "application/json", "application/problem+json"])
    return best in ("application/json", "application/problem+json")


def _type(slug):
    t = PROBLEM_TYPES[slug]
    return {"type": type_uri(slug), "status": t.status, "title": t.title,
            "meaning": t.meaning, "remedy": t.remedy}


def _negotiated(json_body, html):
    response = current_app.make_response(jsonify(json_body) if _wants_json() else html)
    response.headers["Vary"] = "Accept"
    return _cached(response, PER_CLIENT)


@bp.get("/problems")
def problems():
    types = [_type(slug) for slug in sorted(PROBLEM_TYPES)]
    return _negotiated(types, render_template("problems.html", types=types))


@bp.get("/problems/<slug>")
def problem(slug):
    if slug not in PROBLEM_TYPES:
        raise Problem(404, "Not Found", f"There is no problem type {slug!r}; /problems lists "
                      "them.", slug="not-found")
    body = _type(slug)
    return _negotiated(body, render_template("problem.html", problem=body, slug=slug))
