"""Independent oracles for pg_fib's results, in Python's exact int.

These share no code and no formula with the C implementation: fib() uses the
(F(k), F(k+1)) doubling identities on Python ints, fib_mod() a 2x2 matrix
power.  Values cross the wire as text and are parsed with gmpy2, because
CPython's own int<->str conversion is quadratic.
"""

import sys

import gmpy2

sys.set_int_max_str_digits(0)

# The largest n with F(n) inside numeric's 131072 digits.
NUMERIC_MAX_N = 627177


def fib(n: int) -> int:
    """F(n) for any integer n, negafibonacci numbers included."""
    k = abs(n)
    a, b = 0, 1  # F(0), F(1)
    for bit in bin(k)[2:]:
        # (F(j), F(j+1)) -> (F(2j), F(2j+1))
        a, b = a * (2 * b - a), a * a + b * b
        if bit == "1":
            a, b = b, a + b
    if n < 0 and k % 2 == 0:
        return -a
    return a


def fib_mod(n: int, m: int) -> int:
    """F(n) mod m in [0, m), by the power of [[1, 1], [1, 0]]."""
    k = abs(n)
    r00, r01, r10, r11 = 1 % m, 0, 0, 1 % m
    a00, a01, a10, a11 = 1, 1, 1, 0
    while k:
        if k & 1:
            r00, r01, r10, r11 = ((r00 * a00 + r01 * a10) % m, (r00 * a01 + r01 * a11) % m,
                                  (r10 * a00 + r11 * a10) % m, (r10 * a01 + r11 * a11) % m)
        a00, a01, a10, a11 = ((a00 * a00 + a01 * a10) % m, (a00 * a01 + a01 * a11) % m,
                              (a10 * a00 + a11 * a10) % m, (a10 * a01 + a11 * a11) % m)
        k >>= 1
    if n < 0 and abs(n) % 2 == 0:
        return (-r01) % m
    return r01


def parse(text: str) -> int:
    """A decimal string from the server, as a Python int, in linear time."""
    return int(gmpy2.mpz(text))
