"""Short training runs of the discrete Yin-Yang task."""

import jax.numpy as jnp
import numpy as np
import pytest

from jaxsnn_eqx import discrete
from jaxsnn_eqx.tasks import yinyang_discrete as task


def _args(argv):
    parser = task.add_arguments(task.base_parser("test", **task.DEFAULTS))
    return parser.parse_args(argv)


def test_short_training_is_clearly_above_chance(tmp_path):
    # 3 epochs of a smaller network: chance is 1/3
    args = _args(["--epochs", "3", "--hidden", "60", "--out", str(tmp_path), "--no-progress"])
    results = task.run(args)
    assert results["test_accuracy"] > 0.75
    losses = [e["train_loss"] for e in results["epochs"]]
    assert losses[-1] < losses[0]
    assert (tmp_path / "results.json").exists() and (tmp_path / "model.eqx").exists()
    assert results["config"]["hidden"] == 60


def test_model_structure_and_shapes():
    args = _args([])
    import jax

    model = task.build_model(jax.random.PRNGKey(0), args)
    hidden, readout = model.layers
    assert isinstance(hidden.layer, discrete.LIF) and hidden.weight_rec.shape == (120, 120)
    assert isinstance(readout, discrete.LI) and readout.weight.shape == (120, 3)
    xs = task.encode(jnp.array([[0.2, 0.7]]), args)
    assert xs.shape == (1, 10, 5)
    v = jax.vmap(model)(xs)
    assert v.shape == (1, 10, 3) and np.all(np.isfinite(np.asarray(v)))


@pytest.mark.slow
def test_default_run_reaches_95_percent(tmp_path):
    results = task.main(["--out", str(tmp_path), "--no-progress"])
    assert results["test_accuracy"] >= 0.95
