"""The application layer imports one way: `errors` below `cli` and `tasks`, `plot` knows no task
or run folder, `tasks` never imports `cli`, the seed-path shims go to `tasks` without `cli`; and
the task registry names modules that exist and can rebuild their runs."""

import ast
import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from jaxsnn_eqx.tasks import registry

PKG = Path(__file__).resolve().parents[1] / "jaxsnn_eqx"


def _imports(path: Path) -> set[str]:
    """Absolute names of the package modules ``path`` imports (inside functions too)."""
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package[: len(package) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m.startswith("jaxsnn_eqx")}


def _files(*globs):
    return [p for g in globs for p in PKG.glob(g)]


def test_errors_imports_nothing_from_the_package():
    assert _imports(PKG / "errors.py") == set()


def test_plot_knows_no_task_cli_or_training():
    bad = {m for m in _imports(PKG / "plot.py")
           if m.startswith(("jaxsnn_eqx.tasks", "jaxsnn_eqx.cli", "jaxsnn_eqx.train"))}
    assert bad == set()
    assert "_METHOD_LOSS" not in (PKG / "plot.py").read_text()


@pytest.mark.parametrize("path", _files("tasks/*.py", "event/tasks/**/*.py",
                                        "discrete/tasks/*.py"), ids=lambda p: p.name)
def test_tasks_and_shims_do_not_import_the_cli(path):
    assert not {m for m in _imports(path) if m.startswith("jaxsnn_eqx.cli")}


def test_nothing_below_the_apps_layer_imports_it():
    below = [p for p in PKG.rglob("*.py")
             if p.relative_to(PKG).parts[0] not in ("tasks", "cli.py")
             and "tasks" not in p.relative_to(PKG).parts]
    for path in below:
        bad = {m for m in _imports(path) if m.startswith(("jaxsnn_eqx.tasks", "jaxsnn_eqx.cli"))}
        assert not bad, (path, bad)


def test_a_shim_does_not_load_the_cli():
    code = ("import sys, jaxsnn_eqx.event.tasks.yinyang_event_prop, "
            "jaxsnn_eqx.discrete.tasks.yinyang, jaxsnn_eqx.event.tasks.hardware.yinyang_mock; "
            "print('jaxsnn_eqx.cli' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def test_every_registered_task_has_its_entry_and_rebuilds_its_runs():
    assert registry.datasets() == ("yinyang", "digits", "delay-patterns", "shd")
    for dataset in registry.datasets():
        for name, task in registry.methods(dataset).items():
            module = registry.load(task)
            assert callable(module.main), (dataset, name)
            entry = task.entry.split()[0]
            assert importlib.util.find_spec(entry) is not None, entry
    for module in ("yinyang_event", "yinyang_discrete", "yinyang_hardware", "digits", "shd"):
        task = importlib.import_module(f"jaxsnn_eqx.tasks.{module}")
        assert callable(task.model_like) and callable(task.figure_hooks)


@pytest.mark.parametrize("config, module", [
    ({"dataset": "digits", "method": "analytical"}, "digits"),
    ({"dataset": "shd", "method": "eventprop"}, "shd"),
    ({"method": "eventprop-layered", "gradient": "eventprop"}, "yinyang_event"),
    ({"backend": "emulator"}, "yinyang_hardware"),
    ({"dt": 5e-4, "recurrent": True}, "yinyang_discrete"),
    ({"lr": 1e-3}, None),
])
def test_task_of_a_saved_config(config, module):
    found = registry.task_of(config)
    assert (found and found.__name__) == (module and f"jaxsnn_eqx.tasks.{module}")
