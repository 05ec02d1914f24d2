"""The checks of test_compose.py: docker-compose.yml and docker/ against
what "make run" (deploy/run.sh, deploy/supervisord.conf) uses.

check(root) parses the files of the tree at root (the repository, or a copy
with one thing changed) and returns a list of problems, empty when the
containers install and are configured as make run is: every file the
Dockerfile, the compose file and the container scripts name exists and is
copied into the image that uses it, the database is bootstrapped by the
one file make run uses too (deploy/db-bootstrap.sh: the server's settings,
the setup SQL), and every setting they pass (the ports, Gunicorn's
settings, the app's environment, Nginx's configuration) is make run's,
except for the few differences only a container needs, listed here:
TCP on the container's addresses, Gunicorn on TCP (Nginx is
in another container; make run uses a Unix socket), the password in the
environment (make run's is in a passfile), no pid file; and every service
is restarted when it stops, as supervisord restarts make run's Gunicorn and
Nginx.
"""

import json
import os
import re
import runpy
import shlex
import subprocess
import types
from unittest import mock

import yaml

# Environment for "docker-compose config": the required passwords.
COMPOSE_ENV = {"FIB_WEB_PASSWORD": "test-fib-web", "REPLICATION_PASSWORD": "test-replication"}
# The database's bootstrap, which make run and the db container share:
# its settings (an array both pass to pgcluster_init) and its functions,
# which both call.
BOOTSTRAP = "deploy/db-bootstrap.sh"
BOOTSTRAP_SETTINGS = "${DB_BOOTSTRAP_SETTINGS[@]}"
BOOTSTRAP_CALLS = ("db_bootstrap_setup", "db_bootstrap_fib_web_password")
# The one server setting only containers have: TCP on the container's
# addresses (make run listens on 127.0.0.1, set by deploy/pgcluster.sh).
CONTAINER_ONLY_SETTINGS = ["listen_addresses = '*'"]
IMAGE_ROOT = "/opt/pg_fib"
# Where make run's Gunicorn listens, as its Nginx configuration names it.
RUN_SOCKET = "/var/lib/pg_fib-run/gunicorn/gunicorn.sock"
# The compose file's restart policies that bring a stopped service back.
RESTARTS = ("always", "unless-stopped")


def read(root, path):
    with open(os.path.join(root, path)) as f:
        return f.read()


def shell_defaults(text):
    """NAME -> default of every NAME=${NAME:-default} line of a script."""
    return dict(re.findall(r"^(\w+)=\$\{\1:-([^}]*)\}", text, re.M))


def command_args(text, name):
    """The words of the first command line (with its continuation lines)
    that starts with name."""
    match = re.search(r"^[ \t]*" + re.escape(name) + r"\b((?:[^\n]*\\\n)*[^\n]*)", text, re.M)
    if match is None:
        return None
    return shlex.split(match.group(1).replace("\\\n", " "))


def init_settings(text):
    """The settings (words after the directory and the port) the script's
    pgcluster_init call passes, as a list."""
    args = command_args(text, "pgcluster_init")
    return None if args is None else args[2:]


def bootstrap_settings(text):
    """The settings of deploy/db-bootstrap.sh's DB_BOOTSTRAP_SETTINGS=(...),
    as a dict."""
    match = re.search(r"^DB_BOOTSTRAP_SETTINGS=\((.*?)^\)$", text, re.M | re.S)
    if match is None:
        return None
    settings = {}
    for arg in shlex.split(match.group(1)):
        name, _, value = arg.partition("=")
        settings[name.strip()] = value.strip()
    return settings


def here_documents(text):
    """The lines of every <<SQL or <<'SQL' here-document of a script."""
    return [line for doc in re.findall(r"<<'?SQL'?[^\n]*\n(.*?)^SQL$", text, re.M | re.S)
            for line in doc.splitlines()]


def sourced_files(text):
    """The paths of the files a script sources (source PATH or . PATH)."""
    return re.findall(r"^\s*(?:source|\.)\s+\"?([^\s\"]+)", text, re.M)


def supervised_command(text, program):
    """The words of the command of [program:PROGRAM] in a supervisord
    configuration."""
    match = re.search(r"^\[program:" + re.escape(program) + r"\]\n(?:[^[].*\n)*?command=(.*)$",
                      text, re.M)
    return shlex.split(match.group(1)) if match else None


def app_environment(text):
    """NAME -> value of the app's environment that deploy/run.sh gives
    Gunicorn (its app_env=(...) array; shell expansions left as they are)."""
    match = re.search(r"^\s*app_env=\((.*?)\)$", text, re.M | re.S)
    if match is None:
        return None
    # One "NAME=value" a line.
    words = [line.strip() for line in match.group(1).splitlines()]
    return dict(word[1:-1].split("=", 1) for word in words if word.startswith('"'))


def dsn(text):
    return dict(re.findall(r"(\w+)=(\S+)", text))


def dockerfile_stages(text):
    """name -> {"copy": [(sources, dest)], "run": [...], "env": {...},
    "cmd": [...], "entrypoint": [...], "expose": [...], "from": name}"""
    text = text.replace("\\\n", " ")
    stages, stage = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            parts = rest.split()
            stage = {"from": parts[0], "copy": [], "run": [], "env": {}, "cmd": None,
                     "entrypoint": None, "expose": [], "workdir": None}
            if parts[0] in stages:
                base = stages[parts[0]]
                stage.update(copy=list(base["copy"]), env=dict(base["env"]),
                             workdir=base["workdir"], entrypoint=base["entrypoint"])
            stages[parts[-1]] = stage
        elif word == "COPY":
            words = rest.split()
            # COPY --from=STAGE copies from another stage's image, not from
            # the tree (the Swagger UI files npm fetched): nothing to check.
            if not words[0].startswith("--from="):
                stage["copy"].append((words[:-1], words[-1]))
        elif word == "RUN":
            stage["run"].append(rest)
        elif word == "ENV":
            stage["env"].update(dict(w.split("=", 1) for w in shlex.split(rest)))
        elif word in ("CMD", "ENTRYPOINT"):
            stage[word.lower()] = json.loads(rest)
        elif word == "EXPOSE":
            stage["expose"] += [int(p) for p in rest.split()]
        elif word == "WORKDIR":
            stage["workdir"] = rest
    return stages


def compose_config(root, *args):
    """docker-compose config of root's docker-compose.yml (its normalized
    form), with the replica's profile."""
    done = subprocess.run(["docker-compose", "--project-directory", root, "-f",
                           os.path.join(root, "docker-compose.yml"), "--profile", "replica",
                           "config", *args], capture_output=True, text=True,
                          env=dict(os.environ, **COMPOSE_ENV), timeout=60)
    return done


def repo_path(stage, path):
    """A path inside the image, as the repository path it was copied from,
    or None when the stage did not copy it."""
    if not path.startswith("/"):
        path = os.path.join(stage["workdir"] or "/", path)
    for sources, dest in stage["copy"]:
        dest = dest if dest.startswith("/") else os.path.join(stage["workdir"] or "/", dest)
        dest = os.path.normpath(dest)
        for source in sources:
            if len(sources) > 1 or dest.endswith("/") or dest == os.path.normpath(stage["workdir"] or "/"):
                target = os.path.join(dest, os.path.basename(source))
            else:
                target = dest
            if path == target or path.startswith(target + "/"):
                return os.path.normpath(source + path[len(target):])
    return None


NAMED = re.compile(r"(?<![\w/.-])((?:deploy|docker|web|sql|pg_fib)/[\w.-]*\w(?:/[\w.-]*\w)*)")


def check(root):
    problems = []

    def problem(what):
        problems.append(what)

    run_sh = read(root, "deploy/run.sh")
    run_defaults = shell_defaults(run_sh)
    run_pgport = re.search(r"\$\{PGPORT:-(\d+)\}", run_sh)
    run_pgport = int(run_pgport.group(1)) if run_pgport else None
    supervisord_conf = read(root, "deploy/supervisord.conf")

    # docker-compose config: valid, and its normalized form.
    done = compose_config(root, "-q")
    if done.returncode != 0:
        return [f"docker-compose config -q fails: {done.stderr.strip()}"]
    compose = yaml.safe_load(compose_config(root).stdout)
    services = compose["services"]
    for name in ("db", "web", "nginx", "replica"):
        if name not in services:
            problem(f"docker-compose.yml has no service {name}")
    if problems:
        return problems

    stages = dockerfile_stages(read(root, services["db"]["build"]["dockerfile"]))

    # Every service: a build target of the Dockerfile, a health check, and
    # dependencies that wait for health.
    for name, service in services.items():
        build = service.get("build", {})
        if os.path.realpath(build.get("context", "")) != os.path.realpath(root):
            problem(f"{name}: build context {build.get('context')} is not the top of the tree")
        if not os.path.isfile(os.path.join(root, build.get("dockerfile", ""))):
            problem(f"{name}: Dockerfile {build.get('dockerfile')} does not exist")
        if build.get("target") not in stages:
            problem(f"{name}: target {build.get('target')} is not a stage of the Dockerfile")
        if not service.get("healthcheck", {}).get("test"):
            problem(f"{name}: no healthcheck")
        for dep, how in service.get("depends_on", {}).items():
            if how.get("condition") != "service_healthy":
                problem(f"{name}: depends_on {dep} without condition: service_healthy")
        if service.get("restart") not in RESTARTS:
            problem(f"{name}: restart is {service.get('restart')!r}, not one of {RESTARTS}: "
                    "a server that dies stays down (make run's supervisord restarts them)")
    for name, dep in (("web", "db"), ("nginx", "web"), ("replica", "db")):
        if dep not in services[name].get("depends_on", {}):
            problem(f"{name} does not depend on {dep}")
    if services["replica"].get("profiles") != ["replica"]:
        problem("the replica is not behind the profile 'replica' alone")
    for name, service in services.items():
        if name != "replica" and service.get("profiles"):
            problem(f"{name} is behind a profile")
    if problems:
        return problems

    # Every file the Dockerfile, the compose file and the scripts they run
    # name exists in the tree and is copied into the image that uses it.
    ignored = [line.strip() for line in read(root, ".dockerignore").splitlines()
               if line.strip() and not line.startswith("#")]
    for stage_name, stage in stages.items():
        for sources, _ in stage["copy"]:
            for source in sources:
                if not os.path.exists(os.path.join(root, source)):
                    problem(f"Dockerfile, stage {stage_name}: COPY {source}: no such file")
                if source.split("/")[0] in ignored:
                    problem(f"Dockerfile, stage {stage_name}: COPY {source} is in .dockerignore")
    for name, service in services.items():
        stage = stages[service["build"]["target"]]
        argv = (service.get("entrypoint") or stage["entrypoint"] or []) + \
            (service.get("command") or ([] if service.get("entrypoint") else stage["cmd"]) or [])
        named = set(NAMED.findall(" ".join(stage["run"] + argv)))
        health = service["healthcheck"]["test"]
        for word in health[1:]:
            for path in re.findall(r"/[\w./-]+", word):
                if path.startswith(IMAGE_ROOT + "/"):
                    named.add(path)
        scripts = [a for a in argv if NAMED.fullmatch(a) and a.endswith(".sh")]
        for script in scripts:
            source = repo_path(stage, script)
            if source and os.path.isfile(os.path.join(root, source)):
                if not os.access(os.path.join(root, source), os.X_OK):
                    problem(f"{name}: {source} is not executable")
                text = read(root, source)
                named |= set(NAMED.findall(text))
                # The files it sources (from the top of the tree, where it
                # runs), and what they name.
                for sourced in sourced_files(text):
                    if NAMED.fullmatch(sourced) and os.path.isfile(os.path.join(root, sourced)):
                        named |= set(NAMED.findall(read(root, sourced)))
        for path in sorted(named):
            source = repo_path(stage, path)
            if source is None:
                problem(f"{name}: {path} is named but not copied into the image")
            elif not os.path.exists(os.path.join(root, source)):
                problem(f"{name}: {path} is named but {source} does not exist")

    # db: make run and the container bootstrap the database with the one
    # file: both source it, pass its settings to pgcluster_init (the
    # container adds only its own), call its setup, and keep no copy of it.
    entry = read(root, "docker/db-entrypoint.sh")
    bootstrap = read(root, BOOTSTRAP)
    settings = bootstrap_settings(bootstrap)
    sql = {line.strip() for line in here_documents(bootstrap) if line.strip()}
    if not settings or not sql:
        problem(f"{BOOTSTRAP} has no DB_BOOTSTRAP_SETTINGS or no setup SQL")
        settings = settings or {}
    for where, text, extra in (("deploy/run.sh", run_sh, []),
                               ("docker/db-entrypoint.sh", entry, CONTAINER_ONLY_SETTINGS)):
        if BOOTSTRAP not in sourced_files(text) and f"$ROOT/{BOOTSTRAP}" not in sourced_files(text):
            problem(f"db: {where} does not source {BOOTSTRAP}")
        passed = init_settings(text)
        if passed != [BOOTSTRAP_SETTINGS, *extra]:
            problem(f"db: {where} passes pgcluster_init {passed}, not "
                    f"{[BOOTSTRAP_SETTINGS, *extra]} (the settings of {BOOTSTRAP})")
        for call in BOOTSTRAP_CALLS:
            if not re.search(r"^\s*" + call + r"\b", text, re.M):
                problem(f"db: {where} does not call {call} ({BOOTSTRAP})")
        code = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
        for name in settings:
            if any(re.search(r"\b" + re.escape(name) + r"\s*=", line) for line in code):
                problem(f"db: {where} sets {name} itself, a copy of {BOOTSTRAP}'s setting")
        copied = sorted(sql & {line.strip() for line in here_documents(text)})
        if copied:
            problem(f"db: {where} has a copy of {BOOTSTRAP}'s setup SQL: {copied}")
        own_max_n = shell_defaults(text).get("FIB_WEB_MAX_N")
        if own_max_n is not None:
            problem(f"db: {where} defaults FIB_WEB_MAX_N to {own_max_n} itself, "
                    f"a copy of {BOOTSTRAP}'s")
    bootstrap_max_n = shell_defaults(bootstrap).get("FIB_WEB_MAX_N")
    compose_max_n = services["db"].get("environment", {}).get("FIB_WEB_MAX_N")
    if bootstrap_max_n is None or compose_max_n != bootstrap_max_n:
        problem(f"db: FIB_WEB_MAX_N is {compose_max_n} in docker-compose.yml, "
                f"{bootstrap_max_n} in {BOOTSTRAP} (make run's)")
    entry_defaults = shell_defaults(entry)

    # The ports inside the containers are make run's.
    pgport = int(entry_defaults.get("PGPORT", 0))
    ports = {"db's default PGPORT": pgport, "db's EXPOSE": stages["db"]["expose"][0]}
    for name in ("db", "replica"):
        env_port = services[name].get("environment", {}).get("PGPORT")
        if env_port is not None:
            ports[f"{name}'s PGPORT"] = int(env_port)
        ports[f"{name}'s healthcheck"] = int(re.search(r" -p (\d+)", services[name]["healthcheck"]["test"][1]).group(1))
    web_env = dict(stages["web"]["env"], **services["web"].get("environment", {}))
    web_dsn = dsn(web_env.get("FIB_WEB_DATABASE_URL", ""))
    ports["web's FIB_WEB_DATABASE_URL"] = int(web_dsn.get("port", 5432))
    for where, port in ports.items():
        if port != run_pgport:
            problem(f"PostgreSQL's port: {where} is {port}, make run's is {run_pgport}")
    if web_dsn.get("host") != "db":
        problem(f"web connects to host {web_dsn.get('host')}, not the service db")

    # Gunicorn: on TCP between the containers (make run's is on a Unix
    # socket), one port everywhere.
    bind = web_env.get("GUNICORN_BIND", "")
    container_gunicorn_port = int(bind.rpartition(":")[2] or 0)
    gunicorn_ports = {"web's EXPOSE": stages["web"]["expose"][0],
                      "web's healthcheck": int(re.search(r":(\d+)/", " ".join(services["web"]["healthcheck"]["test"])).group(1)),
                      "nginx's UPSTREAM": int(services["nginx"]["environment"].get("UPSTREAM", ":0").rpartition(":")[2])}
    for where, port in gunicorn_ports.items():
        if port != container_gunicorn_port:
            problem(f"Gunicorn's port: {where} is {port}, web's GUNICORN_BIND is "
                    f"{container_gunicorn_port}")

    nginx_env = services["nginx"]["environment"]
    published = services["nginx"].get("ports", [])
    nginx_ports = {"nginx's PORT": int(nginx_env.get("PORT", 0)),
                   "nginx's EXPOSE": stages["nginx"]["expose"][0],
                   "nginx's healthcheck": int(re.search(r":(\d+)/", " ".join(services["nginx"]["healthcheck"]["test"])).group(1))}
    for p in published:
        # docker-compose 1.29's normal form: "127.0.0.1:8080:8080/tcp", or
        # {published, target} without an address
        if isinstance(p, dict):
            host_ip, host_port, target = p.get("host_ip", ""), p.get("published"), p["target"]
        else:
            host_ip, host_port, target = str(p).split("/")[0].split(":")
        nginx_ports["nginx's published port (container side)"] = int(target)
        if host_ip != "127.0.0.1":
            problem(f"nginx is published on {host_ip}, not on loopback alone")
        host_port = int(host_port)
        if host_port != int(run_defaults["PORT"]):
            problem(f"nginx is published on {host_port}, make run listens on {run_defaults['PORT']}")
    for where, port in nginx_ports.items():
        if port != int(run_defaults["PORT"]):
            problem(f"Nginx's port: {where} is {port}, make run's is {run_defaults['PORT']}")
    nginx_defaults = shell_defaults(read(root, "docker/nginx-start.sh"))
    for key in ("RATE", "BURST"):
        for where, value in (("docker-compose.yml", nginx_env.get(key)),
                             ("docker/nginx-start.sh", nginx_defaults.get(key))):
            if value != run_defaults.get(key):
                problem(f"Nginx's {key} is {value} in {where}, {run_defaults.get(key)} under make run")

    # web: Gunicorn runs as make run starts it, with the same settings from
    # deploy/gunicorn.conf.py, and the app with the same environment.
    run_gunicorn = supervised_command(supervisord_conf, "gunicorn")
    web_argv = services["web"].get("command") or stages["web"]["cmd"]
    run_app = app_environment(run_sh)
    if run_gunicorn is None or run_app is None:
        problem("deploy/supervisord.conf runs no gunicorn, or deploy/run.sh gives it no app_env")
        return problems

    def gunicorn_parts(argv):
        apps = [a for a in argv if re.fullmatch(r"[\w.]+:\w+(\(.*\))?", a)]
        return {"config": argv[argv.index("--config") + 1] if "--config" in argv else None,
                "app": apps}
    want, got = gunicorn_parts(run_gunicorn[1:]), gunicorn_parts(web_argv[1:])
    if web_argv[0] != "gunicorn" or run_gunicorn[0] != "gunicorn" or want != got:
        problem(f"web runs {web_argv}, make run runs gunicorn with {want}")
    if "--user www-data --group www-data" not in " ".join(web_argv) or \
            "--user @APP_USER@ --group @APP_GROUP@" not in " ".join(run_gunicorn) or \
            not re.search(r"^\s*APP_USER=www-data\n\s*APP_GROUP=www-data$", run_sh, re.M):
        problem("web's Gunicorn workers do not run as www-data as make run's do")
    # Gunicorn's settings under each environment, but where it listens and
    # its pid file (make run's, for make status; a container has none).
    run_env = {k: v for k, v in run_app.items() if k.startswith("GUNICORN_")}
    run_env["GUNICORN_BIND"] = f"unix:{RUN_SOCKET}"
    want, got = gunicorn_settings(root, run_env), gunicorn_settings(root, web_env)
    for key in sorted(set(want) | set(got)):
        if key in ("bind", "pidfile"):
            continue
        if want.get(key) != got.get(key):
            problem(f"Gunicorn's {key} is {got.get(key)!r} in the container, "
                    f"{want.get(key)!r} under make run")
    # FIB_WEB_APP_VERSION is make run's alone: the version its Nginx's cache
    # keys name (deploy/run.sh app_version); the containers' Nginx has no
    # copy of the app to hash, and its cache goes with its container.
    run_app_env = {k for k in run_app if k.startswith("FIB_WEB_")} - {"FIB_WEB_APP_VERSION"}
    app_env = {k for k in web_env if k.startswith("FIB_WEB_")}
    if app_env != run_app_env:
        problem(f"the app's environment sets {sorted(app_env)} in the container, "
                f"{sorted(run_app_env)} under make run")
    # The same connection but for where the server is and how the password
    # comes (make run: a passfile; the container: PGPASSWORD).
    run_dsn = dsn(run_app.get("FIB_WEB_DATABASE_URL", ""))
    for key in sorted(set(run_dsn) | set(web_dsn)):
        if key not in ("host", "port", "passfile") and run_dsn.get(key) != web_dsn.get(key):
            problem(f"FIB_WEB_DATABASE_URL: {key} is {web_dsn.get(key)} in the container, "
                    f"{run_dsn.get(key)} under make run")
    if "passfile" in run_dsn and "PGPASSWORD" not in web_env:
        problem("web has no PGPASSWORD: fib_web logs in with a password, as under make run")

    # nginx: the configuration is make run's template filled the same way,
    # but for the listen address, Gunicorn's address and daemon off.
    problems += nginx_differences(root, nginx_env, run_defaults, container_gunicorn_port)
    if "-e 's/^daemon on;$/daemon off;/'" not in run_sh:
        problem("make run's Nginx does not run in the foreground (daemon off) under supervisord")
    return problems


def gunicorn_settings(root, env):
    """The module-level settings of deploy/gunicorn.conf.py under env."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "FIB_WEB_"))}
    with mock.patch.dict(os.environ, dict(clean, **env), clear=True):
        settings = runpy.run_path(os.path.join(root, "deploy", "gunicorn.conf.py"))
    # Settings, not the modules it imports nor its hooks (the same code).
    return {k: v for k, v in settings.items()
            if not k.startswith("_") and not callable(v) and not isinstance(v, types.ModuleType)}


def nginx_differences(root, nginx_env, run_defaults, gunicorn_port):
    prefix = "/var/lib/pg_fib-nginx"
    env = dict(os.environ, NGINX_PREFIX=prefix, **{k: str(v) for k, v in nginx_env.items()})
    container = subprocess.run([os.path.join(root, "docker", "nginx-start.sh"), "--print"],
                               env=env, capture_output=True, text=True, check=True).stdout
    ours = subprocess.run([os.path.join(root, "deploy", "run.sh"), "nginx-conf", prefix,
                           f"127.0.0.1:{run_defaults['PORT']}", f"unix:{RUN_SOCKET}",
                           run_defaults["RATE"], run_defaults["BURST"]],
                          capture_output=True, text=True, check=True).stdout
    # What the container changes, each in its own lines: daemon (the
    # template's is on, for the web tests; the container's is off, as make
    # run's, checked in its script), the address Nginx listens on (with
    # whatever else its listen line says), and Gunicorn's.
    port = run_defaults["PORT"]
    rewrites = [("daemon on;", "daemon off;"),
                (f"listen 127.0.0.1:{port}", f"listen 0.0.0.0:{port}"),
                (f"server unix:{RUN_SOCKET}", f"server web:{gunicorn_port}")]
    # The template's comments name the placeholders, filled in too.
    a = [line for line in ours.splitlines() if not line.lstrip().startswith("#")]
    b = [line for line in container.splitlines() if not line.lstrip().startswith("#")]
    if len(a) != len(b):
        return [f"nginx: the container's configuration has {len(b)} lines, make run's {len(a)}"]
    problems = []
    used = set()
    for x, y in zip(a, b):
        if x == y:
            continue
        fits = [r for r in rewrites if r[0] in x and x.replace(*r) == y]
        if fits:
            used.add(fits[0])
        else:
            problems.append(f"nginx: {y.strip()!r} in the container, {x.strip()!r} under make run")
    if not problems and used != set(rewrites):
        problems.append(f"nginx: expected the container to change exactly {rewrites}, "
                        f"it changed {sorted(used)}")
    return problems
