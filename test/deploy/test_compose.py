"""docker-compose.yml and docker/: the compose file is valid
(docker-compose config -q; no Docker engine runs here, so it is validated,
never run), every file the Dockerfile, the compose file and the container
scripts name exists and is copied into its image, the database is
bootstrapped by the one file make run uses too (deploy/db-bootstrap.sh),
and every other setting they pass is the one "make run" (deploy/run.sh)
uses.  The checks live in
compose_check.py; each is shown to fail on a copy of the tree with one
thing changed."""

import os
import shutil
import subprocess

import pytest

from compose_check import (BOOTSTRAP, COMPOSE_ENV, app_environment, bootstrap_settings, check,
                           here_documents, init_settings, read, sourced_files,
                           supervised_command)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_docker_compose_config_accepts_the_file():
    for profile in ([], ["--profile", "replica"]):
        done = subprocess.run(["docker-compose", *profile, "config", "-q"], cwd=ROOT,
                              env=dict(os.environ, **COMPOSE_ENV), capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr


def test_docker_compose_config_refuses_a_missing_password():
    env = {k: v for k, v in os.environ.items() if k not in COMPOSE_ENV}
    done = subprocess.run(["docker-compose", "config", "-q"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "FIB_WEB_PASSWORD" in done.stderr


def test_the_containers_are_configured_as_make_run():
    assert check(ROOT) == []


def test_the_parsers_find_what_they_compare():
    """The comparisons are not vacuous: both sides have the settings."""
    run_sh, entry = read(ROOT, "deploy/run.sh"), read(ROOT, "docker/db-entrypoint.sh")
    bootstrap = read(ROOT, BOOTSTRAP)
    settings = bootstrap_settings(bootstrap)
    assert settings["shared_preload_libraries"] == "'pg_fib, pg_cron'"
    assert "pg_fib.workers" in settings and "max_worker_processes" in settings
    assert init_settings(run_sh) == ["${DB_BOOTSTRAP_SETTINGS[@]}"]
    assert init_settings(entry)[0] == "${DB_BOOTSTRAP_SETTINGS[@]}"
    sql = "\n".join(here_documents(bootstrap))
    assert "fib_web.sql" in sql and "fib_schedule_maintenance" in sql
    assert "ALTER ROLE replicator PASSWORD :'replication_password';" in here_documents(entry)
    assert "deploy/pgcluster.sh" in sourced_files(entry) and BOOTSTRAP in sourced_files(entry)
    assert "--config" in supervised_command(read(ROOT, "deploy/supervisord.conf"), "gunicorn")
    assert "user=fib_web" in app_environment(run_sh)["FIB_WEB_DATABASE_URL"]


@pytest.fixture
def tree(tmp_path):
    """A copy of the files the checks read."""
    copy = tmp_path / "tree"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(
        ".git", "run", "test", "bench", "*.o", "*.so", "*.bc", "__pycache__"))
    return copy


def edit(tree, path, old, new):
    p = tree / path
    text = p.read_text()
    assert old in text, (path, old)
    p.write_text(text.replace(old, new, 1))


MUTATIONS = [
    # (file, old, new, a word of the expected problem)
    ("deploy/db-bootstrap.sh", "FIB_WEB_MAX_N=${FIB_WEB_MAX_N:-100000000}",
     "FIB_WEB_MAX_N=${FIB_WEB_MAX_N:-1000000000}", "FIB_WEB_MAX_N"),
    ("docker/db-entrypoint.sh", '"listen_addresses = \'*\'"',
     '"listen_addresses = \'*\'" "pg_fib.max_queued = 10"', "pgcluster_init"),
    ("deploy/run.sh", 'pgcluster_init "$RUN/pg" "$(cat "$RUN/pg.port")" "${DB_BOOTSTRAP_SETTINGS[@]}"',
     'pgcluster_init "$RUN/pg" "$(cat "$RUN/pg.port")"', "pgcluster_init"),
    ("docker/db-entrypoint.sh", 'source deploy/db-bootstrap.sh\n', "", "does not source"),
    ("docker/db-entrypoint.sh", "    db_bootstrap_setup\n",
     "    psql_su <<SQL\nCREATE EXTENSION IF NOT EXISTS pg_fib;\nSQL\n", "copy of"),
    ("deploy/run.sh", '    db_bootstrap_fib_web_password "$(cut', '    : "$(cut', "does not call"),
    ("deploy/run.sh", 'PASSFILE=$RUN/fib_web.pgpass\n',
     'PASSFILE=$RUN/fib_web.pgpass\nFIB_WEB_MAX_N=${FIB_WEB_MAX_N:-100000000}\n', "FIB_WEB_MAX_N"),
    ("docker/db-entrypoint.sh", '"listen_addresses = \'*\'"',
     '"listen_addresses = \'*\'" "max_worker_processes = 16"', "max_worker_processes"),
    ("docker-compose.yml", "FIB_WEB_MAX_N:-100000000}", "FIB_WEB_MAX_N:-200000000}", "FIB_WEB_MAX_N"),
    ("docker-compose.yml", '      GUNICORN_BIND: "0.0.0.0:8081"\n',
     '      GUNICORN_BIND: "0.0.0.0:8081"\n      FIB_WEB_STATEMENT_TIMEOUT_MS: "90000"\n',
     "FIB_WEB_STATEMENT_TIMEOUT_MS"),
    ("docker-compose.yml", '      GUNICORN_BIND: "0.0.0.0:8081"\n',
     '      GUNICORN_BIND: "0.0.0.0:8081"\n      GUNICORN_WORKERS: "9"\n', "workers"),
    ("deploy/gunicorn.conf.py", "timeout = 60", "timeout = 60 if os.environ.get('GUNICORN_BIND', '').startswith('unix:') else 10",
     "timeout"),
    ("docker-compose.yml", 'GUNICORN_BIND: "0.0.0.0:8081"', 'GUNICORN_BIND: "0.0.0.0:8000"', "Gunicorn's port"),
    ("docker-compose.yml", "port=25432 dbname", "port=5432 dbname", "PostgreSQL's port"),
    ("docker-compose.yml", "-p 25432 -U postgres -d postgres -c 'SELECT fib(10)'",
     "-p 5432 -U postgres -d postgres -c 'SELECT fib(10)'", "PostgreSQL's port"),
    ("docker-compose.yml", "user=fib_web\"", "user=postgres\"", "user"),
    ("docker-compose.yml", '"127.0.0.1:${PORT:-8080}:8080"', '"127.0.0.1:${PORT:-8080}:80"', "Nginx's port"),
    ("docker-compose.yml", '"127.0.0.1:${PORT:-8080}:8080"', '"${PORT:-8080}:8080"', "loopback"),
    ("docker-compose.yml", "RATE: ${RATE:-50r/s}", "RATE: ${RATE:-500r/s}", "RATE"),
    ("docker/nginx-start.sh", "BURST=${BURST:-100}", "BURST=${BURST:-10}", "BURST"),
    ("docker/nginx-start.sh", "-e 's/^daemon on;$/daemon off;/'",
     "-e 's/^daemon on;$/daemon off;/' -e 's/gzip on;/gzip off;/'", "gzip"),
    ("docker-compose.yml", "    depends_on:\n      web:\n        condition: service_healthy",
     "    depends_on:\n      web:\n        condition: service_started", "service_healthy"),
    ("docker-compose.yml", '  replica:\n    profiles: ["replica"]\n', "  replica:\n", "profile"),
    ("docker-compose.yml", '      test: ["CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8081/healthz"]\n'
     "      interval: 5s\n      timeout: 5s\n      retries: 5\n      start_period: 30s\n", "", "healthcheck"),
    ("docker/Dockerfile", "COPY docker/db-entrypoint.sh docker/db-entrypoint.sh\n", "", "not copied"),
    ("docker/Dockerfile", "COPY web web\n", "COPY webapp web\n", "no such file"),
    ("docker/db-entrypoint.sh", "source deploy/pgcluster.sh", "source deploy/cluster.sh", "does not exist"),
    # The db image without the bootstrap's SQL file, which only the
    # bootstrap names.
    ("docker/Dockerfile", "COPY deploy deploy\nCOPY docker/db-entrypoint.sh",
     "COPY deploy/pgcluster.sh deploy/free_ports.py deploy/db-bootstrap.sh deploy/\n"
     "COPY docker/db-entrypoint.sh", "deploy/fib_web.sql is named but not copied"),
    ("docker/Dockerfile", "RUN deploy/install-deps.sh web", "RUN deploy/install-web-deps.sh web", "does not exist"),
    (".dockerignore", "test\n", "test\nweb\n", "dockerignore"),
    ("docker-compose.yml", "      target: nginx\n", "      target: proxy\n", "target"),
    ("docker-compose.yml", '      UPSTREAM: "web:8081"', '      UPSTREAM: "web:8000"', "Gunicorn's port"),
    ("docker/Dockerfile", '"--user", "www-data", "--group", "www-data", ', "", "www-data"),
    ("docker-compose.yml", "    image: pg_fib-web\n    restart: unless-stopped\n", "    image: pg_fib-web\n",
     "restart"),
    ("deploy/supervisord.conf", "command=gunicorn --config deploy/gunicorn.conf.py",
     "command=gunicorn --config deploy/gunicorn-dev.conf.py", "make run runs gunicorn"),
    ("deploy/run.sh", "user=fib_web passfile=$PASSFILE\"", "user=fib_web passfile=$PASSFILE sslmode=disable\"",
     "sslmode"),
    ("deploy/run.sh", "-e 's/^daemon on;$/daemon off;/'", "-e 's/^daemon on;$/daemon on;/'", "foreground"),
]


@pytest.mark.parametrize("path,old,new,word", MUTATIONS,
                         ids=[f"{m[0]}:{m[3]}" for m in MUTATIONS])
def test_each_check_fails_on_a_copy_with_one_thing_changed(tree, path, old, new, word):
    edit(tree, path, old, new)
    problems = check(str(tree))
    assert problems, f"{path}: {old!r} -> {new!r} went unnoticed"
    assert any(word in p for p in problems), problems
