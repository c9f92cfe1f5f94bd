"""The application layer: the seed-path shims load no `cli`, and the task registry names modules
that exist and can rebuild their runs. (The import rules themselves, `tasks` never importing
`cli` among them, are read from the code in `test_architecture.py`.)"""

import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from jaxsnn_eqx.tasks import registry

PKG = Path(__file__).resolve().parents[1] / "jaxsnn_eqx"


@pytest.mark.slow  # a subprocess run (CI runs -m slow)
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
