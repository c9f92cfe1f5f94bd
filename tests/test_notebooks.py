"""The documentation notebooks (``docs/notebooks/*.ipynb``) execute without error.

Each notebook runs in a fresh Jupyter kernel of *this* interpreter (a kernel spec written to a
temporary folder, so neither ``python`` on ``PATH`` nor a user-level ``python3`` kernel spec is
used), with the temporary folder as working directory. Any cell that raises fails the test.

The notebooks are committed *with* their outputs (the docs show them; mkdocs does not execute
them). After editing a notebook, regenerate its outputs with::

    python tests/test_notebooks.py [docs/notebooks/NAME.ipynb ...]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "docs" / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL = "jaxsnn-eqx-docs"
TIMEOUT = 300  # seconds per cell


def _environment(root: Path) -> dict[str, str]:
    """Environment variables for a kernel of this interpreter whose files stay under ``root``."""
    spec = root / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python ({KERNEL})",
        "language": "python",
    }))
    return {
        "JUPYTER_PATH": str(root / "jupyter"),         # finds the kernel spec above
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"),  # connection files
        "IPYTHONDIR": str(root / "ipython"),           # IPython profile and history
    }


def execute(path: Path, workdir: Path, env: dict[str, str]):
    """Run every cell of the notebook at ``path`` in ``workdir``; return the executed notebook."""
    nb = nbformat.read(path, as_version=4)
    saved = {k: os.environ.get(k) for k in (*env, "MPLBACKEND")}
    os.environ.update(env)
    os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend draws the figures
    try:
        nbclient.NotebookClient(
            nb, kernel_name=KERNEL, timeout=TIMEOUT,
            resources={"metadata": {"path": str(workdir)}},
        ).execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def test_notebooks_found():
    assert [p.name for p in NOTEBOOKS] == ["event_based_snn.ipynb", "eventprop.ipynb",
                                           "ttfs.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_with_outputs(path):
    """Every code cell was executed, in order, and the notebook holds its figures."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), (
        f"{path.name}: outputs missing or stale; run python tests/test_notebooks.py")
    images = [o for c in code for o in c.outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name}: no figure in the committed outputs"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors


@pytest.mark.slow  # a subprocess run (CI runs -m slow)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    execute(path, work, _environment(tmp_path))


if __name__ == "__main__":  # regenerate the committed outputs
    for arg in sys.argv[1:] or NOTEBOOKS:
        target = Path(arg).resolve()
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp) / "work"
            work.mkdir()
            nb = execute(target, work, _environment(Path(tmp)))
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nbformat.write(nb, target)
        print(f"wrote {target}")
