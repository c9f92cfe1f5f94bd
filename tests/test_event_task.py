"""The event-based Yin-Yang task: a short run learns; the default run reaches the target."""

import json

import pytest

from jaxsnn_eqx.tasks import yinyang_analytical as task


def test_short_training_is_clearly_above_chance(tmp_path):
    res = task.main(["--out", str(tmp_path), "--epochs", "3", "--n-train", "2000", "--n-val", "500",
                     "--n-test", "500", "--no-progress"])
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["test_accuracy"] == res["test_accuracy"] > 0.5  # chance: 1/3
    assert len(saved["epochs"]) == 3 and all(e["seconds"] > 0 for e in saved["epochs"])
    assert (tmp_path / "model.eqx").exists()


@pytest.mark.slow
def test_default_run_reaches_96_percent(tmp_path):
    res = task.main(["--out", str(tmp_path), "--no-progress"])
    assert res["test_accuracy"] >= 0.96
