"""The README: short, its commands as documented, its examples run, its links resolve."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_readme_is_short():
    assert len(README.read_text().splitlines()) < 250


def test_readme_quick_start_commands():
    text = README.read_text()
    block = text.split("## Quick start")[1].split("```bash\n")[1].split("```")[0]
    assert block.splitlines() == [
        'pip install -e ".[plot]" && python -m jaxsnn_eqx.event.tasks.yinyang_event_prop --layered',
        'pip install -e ".[dev]" && python -m pytest -q',
    ]


@pytest.mark.slow  # runs a docs example end to end (CI runs -m slow)
def test_readme_examples_run():
    """The event, discrete and hardware examples run in order, in one namespace."""
    import jax.numpy as jnp

    text = README.read_text().split("## Three examples")[1].split("\n## ")[0]
    blocks = python_blocks(text)
    assert len(blocks) == 3
    namespace: dict = {}
    for i, code in enumerate(blocks):
        exec(compile(code, f"README.md (example {i + 1})", "exec"), namespace)
    assert namespace["first"].shape == (64, 3)
    g = namespace["grads"].layers[0].weight
    assert g.shape == (5, 100) and bool(jnp.all(jnp.isfinite(g))) and bool(jnp.any(g != 0))
    assert namespace["ys"].shape == (60, 3)
    assert namespace["t_out"].shape == (64, 3)


@pytest.mark.slow  # runs a docs example end to end (CI runs -m slow)
def test_readme_custom_neuron_example_runs():
    """The custom-neuron example moved from the README to docs/custom-neuron.md."""
    import jax.numpy as jnp

    assert "docs/custom-neuron.md" in README.read_text()
    page = (ROOT / "docs" / "custom-neuron.md").read_text()
    code = next(b for b in python_blocks(page) if "(event.EventNeuron)" in b and "grads" in b)
    namespace: dict = {}
    exec(compile(code, "docs/custom-neuron.md", "exec"), namespace)
    g = namespace["grads"].weight
    assert g.shape == (5, 10) and bool(jnp.all(jnp.isfinite(g))) and bool(jnp.any(g != 0))


def test_readme_links_resolve():
    """Every relative link of the README points to a file or folder of the checkout."""
    text = README.read_text()
    links = [t for t in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text) if "://" not in t]
    assert links
    for target in links:
        assert (ROOT / target).exists(), target
    for page in ("docs/bss2.md", "docs/nir.md", "docs/custom-neuron.md",
                 "docs/architecture.md"):
        assert page in links, page
