"""The package's architecture, read from its imports (``ast``): layers import only downward.

The layers, bottom to top (``docs/architecture.md`` explains each):

* base: ``spikes``, ``checks``, ``errors`` (import nothing above themselves);
* ``containers``;
* the cores: ``event``, ``discrete`` (never each other), ``data``;
* ``hardware`` (imports ``event``), ``nir`` (imports ``event`` and ``discrete``), ``plot``
  (arrays to figures: imports the base, and ``data`` for class names), ``train`` (knows no
  neuron, task or figure);
* apps: ``tasks``, ``cli``, the seed-path shims ``event.tasks`` and ``discrete.tasks``, and the
  package's own ``__init__`` (the public facade).

Three rules, each a test below; each is also shown to fail on a planted violation:

1. every import goes to a group in the importer's allowed set (imports inside functions count);
2. no circle between modules (a strongly connected component of more than one module);
3. no module imports another module's private (``_name``) definition;

and, inside the apps, the tasks and the seed-path shims never import ``cli``.

Plus the size rule of the house: no file over 600 lines, no function over 80 lines (docstring
excluded).
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "jaxsnn_eqx"

BASE = ("spikes", "checks", "errors", "version")
#: group -> the groups it may import (its own group included where listed)
ALLOWED: dict[str, set[str]] = {
    "base": {"base"},
    "containers": {"base"},
    "event": {"base", "containers", "event"},
    "discrete": {"base", "containers", "discrete"},
    "data": {"base", "data"},
    "hardware": {"base", "containers", "event", "hardware"},
    "nir": {"base", "containers", "event", "discrete", "nir"},
    "plot": {"base", "data", "plot"},
    "train": {"base", "containers", "train"},
    "apps": {"base", "containers", "event", "discrete", "data", "hardware", "nir", "plot",
             "train", "apps"},
}
#: (importer prefix, imported prefix) pairs refused inside a group: the tasks and the seed-path
#: shims never import the CLI (what both need lives below them, e.g. `errors.UserError`)
FORBIDDEN = (("tasks", "cli"), ("event.tasks", "cli"), ("discrete.tasks", "cli"))
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 80


def group_of(module: str) -> str:
    """The layer group of a dotted module name below the package root (``"event.kernel"``)."""
    parts = module.split(".")
    if module == "" or parts[0] in ("tasks", "cli") or "tasks" in parts[1:]:
        return "apps"
    if parts[0] in BASE:
        return "base"
    if parts[0] in ALLOWED:
        return parts[0]
    raise KeyError(f"module {module!r} belongs to no layer: add it to ALLOWED in this test")


def read_modules(root: Path) -> dict[str, Path]:
    """Dotted names (relative to the package, "" for its ``__init__``) -> files."""
    mods = {}
    for f in sorted(root.rglob("*.py")):
        parts = list(f.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = f
    return mods


def _resolve(module: str, is_package: bool, node: ast.ImportFrom, root_name: str) -> str | None:
    """The dotted target (relative to the package) of a ``from ... import``; None if outside."""
    if node.level == 0:
        name = node.module or ""
        if name != root_name and not name.startswith(root_name + "."):
            return None
        return name[len(root_name) + 1:]
    base = module.split(".") if module else []
    if not is_package:
        base = base[:-1]
    up = node.level - 1
    if up > len(base):
        return None
    base = base[: len(base) - up]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph(root: Path) -> tuple[dict[str, set[str]], list[str]]:
    """Edges module -> modules it imports (anywhere in the file), and the private imports."""
    root_name = root.name
    mods = read_modules(root)
    edges: dict[str, set[str]] = {m: set() for m in mods}
    private = []
    for mod, f in mods.items():
        tree = ast.parse(f.read_text(), filename=str(f))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = _resolve(mod, f.name == "__init__.py", node, root_name)
                if target is None:
                    continue
                for alias in node.names:
                    full = f"{target}.{alias.name}" if target else alias.name
                    dest = full if full in mods else target
                    if dest in mods and dest != mod:
                        edges[mod].add(dest)
                    if (alias.name.startswith("_") and not alias.name.startswith("__")
                            and target in mods and target != mod):
                        private.append(f"{mod or root_name} imports {target}.{alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    name = alias.name
                    if name == root_name or name.startswith(root_name + "."):
                        dest = name[len(root_name) + 1:]
                        if dest in mods and dest != mod:
                            edges[mod].add(dest)
    return edges, private


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def layer_violations(edges: dict[str, set[str]]) -> list[str]:
    out = []
    for mod, targets in sorted(edges.items()):
        g = group_of(mod)
        for t in sorted(targets):
            if group_of(t) not in ALLOWED[g]:
                out.append(f"{mod or '<package>'} ({g}) imports {t} ({group_of(t)})")
            elif any(_within(mod, a) and _within(t, b) for a, b in FORBIDDEN):
                out.append(f"{mod} imports {t} (forbidden pair)")
    return out


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def oversized(root: Path) -> list[str]:
    out = []
    for f in read_modules(root).values():
        src = f.read_text()
        n = len(src.splitlines())
        if n > MAX_FILE_LINES:
            out.append(f"{f.relative_to(root.parent)}: {n} lines")
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                first = body[0]
                if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                        and isinstance(first.value.value, str) and len(body) > 1):
                    first = body[1]
                length = node.end_lineno - first.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    out.append(f"{f.relative_to(root.parent)}:{node.name}: {length} lines")
    return out


# ----------------------------------------------------------------------------- the rules
def test_imports_run_downward():
    edges, _ = import_graph(PACKAGE)
    assert layer_violations(edges) == []


def test_no_import_circles():
    edges, _ = import_graph(PACKAGE)
    assert circles(edges) == []


def test_no_private_imports_across_modules():
    _, private = import_graph(PACKAGE)
    assert private == []


def test_sizes():
    assert oversized(PACKAGE) == []


# ----------------------------------------------------------------------------- the checker bites
def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "jaxsnn_eqx"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_checker_finds_an_upward_import(tmp_path):
    root = _plant(tmp_path, {
        "__init__.py": "",
        "spikes.py": "",
        "event/__init__.py": "",
        "event/lif.py": "def f():\n    from ..train import fit\n",  # inside a function
        "train/__init__.py": "def fit(): ...\n",
    })
    edges, _ = import_graph(root)
    assert layer_violations(edges) == ["event.lif (event) imports train (train)"]


def test_checker_finds_event_discrete_and_absolute_imports(tmp_path):
    root = _plant(tmp_path, {
        "__init__.py": "",
        "event/__init__.py": "",
        "discrete/__init__.py": "",
        "discrete/lif.py": "import jaxsnn_eqx.event\n",
        "plot.py": "from jaxsnn_eqx.tasks import common\n",
        "tasks/__init__.py": "",
        "tasks/common.py": "from ..cli import UserError\n",
        "cli.py": "",
    })
    edges, _ = import_graph(root)
    assert layer_violations(edges) == [
        "discrete.lif (discrete) imports event (event)",
        "plot (plot) imports tasks.common (apps)",
        "tasks.common imports cli (forbidden pair)",
    ]


def test_checker_finds_a_circle_and_a_private_import(tmp_path):
    root = _plant(tmp_path, {
        "__init__.py": "",
        "hardware/__init__.py": "",
        "hardware/calib.py": "from .emulator import Emulator\n",
        "hardware/emulator.py": "def g():\n    from .executor import _probe\n",
        "hardware/executor.py": "from . import calib\n",
    })
    edges, private = import_graph(root)
    assert layer_violations(edges) == []
    assert circles(edges) == [["hardware.calib", "hardware.emulator", "hardware.executor"]]
    assert private == ["hardware.emulator imports hardware.executor._probe"]


def test_checker_finds_oversized_code(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES + 1))
    root = _plant(tmp_path, {
        "__init__.py": "",
        "big.py": '"""doc"""\n' + "\n" * MAX_FILE_LINES,
        "long.py": f'def f():\n    """A docstring\n    of lines."""\n{body}\n',
        "short.py": "def f():\n" + "\n".join(f"    y{i} = {i}" for i in range(80)) + "\n",
    })
    assert oversized(root) == [
        f"jaxsnn_eqx/big.py: {MAX_FILE_LINES + 1} lines",
        f"jaxsnn_eqx/long.py:f: {MAX_FUNCTION_LINES + 1} lines",
    ]
