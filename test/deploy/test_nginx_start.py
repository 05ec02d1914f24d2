"""docker/nginx-start.sh run for real on this host, outside any container,
on 127.0.0.1 (LISTEN_HOST) in front of a stand-in for Gunicorn: Nginx
stays in the foreground as the script's own process (daemon off, exec),
proxies to the upstream it was given, writes its access log to its stdout,
passes the compose file's health check, and stops gracefully on SIGQUIT
(the compose file's stop_signal).  The stand-in answers every GET with 200,
so that only Nginx is under test here; the real app behind the same
template is test/web's."""

import http.server
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "python"))

from cluster import free_port  # noqa: E402


class StandIn(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"status": "up"}\n'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def upstream():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def compose_healthcheck(port):
    with open(os.path.join(ROOT, "docker-compose.yml")) as f:
        test = yaml.safe_load(f)["services"]["nginx"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    url = test[-1]
    assert url == "http://127.0.0.1:8080/healthz", url
    return test[1:-1] + [url.replace(":8080/", f":{port}/")]


def test_nginx_start_runs_nginx_in_the_foreground_with_logs_on_stdout(upstream):
    prefix = tempfile.mkdtemp(prefix="pg_fib-nginx.")
    os.chmod(prefix, 0o755)
    port = free_port()
    out = os.path.join(tempfile.mkdtemp(prefix="pg_fib-nginx-out."), "stdout")
    env = dict(os.environ, PORT=str(port), UPSTREAM=upstream, LISTEN_HOST="127.0.0.1",
               NGINX_PREFIX=prefix)
    with open(out, "wb") as log:
        proc = subprocess.Popen([os.path.join(ROOT, "docker", "nginx-start.sh")], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while subprocess.run(compose_healthcheck(port), capture_output=True).returncode != 0:
            assert proc.poll() is None, open(out).read()
            assert time.monotonic() < deadline, "Nginx did not pass its health check"
            time.sleep(0.1)
        # The script exec'd Nginx's master, which stays in the foreground.
        with open(os.path.join(prefix, "nginx.pid")) as f:
            assert int(f.read()) == proc.pid
        assert proc.poll() is None
        if os.geteuid() == 0:
            assert pwd.getpwuid(os.stat(os.path.join(prefix, "cache")).st_uid).pw_name == "www-data"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/fib/12?probe=1", timeout=5) as r:
            assert r.status == 200
            assert r.headers["X-Content-Type-Options"] == "nosniff"
        # Its access log is the process's stdout (docker-compose logs).
        deadline = time.monotonic() + 5
        while not re.search(r'"GET /api/v1/fib/12\?probe=1 HTTP/1\.1" 200', open(out).read()):
            assert time.monotonic() < deadline, open(out).read()
            time.sleep(0.1)
        proc.send_signal(signal.SIGQUIT)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(prefix, ignore_errors=True)
        shutil.rmtree(os.path.dirname(out), ignore_errors=True)
