"""The architecture, enforced: which package may import which.

* the library (everything but ``certcli.cli``, ``certcli.__main__`` and
  ``certcli.commands``) never imports the command layer, typer or rich;
* ``certcli.rules`` is pure: standard-library modules without I/O only, and so is the
  CST calendar it shares with the messages (``certcli.days``);
* ``certcli.documents`` (page, render, sign) never touches the store;
* ``certcli.store`` imports no service above it; its schema (``certcli.schema``) imports
  nothing of ours, its PostgreSQL adapter (``certcli.pgstore``) only the errors, and only
  that adapter imports psycopg (so the SQLite default never loads it);
* no import cycle between library modules, counting imports inside functions
  (they are allowed for start-up speed, not for hiding a cycle);
* package ``__init__`` modules import nothing, so importing a subpackage is free.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "certcli"
FRONT_ENDS = ("certcli.cli", "certcli.__main__", "certcli.commands")
PURE_STDLIB = {"__future__", "dataclasses", "datetime", "operator", "typing", "re", "enum", "functools",
               "itertools", "collections", "collections.abc", "math", "unicodedata", "calendar"}
STORE_MAY_IMPORT = {"certcli.errors", "certcli.rules", "certcli.home", "certcli.schema", "certcli.pgstore"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            # `from certcli.x import y` may name a module y
            found += [f"{node.module}.{alias.name}" for alias in node.names
                      if (PACKAGE.parent / (node.module + "." + alias.name).replace(".", "/")).with_suffix(".py").exists()
                      or (PACKAGE.parent / (node.module + "." + alias.name).replace(".", "/") / "__init__.py").exists()]
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import; write certcli.… in full")
    return found


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
IMPORTS = {name: _imports(path) for name, path in MODULES.items()}


def _is_front_end(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FRONT_ENDS)


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_the_library_never_imports_the_command_layer_typer_or_rich():
    offenders = [(name, imported) for name, imported_list in IMPORTS.items() if not _is_front_end(name)
                 for imported in imported_list
                 if _within(imported, "certcli.commands") or _within(imported, "certcli.cli")
                 or imported.split(".")[0] in ("typer", "rich", "click")]
    assert not offenders, offenders


PURE_MODULES = {"certcli.rules": {"certcli.errors", "certcli.days"}, "certcli.days": set()}


def test_rules_do_no_io():
    for name, ours in PURE_MODULES.items():
        imported = set(IMPORTS[name])
        assert imported <= PURE_STDLIB | ours, (name, imported - PURE_STDLIB - ours)
        source = MODULES[name].read_text(encoding="utf-8")
        for call in ("open(", "print(", "input(", "os.", "sys.", "Path("):
            assert call not in source, (name, call)


def test_documents_never_touch_the_store():
    offenders = [(name, imported) for name, imported_list in IMPORTS.items() if _within(name, "certcli.documents")
                 for imported in imported_list
                 if _within(imported, "certcli.store") or imported == "sqlite3" or _within(imported, "certcli.certificates")
                 or _within(imported, "certcli.membership") or _within(imported, "certcli.regions")]
    assert not offenders, offenders


def test_the_store_imports_no_service():
    internal = {i for i in IMPORTS["certcli.store"] if i.startswith("certcli")}
    assert internal <= STORE_MAY_IMPORT, internal - STORE_MAY_IMPORT


def test_the_schema_and_the_postgres_adapter_stay_below_the_store():
    assert not {i for i in IMPORTS["certcli.schema"] if i.startswith("certcli")}
    assert {i for i in IMPORTS["certcli.pgstore"] if i.startswith("certcli")} <= {"certcli.errors"}
    importers = sorted(name for name, imported in IMPORTS.items()
                       if any(i.split(".")[0] == "psycopg" for i in imported))
    assert importers == ["certcli.pgstore"], importers


def test_package_inits_import_nothing():
    for name, path in MODULES.items():
        if path.name == "__init__.py" and name != "certcli":
            assert not IMPORTS[name], (name, IMPORTS[name])


def test_no_import_cycles_in_the_library():
    graph = {name: {i for i in imported if i in MODULES and i != name and not _is_front_end(i)}
             for name, imported in IMPORTS.items() if not _is_front_end(name)}
    for name in graph:  # `import certcli.a.b` also runs certcli.a, whose __init__ imports nothing (above)
        graph[name] = {i for i in graph[name] if not MODULES[i].name == "__init__.py"}
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert not cycles, "\n".join(" → ".join(c) for c in cycles)


def test_commands_hold_no_sql_and_write_no_audit_entries():
    """Commands parse, call one service and print; queries and audit entries live in services."""
    offenders = []
    for name, path in MODULES.items():
        if not _is_front_end(name):
            continue
        source = path.read_text(encoding="utf-8")
        for marker in ("SELECT ", "INSERT ", "UPDATE ", "DELETE FROM", ".transaction(", "audit.record(",
                       "audit.append(", ".execute("):
            if marker in source:
                offenders.append((name, marker))
    assert not offenders, offenders
