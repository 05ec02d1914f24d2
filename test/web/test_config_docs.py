"""docs/http.md's Configuration table says what web/__init__.py's DEFAULTS
are: every FIB_WEB_* variable the app reads is in the table, with its
default, and the table names no variable the app does not read."""

import json
import os
import re

from conftest import ROOT
from web import DEFAULTS

HTTP_MD = os.path.join(ROOT, "docs", "http.md")


def documented():
    """name (without FIB_WEB_) -> the default the table writes."""
    rows = {}
    with open(HTTP_MD) as f:
        for line in f:
            if not line.startswith("| `FIB_WEB_"):
                continue
            names_cell, default_cell = [c.strip() for c in line.strip().strip("|").split("|")][:2]
            names = re.findall(r"`FIB_WEB_(\w+)`", names_cell)
            defaults = [d.strip() for d in default_cell.split(",")] if len(names) > 1 \
                else [default_cell]
            assert len(defaults) == len(names), line
            rows.update(zip(names, defaults))
    return rows


def written(value):
    """A default as the table writes it."""
    if isinstance(value, bool):
        return f"`{json.dumps(value)}`"
    if isinstance(value, (list, dict)):
        return f"`{json.dumps(value)}`"
    if value == "":
        return "none"
    if isinstance(value, str):
        return f"`{value}`"
    return str(value)


def test_the_configuration_table_is_the_apps_defaults():
    table = documented()
    assert set(table) == set(DEFAULTS), (
        f"documented, not read: {sorted(set(table) - set(DEFAULTS))}; "
        f"read, not documented: {sorted(set(DEFAULTS) - set(table))}")
    wrong = {name: (table[name], written(value)) for name, value in DEFAULTS.items()
             if not table[name].startswith(written(value))}
    assert not wrong, wrong
