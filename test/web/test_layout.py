"""The app's modules depend on each other in one direction only: no module
imports another that imports it back, however indirectly (create_app wires
what two modules need of each other), and no blueprint imports another
blueprint (what they share lives in a module of its own, web/results.py).

Run alone, this file prints the import graph:
    /usr/bin/python3 test/web/test_layout.py
"""

import ast
import os
import sys

WEB = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "web"))
BLUEPRINTS = {"api", "page", "seed", "metrics"}


def imports():
    """module -> the web modules it imports (anywhere in it, functions too;
    web/__init__.py, where the modules meet, left out)."""
    graph = {}
    for name in sorted(os.listdir(WEB)):
        if not name.endswith(".py") or name == "__init__.py":
            continue
        module = name[:-3]
        with open(os.path.join(WEB, name)) as f:
            tree = ast.parse(f.read())
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "web":
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("web."):
                found.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                found.update(a.name.split(".")[1] for a in node.names
                             if a.name.startswith("web."))
        graph[module] = found
    return graph


def cycles(graph):
    """Every cycle of graph, as lists of modules."""
    found = []

    def visit(module, path):
        for target in sorted(graph.get(module, ())):
            if target in path:
                found.append(path[path.index(target):] + [target])
            else:
                visit(target, path + [target])

    for module in graph:
        visit(module, [module])
    return found


def test_no_module_imports_one_that_imports_it():
    assert cycles(imports()) == []


def test_no_blueprint_imports_another():
    graph = imports()
    for blueprint in BLUEPRINTS:
        assert not graph[blueprint] & (BLUEPRINTS - {blueprint}), (blueprint, graph[blueprint])


def test_cycles_are_found():
    """The check itself can fail."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"],
                                                          ["b", "c", "a", "b"],
                                                          ["c", "a", "b", "c"]]


if __name__ == "__main__":
    for module, targets in imports().items():
        print(f"{module}: {', '.join(sorted(targets)) or '-'}")
    sys.exit(1 if cycles(imports()) else 0)
