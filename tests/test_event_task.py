"""The event-based Yin-Yang task: a short run learns; the default run reaches the target."""

import json
import subprocess
import sys

import pytest


@pytest.mark.slow  # a subprocess run (CI runs -m slow)
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
        return a.epochs, a.lr, a.batch_size, a.final_lr_fraction, a.select

    default = (300, 1e-2, 16, 5e-3, "last")
    assert parsed() == default  # recurrent EventProp population
    assert parsed("--layered") == default
    assert parsed("--gradient", "analytical") == default
    assert parsed("--layered", "--epochs", "5", "--lr", "0.1", "--select", "best_val") == (
        5, 0.1, 16, 5e-3, "best_val")


def test_final_lr_fraction_reaches_the_schedule(tmp_path, monkeypatch):
    """``--final-lr-fraction F`` reaches `train.make_optimizer` (whose cosine schedule ends at
    ``F * lr``) and the saved config; out-of-range values are refused."""
    from jaxsnn_eqx.tasks import recipe as common
    from jaxsnn_eqx.tasks import yinyang_event as task

    with pytest.raises(SystemExit):
        task.parse(["--final-lr-fraction", "1.5"], method="analytical")
    built = []
    make = common.make_optimizer

    def spy(lr, epochs, steps, **kw):
        built.append((lr, epochs * steps, kw["final_lr_fraction"]))
        return make(lr, epochs, steps, **kw)

    monkeypatch.setattr(common, "make_optimizer", spy)
    argv = ["--out", str(tmp_path), "--epochs", "1", "--n-train", "64", "--n-val", "32",
            "--n-test", "32", "--batch-size", "32", "--hidden", "8", "--no-progress",
            "--no-plot", "--final-lr-fraction", "0.25", "--lr", "0.02"]
    task.main(argv, method="analytical")
    (lr, total, fraction), = built
    assert (lr, total, fraction) == (0.02, 2, 0.25)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["config"]["final_lr_fraction"] == 0.25


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


def test_a_batch_silent_at_the_output_warns_once(tmp_path):
    """Times in the wrong unit fail silently: with ``--tau-syn 5`` (ms meant, read as 5 s) the
    inputs arrive after ``--t-max 0.04`` and no output ever fires; the run warns once."""
    import warnings as _warnings

    from jaxsnn_eqx.errors import SilentOutputWarning
    from jaxsnn_eqx.tasks import yinyang_event as task

    argv = ["--tau-syn", "5", "--t-max", "0.04", "--hidden", "8", "--epochs", "2",
            "--n-train", "32", "--n-val", "16", "--n-test", "16", "--batch-size", "16",
            "--no-plot", "--no-progress", "--out", str(tmp_path / "run")]
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        task.main(argv, method="analytical")
    silent = [w for w in caught if issubclass(w.category, SilentOutputWarning)]
    assert len(silent) == 1, [str(w.message) for w in caught]
    assert "--tau-syn 5" in str(silent[0].message) and "--t-max 0.04" in str(silent[0].message)
