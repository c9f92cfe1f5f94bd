"""The README's API tour runs as written."""

from pathlib import Path


def test_readme_api_tour_runs():
    text = (Path(__file__).parents[1] / "README.md").read_text()
    code = text.split("## API tour")[1].split("```python")[1].split("```")[0]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["first"].shape == (64, 3)
    assert namespace["ys"].shape == (60, 3)


def test_readme_custom_neuron_example_runs():
    import jax.numpy as jnp

    text = (Path(__file__).parents[1] / "README.md").read_text()
    code = text.split("## Write your own neuron")[1].split("```python")[1].split("```")[0]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    g = namespace["grads"].weight
    assert g.shape == (5, 10) and bool(jnp.all(jnp.isfinite(g))) and bool(jnp.any(g != 0))
