"""The API's description (web/openapi.py, served at /api/v1/openapi.json)
against the app itself: one description per route and one route per
description, every problem type the code and Nginx give listed and its page
answering, and the document valid OpenAPI 3.1 by Redocly's linter.  (Every
answer of every web suite is checked against it too: openapi_check.py.)"""

import json
import os
import re
import subprocess

import pytest
from markupsafe import escape

from conftest import ROOT
from web.problems import PROBLEM_TYPES

NPM_BIN = os.path.join(ROOT, "npm", "node_modules", ".bin")


def openapi_path(rule):
    """A Flask rule as an OpenAPI path: <n> and <path:name> as {n}, {name}."""
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def test_every_route_is_described_and_every_description_is_a_route(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    rules = {openapi_path(rule.rule) for rule in client.application.url_map.iter_rules()}
    described = {path for path, item in doc["paths"].items() if "x-served-by" not in item}
    assert rules == described
    for path, item in doc["paths"].items():
        assert set(item) <= {"get", "parameters", "x-served-by"}, path
        assert item["get"]["responses"], path


def test_the_index_lists_every_route(client):
    index = client.get("/api/v1").get_json()
    doc = client.get("/api/v1/openapi.json").get_json()
    assert [r["path"] for r in index["routes"]] == list(doc["paths"])
    assert index["description"] == "/api/v1/openapi.json"
    assert client.get(index["problems"]).status_code == 200


def _slugs_in(path, pattern):
    with open(os.path.join(ROOT, path)) as f:
        return set(re.findall(pattern, f.read()))


def test_every_problem_type_given_is_listed():
    given = set()
    for name in os.listdir(os.path.join(ROOT, "web")):
        if name.endswith(".py"):
            given |= _slugs_in(os.path.join("web", name), r'slug="([a-z0-9-]+)"')
    given |= _slugs_in("deploy/nginx.conf", r'\$pg_fib_problems/([a-z0-9-]+)')
    assert given and given <= set(PROBLEM_TYPES), given - set(PROBLEM_TYPES)


def test_nginx_problem_pages_agree_with_the_problem_types():
    with open(os.path.join(ROOT, "deploy", "nginx.conf")) as f:
        pages = re.findall(r"return (\d{3}) '(\{.*\})\\n';", f.read())
    assert len(pages) >= 12
    for status, body in pages:
        problem = json.loads(body.replace("$pg_fib_problems", "http://host/problems"))
        slug = problem["type"].rsplit("/", 1)[1]
        assert (int(status), problem["status"], problem["title"]) == \
            (PROBLEM_TYPES[slug].status, PROBLEM_TYPES[slug].status, PROBLEM_TYPES[slug].title), \
            slug


@pytest.mark.parametrize("slug", sorted(PROBLEM_TYPES))
def test_every_problem_type_has_a_page(client, slug):
    html = client.get(f"/problems/{slug}")
    assert html.status_code == 200 and html.mimetype == "text/html"
    assert str(escape(PROBLEM_TYPES[slug].remedy)) in html.get_data(as_text=True)
    data = client.get(f"/problems/{slug}", headers={"Accept": "application/json"}).get_json()
    assert data["type"] == f"http://localhost/problems/{slug}"
    assert data["status"] == PROBLEM_TYPES[slug].status


def test_a_problems_type_uri_resolves_to_its_page(client):
    problem = client.get("/api/v1/fib/x").get_json()
    assert problem["type"] == "http://localhost/problems/malformed-integer"
    page = client.get(problem["type"].replace("http://localhost", ""),
                      headers={"Accept": "application/json"}).get_json()
    assert page["title"] == "Malformed integer"


def test_redocly_lints_the_description(client, tmp_path):
    """Redocly's CLI (npm @redocly/cli, installed by deploy/install-npm.sh)
    finds no error and no warning."""
    spec = tmp_path / "openapi.json"
    spec.write_bytes(client.get("/api/v1/openapi.json").get_data())
    result = subprocess.run(
        [os.path.join(NPM_BIN, "redocly"), "lint", "--format", "stylish", str(spec)],
        capture_output=True, text=True, timeout=120,
        env=dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true"))
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    # Problems are listed as "line:column  warning  rule  message".
    assert not re.search(r"^\s*\d+:\d+\s+(warning|error)\s", out, re.M), out
    assert "Your API description is valid" in out, out
