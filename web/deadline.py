"""Client-side deadlines for database calls.

A server that hangs (its processes stopped, a frozen machine, a network that
drops packets without a reset) never answers, and its own
statement_timeout never fires: a call waiting on it would wait until
Gunicorn kills the worker.  So every call on a connection runs under a
deadline kept here, on the client: one thread per process watches the calls
under way, and when one's deadline passes it shuts the connection's socket
down.  The blocked call then fails at once as a lost connection would
(psycopg.OperationalError without a SQLSTATE, the connection broken): the
pool discards the connection and web.pools marks the server down.

The watcher wakes every _TICK seconds rather than on every call (a call
only adds its deadline under a lock, and takes it back), so a deadline
fires up to _TICK late; the deadlines are seconds, the tick a fraction.
"""

import heapq
import itertools
import os
import socket
import threading
import time

_TICK = 0.2


class Watchdog:
    """The deadlines of one process's calls, and the thread that enforces
    them (started at the first call, in the process that makes it: Gunicorn
    forks its workers after importing this module)."""

    def __init__(self):
        self._keys = itertools.count()
        self._forked()
        # A child of fork() has none of its parent's threads, nor its calls.
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self):
        self._lock = threading.Lock()
        self._heap = []  # (deadline, key)
        self._fds = {}  # key -> the socket of a call under way
        self._watches = {}  # key -> its Watch
        self._started = False

    def _start(self):
        self._started = True
        threading.Thread(target=self._watch, name="pg_fib-web deadlines", daemon=True).start()

    def guard(self, fileno, seconds):
        """A context manager: its block runs with the socket fileno shut
        down if it lasts more than seconds; the Watch it gives says whether
        that happened."""
        return Watch(self, next(self._keys), fileno, seconds)

    def _add(self, watch, fileno, seconds):
        with self._lock:
            if not self._started:
                self._start()
            self._fds[watch.key] = fileno
            heapq.heappush(self._heap, (time.monotonic() + seconds, watch.key))
            self._watches[watch.key] = watch

    def _remove(self, watch):
        with self._lock:
            self._fds.pop(watch.key, None)
            self._watches.pop(watch.key, None)

    def _watch(self):
        while True:
            time.sleep(_TICK)
            now = time.monotonic()
            with self._lock:
                while self._heap and (self._heap[0][0] <= now
                                      or self._heap[0][1] not in self._fds):
                    _, key = heapq.heappop(self._heap)
                    fileno = self._fds.pop(key, None)
                    if fileno is not None:
                        # Under the lock: the call cannot end and hand its
                        # connection (and socket) to another meanwhile.
                        _shut_down(fileno)
                        self._watches.pop(key).fired = True


class Watch:
    """One call under a deadline; fired once the deadline cut it off."""

    __slots__ = ("watchdog", "key", "fileno", "seconds", "fired")

    def __init__(self, watchdog, key, fileno, seconds):
        self.watchdog, self.key, self.fileno, self.seconds = watchdog, key, fileno, seconds
        self.fired = False

    def __enter__(self):
        self.watchdog._add(self, self.fileno, self.seconds)
        return self

    def __exit__(self, *exc):
        self.watchdog._remove(self)


def _shut_down(fileno):
    """Shut the socket down for both directions, leaving its descriptor open
    (its owner closes it)."""
    try:
        sock = socket.socket(fileno=os.dup(fileno))
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()


WATCHDOG = Watchdog()
