"""The package's structure: imports flow one way (no cycles, function-local imports included),
kernels import only numpy/numba, and optional or heavy dependencies stay out of module level."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "jinduanalytics"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level:
        base = base[: len(base) - (level - 1)]
        return ".".join(base + ([target] if target else []))
    return target or ""


def import_graph(*, include_local: bool = True) -> nx.DiGraph:
    """module -> module it imports (``from pkg import name`` points at ``pkg.name`` when that is a
    module); importing ``a.b.c`` also imports the subpackage ``a.b`` (the root package excepted)."""
    modules = _modules()
    g = nx.DiGraph()
    for name, path in modules.items():
        g.add_node(name)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nodes = ast.walk(tree) if include_local else tree.body
        for node in nodes:
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, path.name == "__init__.py", node.level, node.module)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for t in targets:
                while t and t not in modules:
                    t = t.rpartition(".")[0]
                if not t or t == name:
                    continue
                g.add_edge(name, t)
                parent = t.rpartition(".")[0]  # the subpackage's __init__ runs first
                while parent.count(".") >= 1 and parent != name and not name.startswith(parent + "."):
                    g.add_edge(name, parent)
                    parent = parent.rpartition(".")[0]
    return g


def test_no_import_cycles():
    g = import_graph()
    cycles = [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1]
    assert not cycles, f"import cycles (function-local imports included): {cycles}"


def test_kernels_import_no_tables_and_nothing_of_the_package():
    """_kernels/ work on plain arrays: no pyarrow, pandas or scipy, nothing of jinduanalytics outside _kernels."""
    for name, path in _modules().items():
        if not name.startswith("jinduanalytics._kernels"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                roots = ["jinduanalytics._kernels" if node.level == 1 else ("jinduanalytics" if node.level
                                                                          else node.module or "")]
            else:
                continue
            for root in roots:
                assert root.split(".")[0] not in ("pyarrow", "pandas", "scipy", "matplotlib", "networkx"), (name, root)
                assert not root.startswith("jinduanalytics") or root.startswith("jinduanalytics._kernels"), (name, root)


def test_heavy_dependencies_are_not_imported_at_module_level():
    """matplotlib, networkx and igraph load only when a function needs them (import stays fast)."""
    heavy = {"matplotlib", "networkx", "igraph", "dask", "distributed", "opencc"}
    allowed = {"jinduanalytics.plot", "jinduanalytics.plot.figures", "jinduanalytics.plot._style"}
    for name, path in _modules().items():
        if name in allowed:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert not roots & heavy, f"{name} imports {roots & heavy} at module level"


def test_the_cycle_check_sees_a_cycle_behind_a_function_local_import(tmp_path, monkeypatch):
    """The check itself: two modules importing each other, one of them inside a function."""
    pkg = tmp_path / "jinduanalytics"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import g\n\ndef f():\n    return g()\n")
    (pkg / "b.py").write_text("def g():\n    from .a import f\n    return f\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", pkg)
    cycles = [c for c in nx.strongly_connected_components(import_graph()) if len(c) > 1]
    assert cycles == [{"jinduanalytics.a", "jinduanalytics.b"}]
    cycles = [c for c in nx.strongly_connected_components(import_graph(include_local=False)) if len(c) > 1]
    assert cycles == []


def test_public_functions_document_their_parameters():
    """numpydoc: every public function or class that takes parameters has a Parameters section
    (Attributes for data classes)."""
    import importlib
    import inspect
    import pkgutil

    import jinduanalytics

    names = ["jinduanalytics"] + [m.name for m in pkgutil.walk_packages(jinduanalytics.__path__, "jinduanalytics.")
                                  if not any(p.startswith("_") for p in m.name.split(".")[1:])]
    missing, seen = [], set()
    for module_name in names:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or id(obj) in seen:
                continue
            seen.add(id(obj))
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                continue
            try:
                params = [p for p in inspect.signature(obj).parameters if p != "self"]
            except (TypeError, ValueError):
                continue
            doc = inspect.getdoc(obj) or ""
            if params and "Parameters\n----------" not in doc and "Attributes\n----------" not in doc:
                missing.append(f"{obj.__module__}.{obj.__qualname__}")
    assert not missing, f"{len(missing)} public objects without a Parameters section: {missing}"
