"""Nginx's cache keys name the version of the app (deploy/run.sh
app_version, filled into deploy/nginx.conf): an answer of an app whose
version is another than the keys' is not stored (web/appversion.py), and
the client sees it as always; an answer of the keys' own version is stored.
test/deploy/test_make_run.py checks that make run changes the version, and
restarts the app, when the app's code or settings change."""

import os
import re
import subprocess
import urllib.request

import pytest

from conftest import ROOT, Stack, make_app

CACHED_PATHS = ["/api/v1/fib/31", "/api/v1/fib?from=1&to=5", "/api/v1/fib/31/digits"]


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, dict(r.headers), r.read()


def checkout_version():
    """The version deploy/run.sh fills into Nginx's configuration here (as
    conftest.start_nginx has it filled)."""
    conf = subprocess.run([os.path.join(ROOT, "deploy", "run.sh"), "nginx-conf", "/nonexistent",
                           "127.0.0.1:1", "127.0.0.1:2", "1r/s", "1"], check=True,
                          capture_output=True, text=True).stdout
    versions = set(re.findall(r"X-App-Version (\S+);", conf))
    keys = set(re.findall(r"proxy_cache_key (v[0-9a-f]{12})\$uri", conf))
    assert len(versions) == 1 and versions == keys and len(keys) == 1, (versions, keys)
    return versions.pop()


@pytest.fixture(scope="module")
def app_v1(database):
    app = make_app(database, APP_VERSION="v1")
    yield app
    app.extensions["pg_fib_pools"].close()


@pytest.mark.parametrize("path", CACHED_PATHS + ["/api/v1/fib/032"])
def test_only_an_answer_to_another_versions_keys_says_not_to_store_it(app, app_v1, path):
    client = app_v1.test_client()
    mine = client.get(path, headers={"X-App-Version": "v1"})
    other = client.get(path, headers={"X-App-Version": "v2"})
    alone = client.get(path)
    assert mine.status_code == other.status_code == alone.status_code
    assert other.headers["X-Accel-Expires"] == "0"
    assert "X-Accel-Expires" not in mine.headers and "X-Accel-Expires" not in alone.headers
    # Otherwise the same answer: Cache-Control and the body unchanged.
    assert other.headers.get("Cache-Control") == mine.headers.get("Cache-Control")
    assert other.data == mine.data
    # An app without a version of its own never says it.
    unversioned = app.test_client().get(path, headers={"X-App-Version": "v2"})
    assert "X-Accel-Expires" not in unversioned.headers


def test_nginx_stores_only_the_answers_of_its_keys_version(database):
    version = checkout_version()
    for app_version, stored in (("vffffffffffff", False), (version, True)):
        stack = Stack(database, env={"FIB_WEB_APP_VERSION": app_version})
        try:
            stack.start()
            for path in CACHED_PATHS:
                first, second = get(stack.url + path), get(stack.url + path)
                assert first[0] == second[0] == 200
                assert first[1]["X-Cache-Status"] == "MISS"
                assert second[1]["X-Cache-Status"] == ("HIT" if stored else "MISS"), path
                # Nginx keeps X-Accel-* to itself: the client sees the
                # answer's own Cache-Control.
                assert "X-Accel-Expires" not in first[1]
                assert first[1]["Cache-Control"] == "public, max-age=31536000, immutable"
                assert first[2] == second[2]
        finally:
            stack.stop()
