"""The C files of pg_fib/ depend on each other in one direction only, and in
layers: the arithmetic (fib*.c, header fib.h) uses nothing of the settings,
the queue or the SQL-callable functions; the queue (queue*.c, queue.h) uses
nothing of the SQL-callable functions (sql*.c, sqlfuncs.h).  A file "uses"
another when it names a function or variable the other defines; no file uses
one that uses it back, however indirectly, and no header includes one that
includes it back.  SQL-callable functions live in sql*.c; every exported
function or variable is declared in a header, and every declaration has a
definition.  A function or variable used in one file only is static
there.

Read from the sources, so no build is needed.  Run alone (or "make
layout-check"), this file prints the uses graph and the include graph and
exits non-zero on any violation:
    /usr/bin/python3 test/python/test_layout.py
The same for the app: test/web/test_layout.py.
"""

import os
import re
import sys

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "pg_fib"))

# The subsystems, by file-name prefix, and the subsystems each may use.
LAYERS = {
    "fib": set(),
    "settings": set(),
    "queue": {"fib", "settings"},
    "sql": {"fib", "settings", "queue"},
    "pg_fib": {"fib", "settings", "queue", "sql"},
}

# Headers a file of the arithmetic may not include, directly or not: the
# other subsystems', shared memory's, the settings machinery's.
NOT_FOR_ARITHMETIC = re.compile(r"^(queue\w*|settings|sqlfuncs|pg_fib)\.h$|^storage/|^utils/guc")

# Symbols PostgreSQL calls, which are used from no file of ours.
ENTRY_POINT = re.compile(r"^(_PG_init|pg_fib_keeper_main|pg_fib_worker_main)$")


def layer(name):
    """The subsystem of a file or header, by its name's prefix."""
    base = os.path.splitext(os.path.basename(name))[0]
    if base in ("pg_fib", "settings"):
        return base
    for prefix in ("queue", "fib", "sql"):
        if base.startswith(prefix):
            return prefix
    raise ValueError(f"{name}: no subsystem prefix (fib, queue, sql)")


def strip(text):
    """text without comments, string and character literals."""
    return re.sub(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'',
                  lambda m: "\n" * m.group(0).count("\n") if m.group(0).startswith("/") else '""',
                  text, flags=re.S)


def sources(src=SRC):
    """file name -> its text, for every .c and .h of src."""
    found = {}
    for name in sorted(os.listdir(src)):
        if name.endswith((".c", ".h")):
            with open(os.path.join(src, name)) as f:
                found[name] = f.read()
    return found


def includes(files):
    """file -> the headers it includes (ours by bare name, PostgreSQL's by path)."""
    return {name: set(re.findall(r'^#include\s+"([^"]+)"', text, re.M))
            for name, text in files.items()}


def closure(graph, start):
    """Everything reachable from start in graph."""
    seen, todo = set(), [start]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def definitions(files):
    """symbol -> (file, is_static) for every function and file-level variable
    defined in a .c file (PostgreSQL's style: a function's name starts its
    line, its type on the line above)."""
    found = {}
    for name, text in files.items():
        if not name.endswith(".c"):
            continue
        lines = strip(text).split("\n")
        for i, line in enumerate(lines):
            m = re.match(r"^([A-Za-z_]\w*)\(", line)
            if m and m.group(1) not in ("PG_FUNCTION_INFO_V1", "PG_MODULE_MAGIC"):
                above = lines[i - 1] if i else ""
                found[m.group(1)] = (name, above.startswith("static") or "static " in above)
                continue
            m = re.match(r"^(?!typedef|extern|return|static|PG_|#)[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*(?:\[[^\]]*\]\s*)*(?:=|;)", line)
            if m and not line.startswith((" ", "\t")):
                found[m.group(1)] = (name, False)
            m = re.match(r"^static\b[\w \t\*]*?\b([A-Za-z_]\w*)\s*(?:\[[^\]]*\]\s*)*(?:=|;)", line)
            if m:
                found[m.group(1)] = (name, True)
        for fn in re.findall(r"PG_FUNCTION_INFO_V1\((\w+)\)", text):
            found[fn] = (name, None)    # called by PostgreSQL through the catalog
    return found


def uses(files, defs=None):
    """file -> {file it uses: the symbols it names of it}, for the .c files."""
    defs = definitions(files) if defs is None else defs
    exported = {sym: f for sym, (f, static) in defs.items() if not static}
    graph = {}
    for name, text in files.items():
        if not name.endswith(".c"):
            continue
        edges = {}
        for word in set(re.findall(r"\b[A-Za-z_]\w*\b", strip(text))):
            target = exported.get(word)
            if target and target != name:
                edges.setdefault(target, set()).add(word)
        graph[name] = edges
    return graph


def cycles(graph):
    """Every cycle of graph (node -> iterable of nodes), as lists of nodes."""
    found = []

    def visit(node, path):
        for target in sorted(graph.get(node, ())):
            if target in path:
                cycle = path[path.index(target):] + [target]
                if cycle not in found:
                    found.append(cycle)
            else:
                visit(target, path + [target])

    for node in sorted(graph):
        visit(node, [node])
    return found


def problems(files):
    """Every broken rule of the layout, as sentences; [] when none is."""
    found = []
    inc = includes(files)
    for cycle in cycles({n: {h for h in hs if h in files} for n, hs in inc.items()}):
        found.append("include circle: " + " -> ".join(cycle))
    defs = definitions(files)
    graph = uses(files, defs)
    for cycle in cycles(graph):
        found.append("uses circle: " + " -> ".join(cycle))
    for name, edges in graph.items():
        for target, symbols in edges.items():
            if layer(target) not in LAYERS[layer(name)] and layer(target) != layer(name):
                found.append(f"{name} ({layer(name)}) uses {target} ({layer(target)}): "
                             + ", ".join(sorted(symbols)))
    for name in files:
        if layer(name) == "fib":
            for header in sorted(closure(inc, name)):
                if NOT_FOR_ARITHMETIC.search(header):
                    found.append(f"{name}, of the arithmetic, includes {header}")
    declared = set()
    for name, text in files.items():
        if name.endswith(".h"):
            declared |= set(re.findall(r"extern[^;(]*?\b(\w+)\s*[(;]", strip(text)))
    for sym in sorted(declared - set(defs)):
        found.append(f"{sym} is declared in a header but defined in no file")
    for sym, (name, static) in sorted(defs.items()):
        if static is False and sym not in declared and not ENTRY_POINT.match(sym):
            found.append(f"{sym} of {name} is declared in no header")
    for name, text in files.items():
        if layer(name) not in ("sql", "pg_fib") and "PG_FUNCTION_INFO_V1" in strip(text):
            found.append(f"{name} defines a SQL-callable function: those live in sql*.c")
    used_elsewhere = {sym for edges in graph.values() for syms in edges.values() for sym in syms}
    for sym, (name, static) in sorted(defs.items()):
        if static is False and sym not in used_elsewhere and not ENTRY_POINT.match(sym):
            found.append(f"{sym} is used in {name} only: make it static")
    return found


def test_layout_has_no_circle_and_respects_the_layers():
    assert problems(sources()) == []


def test_every_file_has_a_subsystem():
    for name in sources():
        layer(name)


def test_the_uses_graph_is_found():
    """The reading of the sources finds what is really there."""
    graph = uses(sources())
    assert "pg_fib_compute_converted" in graph["sqlfib.c"]["fibcore.c"]
    assert "pg_fib_bytea_to_digits" in graph["queuememo.c"]["queuevalue.c"]
    assert "pg_fib_max_n" in graph["sqlfib.c"]["settings.c"]


def test_the_check_can_fail():
    """A circle, a wrong layer, an arithmetic file including the queue's
    header and a function used in its own file only are each reported."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"],
                                                          ["b", "c", "a", "b"],
                                                          ["c", "a", "b", "c"]]
    files = {
        "fibx.c": '#include "fibx.h"\n#include "queue.h"\nPG_FUNCTION_INFO_V1(fib_x);\nint\nfib_x(void)\n{\n\treturn queue_y();\n}\n',
        "fibx.h": "extern int fib_x(void);\n",
        "queue.h": "extern int queue_y(void);\nextern int queue_gone(void);\n",
        "queuey.c": '#include "queue.h"\nint\nqueue_y(void)\n{\n\treturn fib_x() + queue_z();\n}\n'
                    "int\nqueue_z(void)\n{\n\treturn 0;\n}\n",
    }
    found = problems(files)
    assert "uses circle: fibx.c -> queuey.c -> fibx.c" in found
    assert "fibx.c (fib) uses queuey.c (queue): queue_y" in found
    assert "fibx.c, of the arithmetic, includes queue.h" in found
    assert "queue_z is used in queuey.c only: make it static" in found
    assert "fibx.c defines a SQL-callable function: those live in sql*.c" in found
    assert "queue_gone is declared in a header but defined in no file" in found


if __name__ == "__main__":
    files = sources()
    print("Which file uses which (the symbols it names of it):")
    for name, edges in sorted(uses(files).items()):
        print(f"  {name}: " + ("; ".join(f"{t} ({', '.join(sorted(s))})" for t, s in sorted(edges.items())) or "-"))
    print("Which file includes which of pg_fib's headers:")
    for name, headers in sorted(includes(files).items()):
        print(f"  {name}: " + (", ".join(sorted(h for h in headers if h in files)) or "-"))
    found = problems(files)
    for problem in found:
        print("PROBLEM:", problem)
    sys.exit(1 if found else 0)
