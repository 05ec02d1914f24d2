"""docs/sql.md's Settings table says what the server says: the same pg_fib.*
settings, each with the default pg_settings reports as its boot value (which
pg_fib/settings.c defines once), and who may change it and when as its
context ("Superuser only", "Needs a restart", "Reload", any session).
"""

import os
import re

SETTINGS_DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "sql.md")

# The words of docs/sql.md's description for each pg_settings context.
CONTEXT_WORDS = {
    "superuser": "Superuser only",
    "postmaster": "Needs a restart",
    "sighup": "Reload",
    "user": "Any session may set it",
}

# Units of docs/sql.md's defaults, in the units pg_settings reports.
UNITS = {
    "kB": {"kB": 1, "MB": 1024, "GB": 1024 ** 2, "TB": 1024 ** 3},
    "s": {"s": 1, "min": 60, "h": 3600, "d": 86400},
}


def readme_settings(text=None):
    """name -> (default, description) of every row of docs/sql.md's Settings table."""
    if text is None:
        with open(SETTINGS_DOC) as f:
            text = f.read()
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"^\| `(pg_fib\.[a-z_]+)` \| `([^`]*)` \| (.*) \|$", line)
        if m:
            rows[m.group(1)] = (m.group(2), m.group(3))
    return rows


def in_unit(value, unit):
    """docs/sql.md's default value ("7d", "1GB", "10") in pg_settings' unit."""
    if not unit:
        return value
    m = re.fullmatch(r"(\d+)\s*([A-Za-z]*)", value)
    number, suffix = int(m.group(1)), m.group(2) or unit
    return str(number * UNITS[unit][suffix])


def mismatches(readme, server):
    """Sentences for every difference between docs/sql.md's rows and
    pg_settings' (name -> (boot_val, unit, context)); [] when they agree."""
    found = []
    for name in sorted(set(readme) ^ set(server)):
        where = "docs/sql.md" if name in readme else "the server"
        found.append(f"{name} is only in {where}")
    for name in sorted(set(readme) & set(server)):
        default, description = readme[name]
        boot_val, unit, context = server[name]
        if in_unit(default, unit) != boot_val:
            found.append(f"{name}: docs/sql.md says {default}, the server's boot value is {boot_val} {unit or ''}".rstrip())
        words = CONTEXT_WORDS[context]
        if words not in description:
            found.append(f"{name}: docs/sql.md does not say '{words}' ({context})")
        for other, other_words in CONTEXT_WORDS.items():
            if other != context and other_words in description:
                found.append(f"{name}: docs/sql.md says '{other_words}' but its context is {context}")
    return found


def test_readme_settings_table_matches_pg_settings(server_conn):
    rows = server_conn.execute("SELECT name, boot_val, unit, context FROM pg_catalog.pg_settings"
                        " WHERE name LIKE 'pg\\_fib.%'").fetchall()
    server = {name: (boot_val, unit, context) for name, boot_val, unit, context in rows}
    assert len(server) >= 11
    assert mismatches(readme_settings(), server) == []


def test_the_comparison_can_fail():
    table = ("intro\n## Settings\n\n| Setting | Default | Description |\n|---|---|---|\n"
             "| `pg_fib.a` | `7d` | Kept. Reload. |\n"
             "| `pg_fib.b` | `1GB` | Big. Superuser only. |\n"
             "| `pg_fib.c` | `3` | Tries. Reload. |\n## Next\n")
    readme = readme_settings(table)
    assert mismatches(readme, {"pg_fib.a": ("604800", "s", "sighup"),
                               "pg_fib.b": ("1048576", "kB", "superuser"),
                               "pg_fib.c": ("3", None, "sighup")}) == []
    assert mismatches(readme, {"pg_fib.a": ("86400", "s", "sighup"),
                               "pg_fib.b": ("1048576", "kB", "postmaster"),
                               "pg_fib.d": ("1", None, "user")}) == [
        "pg_fib.c is only in docs/sql.md",
        "pg_fib.d is only in the server",
        "pg_fib.a: docs/sql.md says 7d, the server's boot value is 86400 s",
        "pg_fib.b: docs/sql.md does not say 'Needs a restart' (postmaster)",
        "pg_fib.b: docs/sql.md says 'Superuser only' but its context is postmaster",
    ]
