#!/usr/bin/python3
"""Find the n in [94, limit] for which x(n) = n log10(phi) - log10(sqrt 5)
lies closest to an integer: the n whose digit count is hardest to settle.

fib_digits(n) is floor(log10 F(n)) + 1, and log10 F(n) = x(n) + c with
|c| < phi^(-2n), so for these n the count hangs on x(n)'s distance to the
nearest integer.  Trying every n is out of reach; instead this solves a
closest-vector problem in the two-dimensional lattice of points
(n W, n alpha - k) (alpha = log10 phi, k an integer, W = 2 delta / limit):
a point within delta of the target (W limit / 2, beta), beta = log10 sqrt 5,
in both coordinates is exactly an n in [0, limit] with |x(n) - k| <= delta.
After Lagrange-Gauss reduction of the basis (the two-dimensional case of
the continued fraction of alpha), only a handful of integer combinations
can be that close, and all are enumerated: the search is exhaustive for the
given delta, which is doubled until something is found.  Everything is in
exact integers scaled by 2^SCALE_BITS, alpha and beta from mpmath at 120
digits (an error of n 2^-SCALE_BITS at most, far below delta).

Run as a script, it prints the JSON kept in about_near_integer.json, for
limit = 10^18 (n up to 10^18) and limit = 2^63 (every bigint n: the
smallest distance sets the precision fib_digits can ever need; see
pg_fib/fibabout.c).  test_about.py checks the kept file against this
search and against mpmath.
"""

import json
import math
from fractions import Fraction

import mpmath

SCALE_BITS = 320


def constants():
    """alpha = log10 phi and beta = log10 sqrt 5, scaled to integers."""
    with mpmath.workdps(120):
        alpha = mpmath.log10((1 + mpmath.sqrt(5)) / 2)
        beta = mpmath.log10(mpmath.sqrt(5))
        scale = mpmath.mpf(2) ** SCALE_BITS
        return int(mpmath.nint(alpha * scale)), int(mpmath.nint(beta * scale))


def _reduce(u, v):
    """Lagrange-Gauss reduction of the basis (u, v); each vector carries the
    (n, k) it stands for as its last two entries."""
    def dot(p, q):
        return p[0] * q[0] + p[1] * q[1]
    while True:
        if dot(u, u) > dot(v, v):
            u, v = v, u
        mu = Fraction(dot(u, v), dot(u, u))
        r = round(mu)
        if r == 0:
            return u, v
        v = tuple(vi - r * ui for ui, vi in zip(u, v))


def candidates(limit, delta_scaled, a, b):
    """Every n in [0, limit] with |n alpha - k - beta| <= delta (scaled by
    2^SCALE_BITS), as (n, k, n alpha - k - beta scaled)."""
    s = 1 << SCALE_BITS
    w = max(1, 2 * delta_scaled // limit)   # the weight of the n coordinate
    # vector = (n w, n a - k s), carrying (n, k)
    u = (w, a, 1, 0)
    v = (0, -s, 0, 1)
    u, v = _reduce(u, v)
    target = (w * limit // 2, b)
    det = u[0] * v[1] - u[1] * v[0]
    c1 = Fraction(target[0] * v[1] - target[1] * v[0], det)
    c2 = Fraction(u[0] * target[1] - u[1] * target[0], det)
    radius = 2 * (delta_scaled + w * limit)   # covers both coordinates
    r1 = math.ceil(radius * math.hypot(v[0], v[1]) / abs(det)) + 1
    r2 = math.ceil(radius * math.hypot(u[0], u[1]) / abs(det)) + 1
    found = []
    for i in range(math.floor(c1) - r1, math.ceil(c1) + r1 + 1):
        for j in range(math.floor(c2) - r2, math.ceil(c2) + r2 + 1):
            n = i * u[2] + j * v[2]
            k = i * u[3] + j * v[3]
            if not 0 <= n <= limit:
                continue
            diff = n * a - k * s - b
            if abs(diff) <= delta_scaled:
                found.append((n, k, diff))
    return found


def closest(limit, lowest=94):
    """The n in [lowest, limit] with x(n) closest to an integer, as
    (n, k, (x(n) - k) as a float)."""
    a, b = constants()
    s = 1 << SCALE_BITS
    delta = 4 * s // limit
    while True:
        found = [c for c in candidates(limit, delta, a, b) if c[0] >= lowest]
        if found:
            n, k, diff = min(found, key=lambda c: abs(c[2]))
            return n, k, diff / s
        delta *= 2


def describe(limit):
    """The kept record for one limit, its distance checked with mpmath."""
    n, k, dist = closest(limit)
    with mpmath.workdps(80):
        x = n * mpmath.log10((1 + mpmath.sqrt(5)) / 2) - mpmath.log10(mpmath.sqrt(5))
        exact = x - k
        digits = int(mpmath.floor(x)) + 1
    return {
        "limit": str(limit),
        "n": str(n),
        "nearest_integer": str(k),
        "x_minus_integer": mpmath.nstr(exact, 6),
        "bits_to_settle": math.ceil(-math.log2(abs(dist))),
        "digits": str(digits),
        "double_shortcut_digits": str(math.floor(n * 0.20898764024997873 - 0.3494850021680094) + 1),
    }


def main():
    print(json.dumps([describe(10**18), describe(2**63)], indent=2))


if __name__ == "__main__":
    main()
