"""The event-based Yin-Yang task: a short run learns; the default run reaches the target."""

import json
import subprocess
import sys

import pytest


def test_short_training_is_clearly_above_chance(tmp_path):
    # run as a user does (a fresh process, float32); the test session has x64 switched on
    cmd = [sys.executable, "-m", "jaxsnn_eqx.event.tasks.yinyang_analytical", "--out",
           str(tmp_path), "--epochs", "3", "--n-train", "2000", "--n-val", "500", "--n-test", "500",
           "--no-progress", "--no-plot"]
    subprocess.run(cmd, check=True)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["test_accuracy"] > 0.5  # chance: 1/3
    assert len(saved["epochs"]) == 3 and all(e["seconds"] > 0 for e in saved["epochs"])
    assert (tmp_path / "model.eqx").exists()


@pytest.mark.slow
def test_default_run_reaches_96_percent(tmp_path):
    cmd = [sys.executable, "-m", "jaxsnn_eqx.event.tasks.yinyang_analytical", "--out",
           str(tmp_path), "--no-progress"]
    subprocess.run(cmd, check=True)
    assert json.loads((tmp_path / "results.json").read_text())["test_accuracy"] >= 0.96


def test_every_method_shares_the_defaults():
    from jaxsnn_eqx.tasks import yinyang_event as task

    def parsed(*argv):
        a = task.parser_for(list(argv)).parse_args(list(argv))
        return a.epochs, a.lr, a.batch_size

    assert parsed() == (300, 1e-2, 16)  # recurrent EventProp population
    assert parsed("--layered") == (300, 1e-2, 16)
    assert parsed("--gradient", "analytical") == (300, 1e-2, 16)
    assert parsed("--layered", "--epochs", "5", "--lr", "0.1") == (5, 0.1, 16)


def test_jitter_moves_training_inputs_and_keeps_them_valid():
    """``--jitter``: Gaussian noise on the training input times, a fresh draw per key, times
    kept >= 0 and sorted; the loss then needs the step key (``with_key``)."""
    import jax
    import numpy as np

    from jaxsnn_eqx import data
    from jaxsnn_eqx.tasks import yinyang_event as task

    x, _ = data.yinyang_splits(0, n_train=8, n_val=8, n_test=8)["train"]
    a = task._resolve(task.parse(["--layered", "--jitter", "1e-3"], method="eventprop-layered"))
    spikes = task.encode(x, a)
    j1 = task._jitter(spikes, a.jitter, jax.random.PRNGKey(0))
    j2 = task._jitter(spikes, a.jitter, jax.random.PRNGKey(1))
    t1 = np.asarray(j1.time)
    assert np.all(t1 >= 0) and np.all(np.diff(t1, axis=-1) >= 0)
    assert not np.allclose(t1, j2.time) and not np.allclose(t1, np.sort(spikes.time, -1))
    assert 1e-4 < np.std(t1 - np.asarray(spikes.time.sort(axis=-1))) < 1e-2
