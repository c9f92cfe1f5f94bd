import json
import subprocess
import sys

import pytest

from jaxsnn_eqx import cli, plot


def _fake_run(tmp_path, name, acc):
    d = tmp_path / name
    d.mkdir()
    res = {"config": {}, "test_accuracy": acc,
           "epochs": [{"epoch": i + 1, "train_loss": 1.0 / (i + 1), "val_accuracy": 0.5 + 0.1 * i,
                       "seconds": 0.1} for i in range(4)]}
    (d / "results.json").write_text(json.dumps(res))
    return d


def test_plot_reads_saved_results(tmp_path):
    a, b = _fake_run(tmp_path, "a", 0.9), _fake_run(tmp_path, "b", 0.8)
    out = plot.plot_training([a, b], out=tmp_path / "curves.png")
    assert out.exists() and out.stat().st_size > 1000
    assert cli.main(["plot", str(a)]) == 0
    assert (a / "training.png").exists()
    with pytest.raises(FileNotFoundError, match="results.json"):
        plot.plot_training(tmp_path / "missing")


def test_methods_listing(capsys):
    assert cli.main(["methods"]) == 0
    text = capsys.readouterr().out
    for m in ("discrete", "analytical", "eventprop", "eventprop-layered"):
        assert m in text


def test_unknown_method_is_a_clear_error():
    proc = subprocess.run([sys.executable, "-m", "jaxsnn_eqx.cli", "train", "yinyang",
                           "--method", "nonsense"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr


def test_cli_train_writes_results_and_resumes(tmp_path):
    small = ["--n-train", "256", "--n-val", "64", "--n-test", "64", "--batch-size", "32",
             "--out", str(tmp_path), "--no-progress"]
    assert cli.main(["train", "yinyang", "--method", "discrete", "--epochs", "1", *small]) == 0
    first = json.loads((tmp_path / "results.json").read_text())
    assert len(first["epochs"]) == 1
    assert {"test_accuracy", "epochs", "config"} <= set(first)
    assert 0.0 <= first["test_accuracy"] <= 1.0
    assert first["config"]["epochs"] == 1
    assert (tmp_path / "model.eqx").exists()
    assert cli.main(["train", "yinyang", "--method", "discrete", "--epochs", "2", "--resume",
                     *small]) == 0
    second = json.loads((tmp_path / "results.json").read_text())
    assert [e["epoch"] for e in second["epochs"]] == [1, 2]
    assert second["epochs"][0] == first["epochs"][0]  # the first epoch was not re-run
