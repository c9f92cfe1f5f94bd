"""The SHD task on a small file written here in the published layout: the loader (round trip,
gzip, pooling, binning, merging, padding report, dense variant), the missing-file message, both
methods end to end from the command line, and (slow) the figures of a saved run."""

import gzip
import json
import subprocess
import sys

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")  # part of the dev extra; skipped only where it is missing

from sweeps import slow_beyond  # noqa: E402

from jaxsnn_eqx import cli, data  # noqa: E402
from jaxsnn_eqx.data import shd  # noqa: E402
from jaxsnn_eqx.tasks import runs as common  # noqa: E402
from jaxsnn_eqx.tasks import shd as task  # noqa: E402

N_TRAIN_FILE, N_TEST_FILE = 40, 20
TINY = ["--n-train", "32", "--n-val", "8", "--n-test", "20", "--batch-size", "16",
        "--epochs", "1", "--hidden", "8", "--no-plot", "--no-progress"]


def _samples(n: int, seed: int):
    """A few dozen spikes per sample, unsorted within a sample (the loader sorts), channels
    depending on the class, labels cycling 0..19 (every class in both files)."""
    rng = np.random.default_rng(seed)
    times, units, labels = [], [], []
    for k in range(n):
        c = k % 20
        m = int(rng.integers(20, 60))
        times.append(rng.uniform(0.0, 1.2, m).astype(np.float32))  # some after t_max = 1 s
        units.append(np.clip(35 * c + rng.integers(0, 60, m), 0, 699).astype(np.uint16))
        labels.append(c)
    return times, units, np.array(labels, np.uint8)


def _write(path, times, units, labels):
    """The published layout, written with h5py directly (not with the library's writer)."""
    with h5py.File(path, "w") as f:
        t = f.create_dataset("spikes/times", (len(times),), dtype=h5py.vlen_dtype(np.float32))
        u = f.create_dataset("spikes/units", (len(units),), dtype=h5py.vlen_dtype(np.uint16))
        for k in range(len(times)):
            t[k], u[k] = times[k], units[k]
        f.create_dataset("labels", data=labels)


@pytest.fixture(scope="module")
def shd_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shd")
    raw = {"train": _samples(N_TRAIN_FILE, 0), "test": _samples(N_TEST_FILE, 1)}
    for split, (times, units, labels) in raw.items():
        _write(folder / f"shd_{split}.h5", times, units, labels)
    return folder, raw


def test_loader_round_trips_the_spikes(shd_dir):
    folder, raw = shd_dir
    s = data.shd_splits(folder, n_val=8, split_seed=3)
    rows = shd.split_rows(N_TRAIN_FILE, N_TEST_FILE, n_val=8, split_seed=3)
    assert len(rows["train"]) == 32 and len(np.intersect1d(rows["train"], rows["val"])) == 0
    counts = []
    for split, file in (("train", "train"), ("val", "train"), ("test", "test")):
        spikes, labels = s.splits[split]
        times, units, file_labels = raw[file]
        assert spikes.time.shape == (len(rows[split]), s.pad)
        np.testing.assert_array_equal(np.asarray(labels), file_labels[rows[split]])
        for k, r in enumerate(rows[split]):
            t, i = np.asarray(spikes.time[k]), np.asarray(spikes.idx[k])
            order = np.lexsort((units[r], times[r]))
            n = len(order)
            counts.append(n)
            np.testing.assert_array_equal(t[:n].astype(np.float32), times[r][order])
            np.testing.assert_array_equal(i[:n], units[r][order])
            assert np.all(np.diff(t[:n]) >= 0)
            assert np.all(np.isinf(t[n:])) and np.all(i[n:] == -1)
    rep = s.report
    assert s.pad == rep["pad"] == max(counts) and s.n_in == rep["n_in"] == 700
    assert rep["splits"]["train"]["max_events"] <= s.pad
    assert all(v["truncated_samples"] == 0 and v["dropped_events"] == 0
               for v in rep["splits"].values())
    json.dumps(rep)  # stored in results.json


def test_the_gzipped_originals_load_the_same(shd_dir, tmp_path):
    folder, _ = shd_dir
    for split in ("train", "test"):
        name = f"shd_{split}.h5"
        (tmp_path / f"{name}.gz").write_bytes(gzip.compress((folder / name).read_bytes()))
    assert shd.shd_file(tmp_path, "test").name == "shd_test.h5.gz"
    a, b = data.shd_splits(folder, n_val=8), data.shd_splits(tmp_path, n_val=8)
    assert a.pad == b.pad and b.report["files"] == ["shd_train.h5.gz", "shd_test.h5.gz"]
    for name in a.splits:
        np.testing.assert_array_equal(np.asarray(a.splits[name][0].idx),
                                      np.asarray(b.splits[name][0].idx))


def test_pooling_binning_cut_and_merging_on_a_hand_made_sample():
    times = np.array([0.0104, 0.0101, 0.0305, 0.5, 1.2, 0.0107])
    units = np.array([3, 4, 7, 699, 5, 2])
    t, u = shd.preprocess(times, units)  # sorted by time only
    np.testing.assert_array_equal(u, [4, 3, 2, 7, 699, 5])
    t, u = shd.preprocess(times, units, t_max=1.0, pool=2, time_step=0.01)
    # to the bin centres (floor(t / dt) + 1/2) dt; (0.015, input 1) came from channels 3 and 2:
    # merged
    np.testing.assert_allclose(t, [0.015, 0.015, 0.035, 0.505])
    np.testing.assert_array_equal(u, [1, 2, 3, 349])
    t, u = shd.preprocess(times, units, t_max=1.0, pool=2, time_step=0.01, keep_duplicates=True)
    np.testing.assert_allclose(t, [0.015, 0.015, 0.015, 0.035, 0.505])
    # a bin centre at or after t_max is dropped (t_max not a multiple of the step)
    assert shd.preprocess(np.array([0.95]), np.array([0]), t_max=1.0, time_step=0.3)[0].size == 0
    np.testing.assert_array_equal(u, [1, 1, 2, 3, 349])
    assert shd.n_inputs(2) == 350 and shd.n_inputs(3) == 234 and shd.n_inputs() == 700
    x, stats = shd.pad_spikes([(t, u), (t[:2], u[:2])], 4)  # the first keeps its earliest 4
    np.testing.assert_array_equal(np.asarray(x.idx), [[1, 1, 2, 3], [1, 1, -1, -1]])
    assert stats["truncated_samples"] == 1 and stats["dropped_events"] == 1
    assert stats["max_events"] == 5


def test_padding_quantile_truncates_late_events_and_reports_them(shd_dir):
    folder, _ = shd_dir
    full = data.shd_splits(folder, n_val=8, t_max=1.0, pool=4, time_step=0.05)
    cut = data.shd_splits(folder, n_val=8, t_max=1.0, pool=4, time_step=0.05, pad_quantile=0.5)
    counts = np.asarray(full.splits["train"][0].count)
    assert cut.pad == int(np.quantile(counts, 0.5, method="higher")) < full.pad
    assert cut.n_in == 175
    for name, (spikes, _) in cut.splits.items():
        n_full = np.asarray(full.splits[name][0].count)
        stats = cut.report["splits"][name]
        assert stats["truncated_samples"] == int(np.sum(n_full > cut.pad))
        assert stats["dropped_events"] == int(np.sum(np.maximum(n_full - cut.pad, 0)))
        kept = np.asarray(full.splits[name][0].time)[:, : cut.pad]  # the earliest events
        np.testing.assert_array_equal(np.asarray(spikes.time), kept)
    assert "quantile" in cut.report["rule"] and np.all(counts <= full.pad)


def test_dense_variant_counts_every_spike_in_its_bin(shd_dir):
    folder, raw = shd_dir
    x, y = data.shd_dense(folder, "test", dt=0.01, t_max=1.0, pool=10, n=6)
    assert x.shape == (6, 100, 70) and x.dtype == np.float32
    times, units, labels = raw["test"]
    np.testing.assert_array_equal(y, labels[:6])
    for k in range(6):
        keep = times[k] < 1.0
        assert x[k].sum() == keep.sum()
        b, c = np.floor(times[k][keep] / 0.01).astype(int)[0], units[k][keep][0] // 10
        assert x[k, b, c] >= 1
    # the same as binning the padded spikes (duplicates kept), also when their times were
    # moved to the centres of the same bins
    s = data.shd_splits(folder, n_val=8, t_max=1.0, pool=10, time_step=0.01,
                        keep_duplicates=True)  # the test file in order
    dense = np.asarray(s.splits["test"][0].to_dense(70, 1.0, 0.01))
    np.testing.assert_array_equal(dense[:6], x)


@pytest.mark.slow  # a subprocess run (CI runs -m slow)
def test_missing_files_are_one_line_naming_them(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["train", "shd", "--method", "eventprop", "--data-dir", str(empty),
                     *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("jaxsnn-eqx: error:")
    for text in ("shd_train.h5", "shd_test.h5", "shd_train.h5.gz", str(empty), "zenkelab.org"):
        assert text in err
    with pytest.raises(FileNotFoundError, match="does not exist"):
        shd.shd_file(tmp_path / "nowhere", "test")
    # python -m of the task module: the same one line, exit status 2
    proc = subprocess.run([sys.executable, "-m", "jaxsnn_eqx.tasks.shd", "--method", "discrete",
                           "--data-dir", str(tmp_path / "nowhere"), *TINY],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "shd_test.h5" in proc.stderr


def test_cli_lists_the_shd_methods(capsys):
    assert cli.main(["methods"]) == 0
    out = capsys.readouterr().out
    assert "shd (jaxsnn-eqx train shd" in out and "jaxsnn_eqx.tasks.shd --method discrete" in out
    assert task.parse(["--method", "discrete"]).method == "discrete"
    with pytest.raises(SystemExit):
        task.parse(["--method", "discrete"], method="eventprop")  # contradicts the CLI's


def _train(method, folder, out, capsys, *flags) -> dict:
    extra = (["--t-max", "0.5", "--dt", "4e-3", "--time-step", "4e-3"] if method == "discrete"
             else ["--t-max", "1.0"])
    assert cli.main(["train", "shd", "--method", method, "--data-dir", str(folder), *TINY,
                     "--out", str(out), *extra, *flags]) == 0
    text = capsys.readouterr().out
    assert "padded to" in text and "test accuracy" in text
    res = json.loads((out / "results.json").read_text())
    if method == "eventprop" and "--no-probe" not in flags:  # the default: probed first
        assert "hidden activity before training" in text
        assert res["probe"]["budget"] == res["config"]["max_spikes"] == int(40 * 8 * 1.0)
        assert 0 < res["probe"]["max_spikes_per_sample"] <= res["probe"]["budget"]
    return res


def _figures(out, monkeypatch) -> set[str]:
    """The figures of a saved run, with SHD runs routed to this task (tasks.runs.task_of)."""
    pytest.importorskip("matplotlib")
    real = common.task_of
    monkeypatch.setattr(common, "task_of",
                        lambda c: task if c.get("dataset") == "shd" else real(c))
    from jaxsnn_eqx.tasks import figures as plot

    names = {p.name for p in plot.run_figures(out, log=None)}
    assert not (out / "figures" / "missing.txt").exists()
    return names


# training runs: the default run keeps the discrete one
@pytest.mark.parametrize("method", slow_beyond(["eventprop", "discrete"], keep={"discrete"}))
def test_each_method_trains_end_to_end(method, shd_dir, tmp_path, capsys):
    folder, _ = shd_dir
    out = tmp_path / method
    # the probe (one more compilation) runs in the slow test below
    res = _train(method, folder, out, capsys, *(["--no-probe"] if method == "eventprop" else []))
    assert 0.0 <= res["test_accuracy"] <= 1.0 and len(res["epochs"]) == 1
    assert res["data"]["pad"] == res["config"]["pad"] >= res["data"]["splits"]["train"][
        "max_events"]
    assert res["config"]["dataset"] == "shd" and res["config"]["method"] == method
    if method == "eventprop":
        assert res["config"]["max_spikes"] == int(40 * 8 * 1.0) and "probe" not in res


@pytest.mark.slow
@pytest.mark.parametrize("method", ["eventprop", "discrete"])
def test_figures_of_a_saved_run(method, shd_dir, tmp_path, capsys, monkeypatch):
    folder, _ = shd_dir
    _train(method, folder, tmp_path, capsys)  # eventprop: with the probe
    names = _figures(tmp_path, monkeypatch)
    assert {"training.png", "weights.png", "raster.png"} <= names
    assert ("spike_times.png" if method == "eventprop" else "membrane.png") in names


def _budget_flags(folder, out):
    # max_spikes = ceil(0.5 Hz x 8 hidden x 1 s) = 4 per sample: strong inputs overflow it
    return ["--method", "eventprop", "--data-dir", str(folder), *TINY, "--out", str(out),
            "--max-rate", "0.5", "--init-hidden", "3", "1"]


@pytest.mark.slow  # a subprocess run (CI runs -m slow)
def test_spike_budget_overflow_in_training_is_one_line(shd_dir, tmp_path):
    """A task run with a tiny spike budget: one line on stderr (not JAX's callback traceback
    and Equinox's boilerplate, nor the failure raised again at exit), exit status 2."""
    folder, _ = shd_dir
    proc = subprocess.run([sys.executable, "-m", "jaxsnn_eqx.tasks.shd", "--no-probe",
                           *_budget_flags(folder, tmp_path / "run")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "max_spikes=4" in proc.stderr and "--max-rate" in proc.stderr


def test_spike_budget_overflow_in_the_probe_is_one_line(shd_dir, tmp_path, capfd):
    folder, _ = shd_dir
    assert cli.main(["train", "shd", *_budget_flags(folder, tmp_path / "run")]) == 2
    err = capfd.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("jaxsnn-eqx: error: before training") and "max_spikes=4" in err


def test_default_batch_larger_than_the_training_split_is_clamped(tmp_path, capsys):
    """64 training samples, 16 held out: the discrete default batch (64) is more than the 48
    left; the run trains with batches of 48 and says so (it ended in a traceback)."""
    folder = tmp_path / "data"
    folder.mkdir()
    _write(folder / "shd_train.h5", *_samples(64, 0))
    _write(folder / "shd_test.h5", *_samples(20, 1))
    out = tmp_path / "run"
    assert cli.main(["train", "shd", "--method", "discrete", "--data-dir", str(folder),
                     "--n-val", "16", "--epochs", "1", "--hidden", "8", "--t-max", "0.5",
                     "--dt", "4e-3", "--no-plot", "--no-progress", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "--batch-size 64 is more than the 48 training samples" in text
    res = json.loads((out / "results.json").read_text())
    assert res["config"]["batch_size"] == 48 and len(res["epochs"]) == 1


@pytest.mark.parametrize("flags, text", [
    ([], "--n-val 800"),                    # the default hold-out, more than a small folder has
    (["--n-val", "40"], "--n-val 40"),
])
def test_split_sizes_the_files_cannot_give_are_one_line(flags, text, shd_dir, tmp_path, capsys):
    folder, _ = shd_dir
    assert cli.main(["train", "shd", "--method", "discrete", "--data-dir", str(folder),
                     "--no-plot", "--out", str(tmp_path / "run"), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("jaxsnn-eqx: error:") and text in err
