"""Strict parsing of the integers in paths and query strings.

The one rule: an optional '-' and 1 to 19 ASCII digits, in bigint range.
Flask's int converter would accept non-ASCII digits ('١٢', '１２'), so routes
take the segment as a string and call parse_bigint().
"""

import re
import unicodedata

from web.problems import Problem

BIGINT_MIN = -(2 ** 63)
BIGINT_MAX = 2 ** 63 - 1
_BIGINT = re.compile(r"-?[0-9]{1,19}", re.ASCII)


def _bad(name, detail):
    return Problem(400, f"Malformed {name}", detail, slug="malformed-integer", parameter=name)


def _describe(ch):
    name = unicodedata.name(ch, "unnamed character")
    return f"{ch!r} (U+{ord(ch):04X} {name})"


def parse_bigint(text, name="n"):
    """The int that text spells, or a 400 Problem naming what is wrong."""
    if _BIGINT.fullmatch(text):
        value = int(text)
        if not BIGINT_MIN <= value <= BIGINT_MAX:
            raise _bad(name, f"{name} = {text} is out of range: it must lie in "
                             f"[{BIGINT_MIN}, {BIGINT_MAX}] (bigint).")
        return value
    expected = f"{name} must be an optional '-' and 1 to 19 ASCII digits, such as 32 or -8"
    if text == "":
        raise _bad(name, f"{name} is empty; {expected}.")
    if text == "-":
        raise _bad(name, f"{name} has no digits after '-'; {expected}.")
    digits = text[1:] if text.startswith("-") else text
    if digits.isascii() and digits.isdigit():
        raise _bad(name, f"{name} has {len(digits)} digits, more than 19; {expected}.")
    if text.startswith("+"):
        raise _bad(name, f"{name} starts with '+'; {expected}.")
    for position, ch in enumerate(text):
        if ch == "-" and position == 0 or ch.isascii() and ch.isdigit():
            continue
        why = ""
        if ch.isspace():
            what = f"whitespace {_describe(ch)}"
        elif not ch.isascii() and ch.isdigit():
            what = f"the non-ASCII digit {_describe(ch)}"
        else:
            what = _describe(ch)
            if ch in ".eE":
                why = " (decimals and exponents are not integers)"
            elif ch in "xX":
                why = " (hexadecimal is not accepted)"
        raise _bad(name, f"{name} contains {what} at position {position + 1}{why}; {expected}.")
    raise _bad(name, f"{name} is malformed; {expected}.")
