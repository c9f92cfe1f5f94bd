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
