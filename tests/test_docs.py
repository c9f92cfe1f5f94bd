"""The Python examples in the documentation pages run as written.

A page marks an example for execution with an HTML comment on the line before its fence::

    <!-- test: run -->
    ```python
    ...
    ```

The marked blocks of one page run in order in one namespace (later blocks use earlier names).
Unmarked blocks (shell commands, fragments) are not run.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
MARK = re.compile(r"<!-- test: run -->\n```python\n(.*?)```", re.S)


def marked_blocks(page: Path) -> list[str]:
    return MARK.findall(page.read_text())


PAGES = sorted(p for p in DOCS.rglob("*.md") if marked_blocks(p))


def test_marked_pages_found():
    assert {p.name for p in PAGES} >= {"getting-started.md", "custom-neuron.md"}


def test_every_marker_is_followed_by_a_python_block():
    for page in DOCS.rglob("*.md"):
        text = page.read_text()
        assert text.count("<!-- test: run -->") == len(marked_blocks(page)), page.name


@pytest.mark.slow  # runs a docs example end to end (CI runs -m slow)
@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_page_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples must not write into the checkout
    # a registered module, so that classes defined in an example (Equinox dataclasses) resolve
    module = types.ModuleType(f"docs_example_{page.stem.replace('-', '_')}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    for i, code in enumerate(marked_blocks(page)):
        exec(compile(code, f"{page.relative_to(DOCS)} (block {i + 1})", "exec"), namespace)
    if page.name == "custom-neuron.md":
        import jax.numpy as jnp

        g = namespace["grads"].weight
        assert g.shape == (5, 10) and bool(jnp.all(jnp.isfinite(g))) and bool(jnp.any(g != 0))
    if page.name == "getting-started.md":
        assert namespace["t_first"].shape == (256, 3)
        assert len(namespace["results"]["epochs"]) == 2
