import json
import subprocess
import sys

import pytest

from jaxsnn_eqx import cli

# plot_training (and `jaxsnn-eqx plot`) is tested in tests/test_plot.py


def test_methods_listing(capsys):
    assert cli.main(["methods"]) == 0
    text = capsys.readouterr().out
    for m in ("discrete", "analytical", "eventprop", "eventprop-layered"):
        assert m in text


@pytest.mark.slow  # a subprocess run (CI runs -m slow)
def test_unknown_method_is_a_clear_error():
    proc = subprocess.run([sys.executable, "-m", "jaxsnn_eqx.cli", "train", "yinyang",
                           "--method", "nonsense"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr


def test_cli_train_writes_results_and_resumes(tmp_path, capsys):
    small = ["--n-train", "256", "--n-val", "64", "--n-test", "64", "--batch-size", "32",
             "--out", str(tmp_path), "--no-progress", "--no-plot"]
    train = ["train", "yinyang", "--method", "discrete"]
    assert cli.main([*train, "--epochs", "1", *small]) == 0
    first = json.loads((tmp_path / "results.json").read_text())
    assert len(first["epochs"]) == 1
    assert {"test_accuracy", "epochs", "config"} <= set(first)
    assert 0.0 <= first["test_accuracy"] <= 1.0
    assert first["config"]["epochs"] == 1
    assert (tmp_path / "model.eqx").exists()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert (manifest["epoch"], manifest["finished"]) == (1, True)
    saved = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    # the finished run is not overwritten; a longer run changes the learning-rate schedule, so
    # resuming with --epochs 2 needs --extend; each refusal is one line and leaves the folder
    for flags, expected in ((["--epochs", "1"], "already holds a finished run (1 epoch)"),
                            (["--epochs", "2", "--resume"], "epochs: saved 1, now 2")):
        capsys.readouterr()
        assert cli.main([*train, *flags, *small]) == 2
        msg = capsys.readouterr().err
        assert expected in msg and "--overwrite" in msg and msg.count("\n") == 1
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == saved
    assert cli.main([*train, "--epochs", "2", "--resume", "--extend", *small]) == 0
    second = json.loads((tmp_path / "results.json").read_text())
    assert [e["epoch"] for e in second["epochs"]] == [1, 2]
    assert second["epochs"][0] == first["epochs"][0]  # the first epoch was not re-run
    assert second["config"]["epochs"] == 2
    assert (tmp_path / "last_model.eqx").read_bytes() != saved["last_model.eqx"]
