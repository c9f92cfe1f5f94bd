"""The digits task (scikit-learn's 8x8 digits, latency-coded): loader, split, encoding, each
method end to end from the command line, its figures, and (slow) the defaults reach 95%."""

import json
import subprocess
import sys

import numpy as np
import pytest

from jaxsnn_eqx import cli, data
from jaxsnn_eqx.data import digits as dd
from jaxsnn_eqx.tasks import digits as task
from jaxsnn_eqx.tasks import runs as common

pytest.importorskip("sklearn")

TINY = ["--n-train", "64", "--n-val", "32", "--n-test", "48", "--batch-size", "32",
        "--epochs", "1", "--hidden", "12", "--no-progress"]


def test_the_split_is_fixed_stratified_and_disjoint():
    x, y = data.load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32 and y.shape == (1797,)
    assert x.min() == 0.0 and x.max() == 1.0 and set(np.unique(y)) == set(range(10))
    rows = dd.digits_split_indices(y)
    sizes = {k: len(v) for k, v in rows.items()}
    assert sizes == {"train": 1259, "val": 179, "test": 359}
    assert sizes == {k[2:]: v for k, v in task.SPLIT_SIZES.items()}
    together = np.concatenate(list(rows.values()))
    assert len(together) == 1797 and len(np.unique(together)) == 1797  # no overlap, all used
    counts = np.bincount(y)
    for name, frac in (("train", 0.7), ("val", 0.1), ("test", 0.2)):
        per_class = np.bincount(y[rows[name]], minlength=10)
        assert np.all(np.abs(per_class - frac * counts) <= 1), name  # stratified
    again = dd.digits_split_indices(y)
    assert all(np.array_equal(rows[k], again[k]) for k in rows)  # deterministic
    other = dd.digits_split_indices(y, split_seed=1)
    assert not np.array_equal(np.sort(rows["test"]), np.sort(other["test"]))
    splits = data.digits_splits()
    np.testing.assert_array_equal(np.asarray(splits["test"][0]), x[rows["test"]])
    np.testing.assert_array_equal(np.asarray(splits["test"][1]), y[rows["test"]])


def test_latency_encoding_bright_early_zero_silent_bias_last():
    x = np.zeros((2, 64), np.float32)
    x[0, 3], x[0, 10], x[1, 0] = 1.0, 0.5, 0.25
    t_late, bias = 0.01, 0.004
    times = np.asarray(data.digits_times(x, t_late=t_late, bias_time=bias))
    assert times.shape == (2, 65)
    np.testing.assert_allclose(times[0, [3, 10, 64]], [0.0, 0.005, bias])
    np.testing.assert_allclose(times[1, 0], 0.0075)
    assert np.isinf(times[0, 0]) and np.sum(np.isfinite(times)) == 5
    s = data.encode_digits(x, t_late=t_late, bias_time=bias)
    assert s.time.shape == s.idx.shape == (2, 65)
    t0, i0 = np.asarray(s.time[0]), np.asarray(s.idx[0])
    assert np.all(np.diff(t0[:3]) >= 0)  # sorted, padding (inf, -1) at the end
    assert list(i0[:3]) == [3, 64, 10] and np.all(i0[3:] == -1) and np.all(np.isinf(t0[3:]))
    full = data.encode_digits(x, t_late=t_late, zero_spikes=True)  # zeros fire at t_late
    assert full.time.shape == (2, 64) and int(full.count[0]) == 64
    assert np.sum(np.asarray(full.time[0]) == np.float32(t_late)) == 62


def test_missing_scikit_learn_is_one_line_with_the_hint(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now fails
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ModuleNotFoundError, match=r'pip install "jaxsnn-eqx\[digits\]"'):
        data.load_digits()
    assert cli.main(["train", "digits", "--method", "analytical", *TINY, "--no-plot"]) == 2
    err = capsys.readouterr().err.strip()
    assert 'pip install "jaxsnn-eqx[digits]"' in err and len(err.splitlines()) == 1


def test_cli_lists_and_describes_the_digits_task(capsys):
    assert cli.main(["methods"]) == 0
    text = capsys.readouterr().out
    assert "digits (jaxsnn-eqx train digits" in text
    for entry in ("event.tasks.digits_analytical", "event.tasks.digits_event_prop",
                  "discrete.tasks.digits"):
        assert entry in text
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "digits", "--method", "hardware"])
    assert info.value.code == 2 and "not available for digits" in capsys.readouterr().err
    for method in task.METHODS:
        text = " ".join(task.parser_for(method).format_help().split())
        assert f"(default: runs/digits_{method})" in text and "--zero-pixels" in text
        args = task.parse([], method=method)
        assert (args.dataset, args.method, args.n_train) == ("digits", method, 1259)
    with pytest.raises(SystemExit):
        task.parse(["--n-train", "5000"], method="eventprop")
    assert "the split has 1259 images" in capsys.readouterr().err


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One tiny finished run per method (the discrete one with --ann)."""
    root = tmp_path_factory.mktemp("digits")
    out = {}
    for method in task.METHODS:
        out[method] = root / method
        extra = ["--ann"] if method == "discrete" else []
        assert cli.main(["train", "digits", "--method", method, *TINY, "--no-plot",
                         "--out", str(out[method]), *extra]) == 0
    return out


@pytest.mark.slow  # trains each method (CI runs -m slow)
@pytest.mark.parametrize("method", task.METHODS)
def test_each_method_trains_end_to_end(runs, method):
    res = json.loads((runs[method] / "results.json").read_text())
    assert 0.0 <= res["test_accuracy"] <= 1.0 and len(res["epochs"]) == 1
    cfg = res["config"]
    assert (cfg["dataset"], cfg["method"], cfg["n_train"], cfg["hidden"]) == (
        "digits", method, 64, 12)
    assert (runs[method] / "model.eqx").exists()
    assert common.task_of(cfg) is task
    if method == "discrete":
        assert res["ann"]["network"] == "ReLU MLP 65-12-10"
        assert 0.0 <= res["ann"]["test_accuracy"] <= 1.0


@pytest.mark.slow  # trains each method (CI runs -m slow)
@pytest.mark.parametrize("method, readout", [
    pytest.param("analytical", "spike_times.png", marks=pytest.mark.slow),  # 20-35 s compile
    ("discrete", "readout_max.png"),
])
def test_plot_of_a_digits_run(runs, method, readout, tmp_path):
    pytest.importorskip("matplotlib")
    from jaxsnn_eqx.tasks import figures as plot

    assert cli.main(["plot", str(runs[method]), "--out", str(tmp_path)]) == 0
    names = {"training.png", "weights.png", "raster.png", readout}
    if method == "discrete":
        names.add("membrane.png")
    assert {p.name for p in tmp_path.glob("*.png")} == names  # no decision map for images
    assert not (tmp_path / plot.MISSING_NOTE).exists()
    run = common.load_run(runs[method])
    assert run.model is not None and run.missing is None


@pytest.mark.slow
@pytest.mark.parametrize("entry", ["jaxsnn_eqx.event.tasks.digits_analytical",
                                   "jaxsnn_eqx.event.tasks.digits_event_prop",
                                   "jaxsnn_eqx.discrete.tasks.digits"])
def test_default_run_reaches_95_percent(tmp_path, entry):
    cmd = [sys.executable, "-m", entry, "--out", str(tmp_path), "--no-progress", "--no-plot"]
    subprocess.run(cmd, check=True)
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["test_accuracy"] >= 0.95
