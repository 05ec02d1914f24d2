"""free_ports.py: free TCP ports on 127.0.0.1 for the servers that tests and
benchmarks start, in the range PG_FIB_TEST_PORTS sets.

PG_FIB_TEST_PORTS is "LOW-HIGH" (both included), default 20000-31999: below
the kernel's ephemeral range (32768-60999 here), where a server could
collide with the TIME_WAIT sockets of outgoing connections.  Someone who
shares the machine confines the suites to a range of their own with it,
e.g. PG_FIB_TEST_PORTS=20000-20999.  A range that is malformed, outside
1024-65535 or overlapping the ephemeral range is refused with a message.

Used by test/python/cluster.py (import), deploy/pgcluster.sh and bench/web.sh
(command line):

    deploy/free_ports.py            one free port
    deploy/free_ports.py COUNT      COUNT distinct free ports on one line

Needs nothing but the standard library: the shell callers run it before
anything else is installed.
"""

import os
import random
import socket
import sys

DEFAULT_RANGE = (20000, 31999)
VARIABLE = "PG_FIB_TEST_PORTS"


class PortRangeError(ValueError):
    """PG_FIB_TEST_PORTS cannot be used."""


def ephemeral_range():
    """The kernel's range of ports for outgoing connections, or None."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        return None
    return low, high


def port_range(environ=os.environ):
    """(low, high), both included: PG_FIB_TEST_PORTS, or the default."""
    text = environ.get(VARIABLE, "").strip()
    if not text:
        return DEFAULT_RANGE
    low, sep, high = text.partition("-")
    if not sep or not low.strip().isdigit() or not high.strip().isdigit():
        raise PortRangeError(f"{VARIABLE}={text!r} is not LOW-HIGH, e.g. 20000-20999")
    low, high = int(low), int(high)
    if not 1024 <= low <= high <= 65535:
        raise PortRangeError(f"{VARIABLE}={text!r}: LOW-HIGH must satisfy "
                             "1024 <= LOW <= HIGH <= 65535")
    eph = ephemeral_range()
    if eph and low <= eph[1] and eph[0] <= high:
        raise PortRangeError(f"{VARIABLE}={text!r} overlaps the kernel's ephemeral range "
                             f"{eph[0]}-{eph[1]}: choose ports below {eph[0]}")
    return low, high


def _free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(span=1, environ=os.environ):
    """A port p such that p, p + 1, ..., p + span - 1 are all free on
    127.0.0.1 and all in the range."""
    low, high = port_range(environ)
    if high - low + 1 < span:
        raise PortRangeError(f"{VARIABLE}: {low}-{high} has fewer than {span} ports")
    for _ in range(200):
        port = random.randint(low, high - span + 1)
        if all(_free(port + i) for i in range(span)):
            return port
    raise RuntimeError(f"no {span} free port(s) side by side in {low}-{high} "
                       f"({VARIABLE})")


def free_ports(count, environ=os.environ):
    """count distinct free ports in the range."""
    low, high = port_range(environ)
    if high - low + 1 < count:
        raise PortRangeError(f"{VARIABLE}: {low}-{high} has fewer than {count} ports")
    ports = set()
    for _ in range(200 + 20 * count):
        if len(ports) == count:
            break
        port = random.randint(low, high)
        if port not in ports and _free(port):
            ports.add(port)
    if len(ports) < count:
        raise RuntimeError(f"no {count} free ports in {low}-{high} ({VARIABLE})")
    return sorted(ports)


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and not argv[1].isdigit()):
        print("usage: free_ports.py [COUNT]", file=sys.stderr)
        return 2
    count = int(argv[1]) if len(argv) == 2 else 1
    try:
        print(*free_ports(count))
    except (PortRangeError, RuntimeError) as e:
        print(f"free_ports.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
