"""Who asks: the key that names a client to pg_fib's queue.

Every query that may queue a job passes fib_request(n, requester) a key
derived from the client's address, so that the queue bounds each client's
jobs (pg_fib.max_queued_per_requester, which the pools' connections set from
FIB_WEB_MAX_JOBS_PER_CLIENT) and the workers take turns between clients
instead of serving one client's backlog first.  Behind Nginx the address is
the one Nginx saw (ProxyFix takes the last X-Forwarded-For entry, which
Nginx appends), so a client cannot choose its key.

An IPv4 address is a client of its own (ip:203.0.113.7).  An IPv6 client
usually holds a whole /64 and can pick any address in it, so the /64 is the
client (net:2001:db8::/64).  An IPv4-mapped IPv6 address is its IPv4
address.  Without an address (a Unix socket without a proxy in front) every
request is one client, "local".
"""

import functools
import ipaddress

LOCAL = "local"


@functools.lru_cache(maxsize=4096)
def key_of(address):
    """The requester key of a client address (REMOTE_ADDR): 1 to 63
    printable ASCII characters without spaces, as fib_request accepts."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return LOCAL
    if ip.version == 6 and not ip.is_loopback:
        if ip.ipv4_mapped is not None:
            return f"ip:{ip.ipv4_mapped}"
        return f"net:{ipaddress.ip_network((ip, 64), strict=False)}"
    return f"ip:{ip}"


def of(environ):
    """The requester key of a WSGI request."""
    return key_of(environ.get("REMOTE_ADDR"))
