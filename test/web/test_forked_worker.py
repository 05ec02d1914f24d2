"""What the app keeps per process survives a fork: Gunicorn forks its
workers, and the app keeps its pid (web.metrics) and its deadline thread
(web.deadline) instead of asking the kernel at every call.

Each test runs in a Python process of its own (the metrics' multiprocess
mode is chosen when prometheus_client is first imported), which imports the
module, uses it, forks, and uses it again in both processes.
"""

import json
import os
import subprocess
import sys
import tempfile
import textwrap

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def run(script, **env):
    """The JSON script prints last, run by Debian's Python with the repository
    on its path."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=ROOT, **env),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_each_forked_worker_counts_in_files_of_its_own_without_asking_its_pid():
    with tempfile.TemporaryDirectory(prefix="pg_fib-metrics.") as directory:
        got = run("""
            import json, os, sys
            from prometheus_client import values
            from web import metrics

            # Calls of os.getpid however reached (the client keeps its own
            # reference to it).
            calls = []
            sys.setprofile(lambda frame, event, arg: calls.append(1)
                           if event == "c_call" and arg is os.getpid else None)
            metrics.REQUESTS.labels("/r", "200").inc()
            metrics.LATENCY.labels("/r").observe(0.01)
            sys.setprofile(None)
            observing = len(calls)
            child = os.fork()
            if child == 0:
                metrics.REQUESTS.labels("/r", "200").inc(5)
                os._exit(0)
            os.waitpid(child, 0)
            metrics.REQUESTS.labels("/r", "200").inc(2)
            print(json.dumps({"parent": os.getpid(), "child": child, "observing": observing,
                              "multiprocess": values.ValueClass is not values.MutexValue}))
            """, PROMETHEUS_MULTIPROC_DIR=directory)
        assert got["multiprocess"]
        # No system call per observation (the fork hook asks once, in the child).
        assert got["observing"] == 0
        counts = {}
        from prometheus_client.mmap_dict import MmapedDict
        for pid in (got["parent"], got["child"]):
            path = os.path.join(directory, f"counter_{pid}.db")
            assert os.path.exists(path), os.listdir(directory)
            for key, value, _ in MmapedDict.read_all_values_from_file(path):
                if '"fib_web_http_requests_total"' in key:
                    counts[pid] = value
        # Each process's own count, neither written over by the other.
        assert counts == {got["parent"]: 3.0, got["child"]: 5.0}


def test_a_forked_worker_enforces_its_own_deadlines():
    got = run("""
        import json, os, socket, time
        from web.deadline import WATCHDOG

        def cut_off_after(seconds):
            # A call blocked on a socket that never answers, under a deadline.
            a, b = socket.socketpair()
            a.settimeout(5)  # without a watchdog: socket.timeout, not a hang
            start = time.monotonic()
            with WATCHDOG.guard(a.fileno(), seconds) as watch:
                try:
                    a.recv(1)  # b'' once the watchdog shuts the socket down
                except socket.timeout:
                    pass
            return watch.fired, time.monotonic() - start

        parent = cut_off_after(0.3)  # starts the parent's watchdog thread
        read, write = os.pipe()
        child = os.fork()
        if child == 0:
            os.write(write, json.dumps(cut_off_after(0.3)).encode())
            os._exit(0)
        os.waitpid(child, 0)
        print(json.dumps({"parent": parent, "child": json.loads(os.read(read, 1000))}))
        """)
    for fired, took in got.values():
        assert fired and took < 5, got
