"""The second, well-behaved client of test_denial.py, in a process of its
own so that what it measures is the server's answer, not the attacking
threads' hold on the test process's interpreter.

    /usr/bin/python3 bystander.py URL SOURCE PATH...

asks for the paths in turn every 50 ms from the address SOURCE until its
standard input is closed, then prints one line per request:
"<status or the error's name> <seconds>".
"""

import select
import sys
import time

import http_raw as http


def main(url, source, paths):
    results = []
    i = 0
    while True:
        start = time.monotonic()
        try:
            status = http.get(url, paths[i % len(paths)], timeout=30, source=source).status
        except OSError as error:
            status = type(error).__name__
        results.append((status, time.monotonic() - start))
        i += 1
        if select.select([sys.stdin], [], [], 0.05)[0]:  # closed: stop
            break
    for status, seconds in results:
        print(status, f"{seconds:.6f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
