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
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path[:0] = [os.path.join(ROOT, "test", "web"), os.path.join(ROOT, "test", "python"),
                os.path.join(ROOT, "bench"), ROOT]

import loadmix  # noqa: E402
from cluster import Cluster  # noqa: E402
from conftest import SYNC_MAX_N, Database, Stack  # noqa: E402

SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
CONNECTIONS = int(os.environ.get("SOAK_CONNECTIONS", "8"))
DELAY_MS = int(os.environ.get("SOAK_DELAY_MS", "20"))
INTERVAL = float(os.environ.get("SOAK_INTERVAL", "10"))
RESULTS = os.path.join(ROOT, "bench", "results")
GROUPS = ("Gunicorn workers", "PostgreSQL backends of fib_web", "pg_fib keeper and workers")


def sample(stack, su):
    """Total VmRSS and RssAnon (kB) of each group of processes."""
    pids = {
        GROUPS[0]: loadmix.children(stack.gunicorn.pid),
        GROUPS[1]: [r[0] for r in su.execute(
            "SELECT pid FROM pg_stat_activity WHERE usename = 'fib_web'")],
        GROUPS[2]: [r[0] for r in su.execute(
            "SELECT pid FROM pg_stat_activity WHERE backend_type LIKE 'pg_fib %'")],
    }
    out = {}
    for group, members in pids.items():
        rss = anon = 0
        for pid in members:
            fields = _status(pid)
            rss += fields.get("VmRSS", 0)
            anon += fields.get("RssAnon", 0)
        out[group] = (rss, anon, len(members))
    return out


def _status(pid):
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                name, _, value = line.partition(":")
                if name in ("VmRSS", "RssAnon"):
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
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
    for index, title in ((0, "VmRSS (MB)"), (1, "RssAnon: private memory (MB)")):
        for group in GROUPS:
            axes[index].plot([t / 60 for t in times], [s[group][index] / 1024 for s in samples],
                             marker="o", markersize=3, label=group)
        axes[index].set_title(title)
        axes[index].set_xlabel("minutes")
        axes[index].set_ylim(bottom=0)
        axes[index].grid(alpha=0.3)
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
        cluster.init().start()
        cluster.wait_ready()
        database = Database(cluster)
        with database.su() as su:
            su.execute("CREATE EXTENSION pg_fib")
        database.run_fib_web_sql()
        database.wait_workers()
        stack = Stack(database, rate="1000000r/s", burst="1000000",
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
        rss = [s[group][0] for s in samples]
        anon = [s[group][1] for s in samples]
        count = samples[-1][group][2]
        rows.append(f"| {group} ({count}) | {rss[1] / 1024:.1f} | {rss[-1] / 1024:.1f} | "
                    f"{growth(rss):+.1f}% | {anon[1] / 1024:.1f} | {anon[-1] / 1024:.1f} | "
                    f"{growth(anon):+.1f}% |")
    report = (f"Soak: {SECONDS} s, wrk {CONNECTIONS} connections, {DELAY_MS} ms between "
              f"requests on each, bench/mix.lua; {len(samples)} samples every {INTERVAL:.0f} s.\n\n"
              + loadmix.summary_table(result) + "\n\n"
              "Resident memory, summed over each group (MB; growth: median of the last fifth "
              "of the samples against the first fifth after warm-up):\n\n"
              "| processes | VmRSS first | VmRSS last | VmRSS growth | RssAnon first | "
              "RssAnon last | RssAnon growth |\n|---|---:|---:|---:|---:|---:|---:|\n"
              + "\n".join(rows) + f"\n\nPlot: {png}\n")
    with open(os.path.join(RESULTS, "soak.md"), "w") as f:
        f.write(report)
    print(report)


if __name__ == "__main__":
    main()
