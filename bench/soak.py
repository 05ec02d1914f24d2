"""The soak ("make soak"): the load mix of bench/mix.lua at a lower rate for
ten minutes through Nginx, with the resident memory of the Gunicorn
workers, of PostgreSQL's backends serving them and of pg_fib's keeper and
workers sampled every 10 s, plotted to bench/results/soak.png and
summarised in bench/results/soak.md.

The stack is the test suites' (test/web/conftest.py): a cluster of its own
with pg_fib preloaded and two compute workers, Gunicorn with
deploy/gunicorn.conf.py (two workers, max_requests off, so that a leak
would show instead of being recycled away) and Nginx from deploy/nginx.conf.

Environment: SOAK_SECONDS (600), SOAK_CONNECTIONS (8), SOAK_DELAY_MS (20:
each connection waits that long between requests), SOAK_INTERVAL (10).
"""

import os
import statistics
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path[:0] = [os.path.join(ROOT, "test", "web"), os.path.join(ROOT, "test", "python"),
                os.path.join(ROOT, "bench"), ROOT]

import loadmix  # noqa: E402
from cluster import Cluster  # noqa: E402
from conftest import SYNC_MAX_N, Database, Stack  # noqa: E402
from procs import children  # noqa: E402

SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
CONNECTIONS = int(os.environ.get("SOAK_CONNECTIONS", "8"))
DELAY_MS = int(os.environ.get("SOAK_DELAY_MS", "20"))
INTERVAL = float(os.environ.get("SOAK_INTERVAL", "10"))
RESULTS = os.path.join(ROOT, "bench", "results")
GROUPS = ("Gunicorn workers", "PostgreSQL backends of fib_web", "pg_fib keeper and workers")
# The resident set, and its two parts that matter here: private memory
# (RssAnon: a leak grows it) and shared memory (RssShmem: for PostgreSQL's
# processes the pages of shared_buffers each has touched, which grows up to
# shared_buffers as they read and write more of the tables).
FIELDS = ("VmRSS", "RssAnon", "RssShmem")
TITLES = {"VmRSS": "VmRSS: resident (MB)", "RssAnon": "RssAnon: private (MB)",
          "RssShmem": "RssShmem: shared memory touched (MB)"}


def sample(stack, su):
    """Each group's FIELDS of /proc/<pid>/status, summed (kB), and its size."""
    pids = {
        GROUPS[0]: children(stack.gunicorn.pid),
        GROUPS[1]: [r[0] for r in su.execute(
            "SELECT pid FROM pg_stat_activity WHERE usename = 'fib_web'")],
        GROUPS[2]: [r[0] for r in su.execute(
            "SELECT pid FROM pg_stat_activity WHERE backend_type LIKE 'pg_fib %'")],
    }
    out = {}
    for group, members in pids.items():
        totals = dict.fromkeys(FIELDS, 0)
        for pid in members:
            for name, kb in _status(pid).items():
                totals[name] += kb
        out[group] = (totals, len(members))
    return out


def _status(pid):
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                name, _, value = line.partition(":")
                if name in FIELDS:
                    fields[name] = int(value.split()[0])
    except OSError:
        pass
    return fields


def growth(series):
    """The change from the median of the first fifth to that of the last
    fifth (after the first sample, which is before warm-up), in percent."""
    body = series[1:]
    k = max(1, len(body) // 5)
    first, last = statistics.median(body[:k]), statistics.median(body[-k:])
    return 100.0 * (last - first) / first if first else 0.0


def plot(times, samples, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(FIELDS), figsize=(15, 4), sharex=True)
    for axis, field in zip(axes, FIELDS):
        for group in GROUPS:
            axis.plot([t / 60 for t in times], [s[group][0][field] / 1024 for s in samples],
                      marker="o", markersize=3, label=group)
        axis.set_title(TITLES[field])
        axis.set_xlabel("minutes")
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"make soak: {SECONDS // 60} min, {CONNECTIONS} connections, "
                 f"{DELAY_MS} ms between requests", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    os.makedirs(RESULTS, exist_ok=True)
    cluster = Cluster(settings=["shared_preload_libraries = 'pg_fib'", "pg_fib.workers = 2",
                                "max_worker_processes = 16"])
    stack = None
    try:
        database = Database.create(cluster)
        stack = Stack(database, rate="1000000r/s", burst="1000000", uncached="1000000",
                      env={"GUNICORN_MAX_REQUESTS": "0"}).start()
        from test_load import memoize_the_mix
        memoize_the_mix(database, stack)
        with database.su() as su:
            def one():
                return sample(stack, su)
            with loadmix.Sampler(one, INTERVAL) as sampler:
                result = loadmix.wrk(stack.url, SECONDS, CONNECTIONS, sync_max_n=SYNC_MAX_N,
                                     delay_ms=DELAY_MS)
        good = [(t, v) for t, v in sampler.values if not isinstance(v, Exception)]
        times, samples = [t for t, _ in good], [v for _, v in good]
    finally:
        if stack is not None:
            stack.stop()
        cluster.destroy()

    png = os.path.join(RESULTS, "soak.png")
    plot(times, samples, png)
    rows = []
    for group in GROUPS:
        cells = []
        for field in FIELDS:
            series = [s[group][0][field] for s in samples]
            cells += [f"{series[1] / 1024:.1f}", f"{series[-1] / 1024:.1f}",
                      f"{growth(series):+.1f}%"]
        rows.append(f"| {group} ({samples[-1][group][1]}) | " + " | ".join(cells) + " |")
    header = "| processes | " + " | ".join(f"{f} first | {f} last | {f} growth" for f in FIELDS)
    report = (f"Soak: {SECONDS} s, wrk {CONNECTIONS} connections, {DELAY_MS} ms between "
              f"requests on each, bench/mix.lua; {len(samples)} samples every {INTERVAL:.0f} s.\n\n"
              + loadmix.summary_table(result) + "\n\n"
              "Memory, summed over each group (MB; growth: median of the last fifth "
              "of the samples against the first fifth after warm-up):\n\n"
              + header + " |\n|---|" + "---:|" * (3 * len(FIELDS)) + "\n"
              + "\n".join(rows) + f"\n\nPlot: {png}\n")
    with open(os.path.join(RESULTS, "soak.md"), "w") as f:
        f.write(report)
    print(report)


if __name__ == "__main__":
    main()
