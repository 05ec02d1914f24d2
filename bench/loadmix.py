"""The web front under load, as the load, fault and soak runs make it: wrk
with bench/mix.lua through Nginx, and samplers of what the machine does.

test/web/test_load.py and test_faults.py (in "make test") and bench/soak.py
("make soak") use it; so the mix, and how it is read, is written once.
"""

import json
import os
import subprocess
import threading
import time

MIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mix.lua")
# The mix's memo hits ask for these n (bench/mix.lua): memoize them first.
MEMO_HITS = range(5000, 6000)
# And its cache hits for these.
CACHE_HITS = range(100, 120)


def wrk(url, seconds, connections, threads=2, sync_max_n=3000000, delay_ms=0, timeout_s=10):
    """Run wrk with the mix against url for seconds; the dict mix.lua's
    done() prints (requests, statuses, errors, latency_us)."""
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
         "--timeout", f"{timeout_s}s", "-s", MIX, url, "--", str(sync_max_n), str(delay_ms)],
        check=True, capture_output=True, text=True, timeout=seconds + 120).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["statuses"] = {int(k): v for k, v in result["statuses"].items()}
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


class Sampler:
    """Calls sample() every interval seconds in a thread, keeping
    (seconds since start, value) pairs, until stopped (a context manager)."""

    def __init__(self, sample, interval):
        self.sample, self.interval = sample, interval
        self.values = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        start = time.monotonic()
        while not self._stop.is_set():
            try:
                value = self.sample()
            except Exception as error:  # a sample that fails is recorded as such
                value = error
            self.values.append((time.monotonic() - start, value))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def good(self):
        return [v for _, v in self.values if not isinstance(v, Exception)]


def fib_web_connections(conn):
    """The server's backends of role fib_web (the web front's pools)."""
    return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = 'fib_web'"
                        ).fetchone()[0]


def rss_kb(pid):
    """A process's resident set, in kB (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def summary_table(result, extra=()):
    """A markdown table of one wrk result."""
    lat = result["latency_us"]
    statuses = ", ".join(f"{s}: {c}" for s, c in sorted(result["statuses"].items()))
    rows = [("requests", f"{result['requests']} in {result['duration_us'] / 1e6:.0f} s "
                         f"({result['rps']:.0f}/s)"),
            ("statuses", statuses),
            ("5xx", str(sum(c for s, c in result["statuses"].items() if s >= 500))),
            ("socket errors", ", ".join(f"{k} {v}" for k, v in result["errors"].items())),
            ("latency p50 / p90 / p99 / max (ms)",
             f"{lat['p50'] / 1000:.2f} / {lat['p90'] / 1000:.2f} / {lat['p99'] / 1000:.2f} / "
             f"{lat['max'] / 1000:.1f}")]
    rows += list(extra)
    return "| measure | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
