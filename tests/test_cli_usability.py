"""The command line says what it does: contradicting flags refused, help shows the defaults a
method uses, user errors end in one line with exit status 2."""

import subprocess
import sys

import pytest

from jaxsnn_eqx import cli
from jaxsnn_eqx.tasks import yinyang_event


def _cli(*argv):
    return subprocess.run([sys.executable, "-m", "jaxsnn_eqx.cli", *argv], capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("method, flags, hint", [
    ("analytical", ["--gradient", "eventprop"], "--method eventprop-layered"),
    ("eventprop", ["--gradient", "analytical"], "--method analytical"),
    ("eventprop", ["--layered"], "--method eventprop-layered"),
    ("eventprop-layered", ["--gradient", "analytical"], "--method analytical"),
])
def test_flags_contradicting_the_method_are_refused(method, flags, hint, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "yinyang", "--method", method, *flags])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "contradicts the method" in err and hint in err


def test_consistent_flags_are_accepted():
    args = yinyang_event.parse(["--gradient", "analytical", "--layered"], method="analytical")
    assert (args.gradient, args.layered, args.method) == ("analytical", True, "analytical")
    args = yinyang_event.parse(["--layered"], method="eventprop-layered")
    assert (args.gradient, args.layered) == ("eventprop", True)


@pytest.mark.parametrize("method, expect", [
    ("analytical", dict(gradient="analytical", layered=True, epochs=300, lr=1e-2,
                        out="runs/yinyang_analytical")),
    ("eventprop", dict(gradient="eventprop", layered=False, epochs=300, lr=1e-2,
                       out="runs/yinyang_eventprop")),
    ("eventprop-layered", dict(gradient="eventprop", layered=True, epochs=300, lr=1e-2,
                               out="runs/yinyang_eventprop_layered")),
])
def test_each_method_has_its_defaults_and_folder(method, expect):
    args = yinyang_event.parse([], method=method)
    for name, value in expect.items():
        assert str(getattr(args, name)) == str(value), name
    text = " ".join(yinyang_event.parser_for([], method=method).format_help().split())
    assert f"(default: {expect['gradient']})" in text
    assert f"(default: {expect['layered']})" in text
    assert f"(default: {expect['out']})" in text


def test_python_m_entry_points_resolve_their_method():
    assert yinyang_event.method_of(["--layered"]) == "eventprop-layered"
    assert yinyang_event.method_of(["--gradient", "analytical"]) == "analytical"
    assert yinyang_event.method_of([]) == "eventprop"
    assert "EventPropLIF layers 5-120-3" in yinyang_event.describe(
        yinyang_event.parse([], method="eventprop-layered"))
    assert "RecurrentEventPropLIF" in yinyang_event.describe(
        yinyang_event.parse([], method="eventprop"))


@pytest.mark.slow  # a subprocess run (CI runs -m slow)
def test_help_pages_exit_zero_and_describe_the_tool():
    top = _cli("--help")
    assert top.returncode == 0 and "console script" not in top.stdout
    assert "train spiking networks" in top.stdout
    train = _cli("train", "--help")
    assert train.returncode == 0 and "eventprop-layered" in train.stdout
    task = _cli("train", "yinyang", "--method", "analytical", "--help")
    assert task.returncode == 0
    assert "--method analytical" in task.stdout and "(default: analytical)" in task.stdout
    missing = _cli("train")
    assert missing.returncode == 2 and "dataset is required" in missing.stderr


def test_plot_of_a_folder_without_results_is_one_line(tmp_path, capsys):
    assert cli.main(["plot", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("jaxsnn-eqx: error:") and "results.json" in err
    assert len(err.splitlines()) == 1


def test_plot_without_matplotlib_is_one_line_with_the_hint(tmp_path, capsys, monkeypatch):
    import json

    (tmp_path / "results.json").write_text(json.dumps(
        {"config": {}, "epochs": [{"epoch": 1, "train_loss": 1.0, "val_accuracy": 0.5}]}))
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    for name in list(sys.modules):
        if name.startswith("matplotlib."):
            monkeypatch.setitem(sys.modules, name, None)
    assert cli.main(["plot", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert 'pip install "jaxsnn-eqx[plot]"' in err and len(err.splitlines()) == 1


def test_unknown_option_is_refused(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "yinyang", "--method", "discrete", "--hiden", "3"])
    assert info.value.code == 2
    assert "unrecognized arguments: --hiden" in capsys.readouterr().err


@pytest.mark.parametrize("argv, flag", [
    (["train", "yinyang", "--method", "discrete", "--epoch", "5"], "--epoch"),
    (["train", "yinyang", "--method", "analytical", "--grad", "analytical"], "--grad"),
    (["train", "shd", "--method", "discrete", "--data", "x"], "--data"),
    (["train", "digits", "--meth", "discrete"], "--meth"),
    (["plot", "runs/x", "--ou", "y"], "--ou"),
])
def test_abbreviated_flags_are_refused_in_short(argv, flag, capsys):
    """``--epoch 5`` ran as ``--epochs 5``: no parser takes abbreviations; the error is the
    message and a pointer to --help, not the usage of every flag."""
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert flag in err and "--help" in err and len(err.strip().splitlines()) <= 2, err


@pytest.mark.slow  # a subprocess run (CI runs -m slow)
def test_ctrl_c_is_one_line_with_the_resume_command(tmp_path):
    """Ctrl-C during training printed a 35-line KeyboardInterrupt traceback: now one line with
    the last saved epoch and the exact command that continues the run; exit status 130."""
    import json
    import signal
    import time

    out = tmp_path / "run"
    argv = ["train", "yinyang", "--method", "discrete", "--epochs", "5000", "--n-train", "64",
            "--n-val", "32", "--n-test", "32", "--batch-size", "32", "--hidden", "8",
            "--no-plot", "--no-progress", "--out", str(out), "--overwrite"]
    proc = subprocess.Popen([sys.executable, "-m", "jaxsnn_eqx.cli", *argv],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    manifest = out / "manifest.json"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if json.loads(manifest.read_text())["epoch"] >= 1:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.2)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err.count("\n") == 1, err
    saved = json.loads(manifest.read_text())["epoch"]
    assert f"{out} holds epoch {saved} of 5000" in err
    resume = [a for a in argv if a != "--overwrite"] + ["--resume"]
    assert err.strip().endswith("continue with: jaxsnn-eqx " + " ".join(resume)), err


def test_ctrl_c_messages_name_what_is_saved(tmp_path):
    """Without a saved epoch: start again (the same command); after training (figures):
    the run is finished, how to draw its figures."""
    import json

    from jaxsnn_eqx.errors import TrainingInterrupted
    from jaxsnn_eqx.tasks.entry import interrupted_message

    cmd = ["jaxsnn-eqx", "train", "yinyang", "--out", str(tmp_path), "--overwrite"]
    msg = interrupted_message(TrainingInterrupted(tmp_path), cmd)
    assert "before the first epoch was saved" in msg and msg.endswith(" ".join(cmd))
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"epoch": 3, "finished": True, "fit": {"epochs": 3}}))
    msg = interrupted_message(TrainingInterrupted(tmp_path), cmd)
    assert "finished run (3 epochs)" in msg and msg.endswith(f"jaxsnn-eqx plot {tmp_path}")
    assert "\n" not in interrupted_message(KeyboardInterrupt(), None)
