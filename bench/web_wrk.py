"""bench/web.sh's measuring half: one wrk run, with the CPU time every
process of the stack spent on it, and the report of all runs.

    web_wrk.py run OUT VARIANT ROUND URL PREFIX LO HI [options]
        wrk -s bench/cycle.lua URL -- PREFIX LO HI, appending one JSON line
        to OUT: requests/s, latency percentiles, and the CPU seconds of each
        process tree named by --group NAME=PIDFILE (Nginx, each Gunicorn,
        PostgreSQL: the process in PIDFILE's first line and all its
        descendants, those that ended meanwhile included) and of wrk itself,
        with the whole machine's busy time over the same interval.
        Options: --connections, --threads, --seconds, --header, --group.
        Fails on any socket error or non-2xx answer.
    web_wrk.py report OUT TITLE
        The markdown report of OUT (bench/results/web.md).

CPU time comes from /proc/<pid>/stat (utime + stime, and cutime + cstime
of the children a process has reaped: a Gunicorn worker recycled during a
run is counted by its master); it is noisy too (a busy machine runs every
instruction slower) but far less than requests/s, which also depend on
how much of the 2 cores the other engineers' work leaves us.
"""

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TICK = os.sysconf("SC_CLK_TCK")


def _read_pid(pidfile):
    with open(pidfile) as f:
        return int(f.readline().split()[0])


def _processes():
    """pid -> (ppid, seconds of CPU, of which in the kernel: own plus
    reaped children's)."""
    procs = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # ended meanwhile
        rest = stat[stat.rindex(")") + 2:].split()
        ppid = int(rest[1])
        ticks = [int(v) for v in rest[11:15]]  # utime stime cutime cstime
        procs[int(entry)] = (ppid, sum(ticks) / TICK, (ticks[1] + ticks[3]) / TICK)
    return procs


def _switches(pid):
    """Context switches of all the threads of pid so far (a process's
    ended children's are lost: a rare worker recycled during a run)."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/status") as f:
                for line in f:
                    if "ctxt_switches:" in line:  # voluntary and nonvoluntary
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def _postgres_class(pid):
    """Which part of PostgreSQL a process of its tree is: a client backend,
    pg_fib's keeper or worker, or the rest (the postmaster, which also
    holds the time of the backends that ended, the WAL writer, ...)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            title = f.read().decode(errors="replace")
    except OSError:
        return "postgres_other"
    if title.startswith("postgres: pg_fib"):
        return "postgres_pg_fib"
    if re.match(r"postgres: \S+ \S+ (\d|\[local\])", title):
        return "postgres"
    return "postgres_other"


def _pss_kb(pid):
    """The process's proportional set size in kB (shared pages divided
    among the processes sharing them, so that a tree's sum is its memory)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _memory_kb(groups):
    """The PSS of each group's process tree, in kB."""
    procs = _processes()
    return {name: sum(_pss_kb(pid) for pid in _tree(procs, root))
            for name, root in groups.items()}


def _tree(procs, root):
    """The pids of root's process tree, among procs (_processes())."""
    children = {}
    for pid, (ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    todo, tree = [root], []
    while todo:
        pid = todo.pop()
        if pid in procs:
            tree.append(pid)
            todo.extend(children.get(pid, []))
    return tree


def _trees(groups):
    """[CPU seconds, of which in the kernel, context switches] of each
    group's process tree; the tree of the group named postgres is split by
    _postgres_class."""
    procs = _processes()
    result = {}
    for name, root in groups.items():
        if name == "postgres":
            for key in ("postgres", "postgres_pg_fib", "postgres_other"):
                result[key] = [0.0, 0.0, 0]
        else:
            result[name] = [0.0, 0.0, 0]
        for pid in _tree(procs, root):
            key = _postgres_class(pid) if name == "postgres" else name
            result[key][0] += procs[pid][1]
            result[key][1] += procs[pid][2]
            result[key][2] += _switches(pid)
    return result


def _machine_busy():
    """Seconds all CPUs of the machine spent busy so far."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / TICK


def run(argv):
    import argparse
    parser = argparse.ArgumentParser(prog="web_wrk.py run")
    for name in ("out", "variant", "round", "url", "prefix", "lo", "hi"):
        parser.add_argument(name)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--group", action="append", default=[])
    args = parser.parse_args(argv)
    groups = {}
    for spec in args.group:
        name, pidfile = spec.split("=", 1)
        groups[name] = _read_pid(pidfile)

    cmd = ["wrk", "-t", str(args.threads), "-c", str(args.connections),
           "-d", f"{args.seconds}s", "--timeout", "10s", "-s", os.path.join(HERE, "cycle.lua")]
    for header in args.header:
        cmd += ["-H", header]
    cmd += [args.url, "--", args.prefix, args.lo, args.hi]

    before = _trees(groups)
    busy0, wall0 = _machine_busy(), time.monotonic()
    wrk0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.seconds + 60)
    if done.returncode != 0:
        sys.exit(f"web_wrk.py: {' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
    out = done.stdout
    wrk1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy1, wall1 = _machine_busy(), time.monotonic()
    after = _trees(groups)
    memory = _memory_kb(groups)

    result = json.loads(out.strip().splitlines()[-1])
    errors = result.pop("errors")
    if any(errors.values()):
        sys.exit(f"web_wrk.py: {args.variant} ({args.url}{args.prefix}{args.lo}..{args.hi}): "
                 f"errors {errors}\n{out}")
    cpu = {name: after[name][0] - before[name][0] for name in after}
    cpu_sys = {name: after[name][1] - before[name][1] for name in after}
    switches = {name: after[name][2] - before[name][2] for name in after}
    cpu["wrk"] = (wrk1.ru_utime + wrk1.ru_stime) - (wrk0.ru_utime + wrk0.ru_stime)
    record = {
        "variant": args.variant, "round": int(args.round),
        "connections": args.connections, "threads": args.threads,
        "rps": result["requests"] / (result["duration_us"] / 1e6),
        **{k: result[k] for k in ("requests", "p50_us", "p90_us", "p99_us")},
        "cpu_s": cpu, "cpu_sys_s": cpu_sys, "switches": switches, "pss_kb": memory,
        "wall_s": wall1 - wall0, "machine_busy_s": busy1 - busy0,
    }
    with open(args.out, "a") as f:
        f.write(json.dumps(record) + "\n")


# The report ---------------------------------------------------------------

# Variant -> its line in the table.  bench/web.sh runs those it is asked to.
LABELS = {
    "bare": "bare Flask route `/bare/<n>`, its own Gunicorn (4 sync workers)",
    "old": "old stack's replica `/old/calculate/<n>`, its own Gunicorn (4 sync workers)",
    "memo": "`/api/v1/fib/<n>`, memo hits, n in 9000..10999 (2 sync workers)",
    "inline": "`/api/v1/fib/<n>`, computed inline, n in 1000..4999",
    "cached": "`/api/v1/fib/<n>` from Nginx's cache, n in 9000..10999",
    "bare64": "bare Flask route, 64 connections",
    "memo64": "`/api/v1/fib/<n>`, memo hits, 64 connections",
    "floor": "what-if floor: bare route + one psycopg2 `EXECUTE` (`bench/web_floor.py`)",
    "floor_tagged": "what-if floor, request id set by the statement",
    "memo_nobuffer": "`/api/v1/fib/<n>` memo hits, Nginx `proxy_buffering off`",
    "memo_gthread": "`/api/v1/fib/<n>` memo hits, gthread workers 4 x 2",
    "memo_gthread_nokeepalive": "the same without upstream keep-alive",
    "bare_gthread": "bare Flask route, its own Gunicorn as the api's (2 sync workers)",
    "bare_2k": "bare Flask route answering a constant as long as F(10000)'s JSON",
    "floor_wsgi": "what-if floor without Flask: a WSGI function + one psycopg2 `EXECUTE` "
                  "with the request id",
    "floor_wsgi_gthread": "the same under gthread workers (4 x 2), upstream keep-alive",
}
# (name, numerator, denominator, goal)
RATIOS = [
    ("memo hit / bare", "memo", "bare", ">= 0.8"),
    ("memo hit / bare, the same worker class", "memo", "bare_gthread", ""),
    ("memo hit / old", "memo", "old", ">= 3"),
    ("inline / bare", "inline", "bare", ">= 0.8"),
    ("inline / old", "inline", "old", ">= 3"),
    ("cached / bare", "cached", "bare", ">= 10"),
    ("old / bare", "old", "bare", ""),
    ("floor / bare", "floor", "bare", ""),
    ("floor tagged / bare", "floor_tagged", "bare", ""),
    ("memo, proxy_buffering off / memo", "memo_nobuffer", "memo", ""),
    ("memo gthread 4 x 2 / memo", "memo_gthread", "memo", ""),
    ("memo gthread without keep-alive / with", "memo_gthread_nokeepalive", "memo_gthread", ""),
    ("bare as the api's Gunicorn / bare (4 sync)", "bare_gthread", "bare", ""),
    ("bare, 2 kB body / bare", "bare_2k", "bare", ""),
    ("floor without Flask / bare", "floor_wsgi", "bare", ""),
    ("floor without Flask / old", "floor_wsgi", "old", ""),
    ("floor without Flask, gthread / bare", "floor_wsgi_gthread", "bare", ""),
    ("floor without Flask, gthread / old", "floor_wsgi_gthread", "old", ""),
]


def _load(path):
    runs = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            runs.setdefault(r["variant"], {})[r["round"]] = r
    return runs


def _cpu_us(r, name):
    return r["cpu_s"].get(name, 0.0) / r["requests"] * 1e6


PARTS = ("nginx", "app", "postgres", "postgres_pg_fib", "postgres_other", "wrk")


def _split_cpu(r):
    """Per request, in µs: Nginx, the Gunicorn apps, PostgreSQL's parts, wrk."""
    apps = sum(v for k, v in r["cpu_s"].items() if k not in PARTS)
    split = {k: _cpu_us(r, k) for k in PARTS}
    split["app"] = apps / r["requests"] * 1e6
    return split


def _app_mb(rs):
    """The median PSS of the restarted Gunicorn (alt: master and workers)
    after its runs, in MB, or - when not recorded."""
    values = [r["pss_kb"]["alt"] for r in rs if "alt" in r.get("pss_kb", {})]
    return f"{statistics.median(values) / 1024:.0f}" if values else "-"


def report(argv):
    path, title = argv
    runs = _load(path)
    med = statistics.median
    out = [f"# {title}\n"]

    def ratio(a, b):
        rounds = sorted(set(runs[a]) & set(runs[b]))
        return [runs[a][i]["rps"] / runs[b][i]["rps"] for i in rounds]

    def cpu_ratio(a, b):
        """The same ratio as the CPU time per request predicts it: b's / a's."""
        rounds = sorted(set(runs[a]) & set(runs[b]))
        return [sum(_split_cpu(runs[b][i]).values()) / sum(_split_cpu(runs[a][i]).values())
                for i in rounds]

    out.append("Medians over the rounds; each ratio is the median of the ratios within a round "
               "(variants taking turns in the same round saw the same machine; the machine is "
               "shared, so absolute figures move from run to run and only ratios compare).\n")
    out.append("| variant | conns | requests/s | p50 (ms) | p99 (ms) | vs bare |")
    out.append("|---|---:|---:|---:|---:|---:|")
    for v, label in LABELS.items():
        if v not in runs:
            continue
        rs = list(runs[v].values())
        base = "bare64" if v.endswith("64") else "bare"
        vs = f"{med(ratio(v, base)):.2f}" if base in runs else "-"
        out.append(f"| {label} | {rs[0]['connections']} | {med(r['rps'] for r in rs):.0f} "
                   f"| {med(r['p50_us'] for r in rs) / 1000:.2f} "
                   f"| {med(r['p99_us'] for r in rs) / 1000:.2f} | {vs} |")
    out.append("")
    out.append("The CPU ratio is the ratio the CPU time per request predicts (the "
               "denominator's CPU µs per request over the numerator's, median over the rounds): "
               "what the requests/s ratio would be were the 2 cores all ours and the only "
               "limit, and far steadier than it on a busy machine, where a variant with more "
               "runnable processes or threads also takes a larger share of the CPU from the "
               "others' work.\n")
    out.append("| ratio of requests/s | median | rounds (min..max) | CPU ratio | goal |")
    out.append("|---|---:|---|---:|---|")
    for name, a, b, goal in RATIOS:
        if a in runs and b in runs:
            rs, cs = ratio(a, b), cpu_ratio(a, b)
            out.append(f"| {name} | **{med(rs):.2f}** | {min(rs):.2f}..{max(rs):.2f} "
                       f"| {med(cs):.2f} | {goal} |")
    for v in ("memo64", "bare64"):
        if v in runs:
            p99 = [r["p99_us"] / 1000 for r in runs[v].values()]
            p50 = med(r["p50_us"] / 1000 for r in runs[v].values())
            out.append(f"\np99 at 64 connections, {LABELS[v]}: **{med(p99):.2f} ms** "
                       f"(rounds {min(p99):.2f}..{max(p99):.2f}; p50 {p50:.2f} ms).")
    out.append("")
    out.append("CPU time per request by process tree, in µs (medians over the rounds; "
               "/proc/<pid>/stat): what each request costs the 2 cores, whoever else runs. "
               "`app` is the variant's Gunicorn (master and workers); `bound` is 2 cores "
               "divided by the total, the requests/s the stack could reach with the machine "
               "to itself; `others` is the share of the machine's busy time that was not "
               "ours (the other engineers).\n")
    out.append("| variant | Nginx | app (Gunicorn) | PostgreSQL backends | pg_fib keeper, worker "
               "| PostgreSQL, the rest | wrk | total | bound (req/s) | others |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ncpu = os.cpu_count()
    for v in LABELS:
        if v not in runs:
            continue
        rs = list(runs[v].values())
        split = {k: med(_split_cpu(r)[k] for r in rs) for k in PARTS}
        total = med(sum(_split_cpu(r).values()) for r in rs)
        others = med(max(0.0, 1 - sum(r["cpu_s"].values()) / r["machine_busy_s"]) for r in rs)
        cells = " | ".join(f"{split[k]:.0f}" for k in PARTS)
        out.append(f"| {v} | {cells} | {total:.0f} | {ncpu / total * 1e6:.0f} | {others:.0%} |")
    out.append("\nThe same processes' time in the kernel and their context switches per "
               "request (medians; a context switch is a process or thread put off a CPU and "
               "back, each costing its cache and TLB on this VM, which flushes the TLB at every "
               "entry to the kernel):\n")
    out.append("| variant | app µs | of which kernel | app switches | PostgreSQL backends' "
               "switches | Nginx's switches |")
    out.append("|---|---:|---:|---:|---:|---:|")
    for v in LABELS:
        if v not in runs or "cpu_sys_s" not in next(iter(runs[v].values())):
            continue
        rs = list(runs[v].values())

        def app(r, field):
            return sum(val for k, val in r[field].items() if k not in PARTS) / r["requests"]

        def per(r, field, k):
            return r[field].get(k, 0) / r["requests"]
        out.append(f"| {v} | {med(app(r, 'cpu_s') for r in rs) * 1e6:.0f} "
                   f"| {med(app(r, 'cpu_sys_s') for r in rs) * 1e6:.0f} "
                   f"| {med(app(r, 'switches') for r in rs):.1f} "
                   f"| {med(per(r, 'switches', 'postgres') for r in rs):.1f} "
                   f"| {med(per(r, 'switches', 'nginx') for r in rs):.1f} |")
    workers = sorted(v for v in runs if v.startswith("workers-"))
    if workers:
        out.append("\nWorker class and count of pg_fib's app (memo hits, a Gunicorn of its own "
                   "restarted for each; ratio: median within a round against sync 4):\n")
        out.append("| workers | requests/s | p50 (ms) | p99 (ms) | app CPU µs/request "
                   "| app PSS (MB) | vs sync 4 |")
        out.append("|---|---:|---:|---:|---:|---:|---:|")
        for v in workers:
            rs = list(runs[v].values())
            vs = f"{med(ratio(v, 'workers-sync-4')):.2f}" if "workers-sync-4" in runs else "-"
            out.append(f"| {v[8:].replace('-', ' ')} | {med(r['rps'] for r in rs):.0f} "
                       f"| {med(r['p50_us'] for r in rs) / 1000:.2f} "
                       f"| {med(r['p99_us'] for r in rs) / 1000:.2f} "
                       f"| {med(_split_cpu(r)['app'] for r in rs):.0f} "
                       f"| {_app_mb(rs)} | {vs} |")
    print("\n".join(out))


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("run", "report"):
        sys.exit(__doc__)
    {"run": run, "report": report}[sys.argv[1]](sys.argv[2:])
