"""Training plots from saved results.json files (no training is re-run)."""

import json
import sys

import numpy as np
import pytest

from jaxsnn_eqx import cli
from jaxsnn_eqx.tasks import figures as plot


@pytest.fixture
def mpl():
    return pytest.importorskip("matplotlib")


def _fake_run(tmp_path, name, acc, config=None, n_epochs=4, loss0=1.0):
    d = tmp_path / name
    d.mkdir(parents=True)
    res = {"config": config or {}, "test_accuracy": acc,
           "epochs": [{"epoch": i + 1, "train_loss": loss0 / (i + 1), "val_accuracy": 0.5 + 0.1 * i,
                       "seconds": 0.1} for i in range(n_epochs)]}
    (d / "results.json").write_text(json.dumps(res))
    return d


def test_plot_reads_saved_results(tmp_path, mpl):
    a, b = _fake_run(tmp_path, "a", 0.9), _fake_run(tmp_path, "b", 0.8)
    out = plot.plot_training([a, b], out=tmp_path / "curves.png")
    assert out.exists() and out.stat().st_size > 1000
    # one folder: its figure set (a run without a known task's config: the curves only)
    assert cli.main(["plot", str(a)]) == 0
    assert (a / "figures" / "training.png").exists()
    assert "no known task" in (a / "figures" / "missing.txt").read_text()
    # several folders: their curves in one figure, as before
    assert cli.main(["plot", str(a), str(b)]) == 0
    assert (a / "training.png").exists()
    assert cli.main(["plot", str(a), str(b), "--out", str(tmp_path / "cmp")]) == 0
    assert (tmp_path / "cmp" / "training.png").exists()
    assert cli.main(["plot", str(a), str(b), "--out", str(tmp_path / "c.png")]) == 0
    assert (tmp_path / "c.png").exists()
    with pytest.raises(FileNotFoundError, match="results.json"):
        plot.plot_training(tmp_path / "missing")


@pytest.mark.parametrize("config, kind", [
    ({"loss": "mse", "gradient": "eventprop"}, "time_mse"),
    ({"loss": "ce", "gradient": "analytical"}, "cross_entropy"),
    ({"gradient": "eventprop"}, "time_mse"),                 # event task, default loss mse
    ({"backend": "emulator", "tau_syn": 6e-6}, "time_mse"),  # hardware task
    ({"dt": 5e-4, "rec_scale": 0.1}, "cross_entropy"),       # discrete task (NLL)
    ({"method": "discrete"}, "cross_entropy"),
    ({"loss": "hinge"}, "hinge"),
    ({}, "unknown"),
])
def test_loss_kind_from_config(config, kind):
    assert plot.loss_kind(config) == kind


def test_runs_with_different_losses_get_their_own_axes_and_integer_epochs(tmp_path, mpl):
    nll = _fake_run(tmp_path, "discrete", 0.95, {"dt": 5e-4}, n_epochs=3)
    mse = _fake_run(tmp_path, "eventprop", 0.9, {"loss": "mse", "gradient": "eventprop"},
                    n_epochs=3, loss0=40.0)
    mse2 = _fake_run(tmp_path, "hw", 0.8, {"backend": "emulator"}, n_epochs=3, loss0=30.0)
    fig = plot.training_figure([nll, mse, mse2])
    ax_nll, ax_mse, ax_acc = fig.axes
    assert "cross entropy" in ax_nll.get_ylabel() and "MSE" in ax_mse.get_ylabel()
    assert [len(ax.lines) for ax in fig.axes] == [1, 2, 3]
    # a run keeps its colour across panels
    assert ax_nll.lines[0].get_color() == ax_acc.lines[0].get_color()
    assert ax_mse.lines[1].get_color() == ax_acc.lines[2].get_color()
    fig.canvas.draw()
    for ax in fig.axes:  # 3 epochs: only whole-number ticks
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks)
    # one kind only: the classic two panels
    assert len(plot.training_figure(mse).axes) == 2


def test_missing_run_folder_is_one_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"'.*nope'.*does not exist.*results\.json"):
        plot.plot_training(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError) as err:
        plot.plot_training(tmp_path / "empty")
    msg = str(err.value)
    assert "empty" in msg and "results.json" in msg and "model.eqx" in msg and "\n" not in msg
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "results.json").write_text("{not json")
    with pytest.raises(ValueError, match="results.json.*not valid JSON"):
        plot.plot_training(tmp_path / "bad")


def test_missing_matplotlib_names_the_extra(tmp_path, monkeypatch):
    run = _fake_run(tmp_path, "a", 0.9)
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ModuleNotFoundError, match=r'pip install "jaxsnn-eqx\[plot\]"'):
        plot.plot_training(run)
    assert not (run / "training.png").exists()


def test_curves_figure_draws_arrays_without_a_run_folder(mpl):
    from jaxsnn_eqx import plot as figures_from_arrays

    curves = [figures_from_arrays.TrainingCurve("a", "time_mse", [1, 2, 3], [3.0, 2.0, 1.0],
                                                [0.5, 0.6, 0.7]),
              figures_from_arrays.TrainingCurve("b", "cross_entropy", [1, 2], [1.0, 0.5])]
    fig = figures_from_arrays.curves_figure(curves)
    ax_mse, ax_ce, ax_acc = fig.axes
    assert "MSE" in ax_mse.get_ylabel() and "cross entropy" in ax_ce.get_ylabel()
    assert [len(ax.lines) for ax in fig.axes] == [1, 1, 1]
    assert list(ax_acc.lines[0].get_ydata()) == pytest.approx([50.0, 60.0, 70.0])


def test_loss_on_a_log_axis_and_two_runs_told_apart(mpl):
    """Epoch 1's loss flattened the rest on a linear axis; two runs of one loss kind shared
    colour-only lines: now a log axis for positive losses, a line style per run and a legend
    naming both."""
    from jaxsnn_eqx import plot as P

    curves = [P.TrainingCurve("seed 0", "time_mse", [1, 2, 3], [100.0, 1.0, 0.5], [0.5, 0.6, 0.7]),
              P.TrainingCurve("seed 1", "time_mse", [1, 2, 3], [100.0, 1.0, 0.5], [0.5, 0.6, 0.7])]
    fig = P.curves_figure(curves)
    ax_loss, ax_acc = fig.axes
    assert ax_loss.get_yscale() == "log" and "log" in ax_loss.get_ylabel()
    for ax in (ax_loss, ax_acc):
        assert len({line.get_linestyle() for line in ax.lines}) == 2
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["seed 0", "seed 1"]
    # a loss that goes negative (e.g. with a regulariser) stays on a linear axis
    neg = P.curves_figure([P.TrainingCurve("a", "time_mse", [1, 2], [1.0, -0.5])])
    assert neg.axes[0].get_yscale() == "linear"


def test_raster_time_axis_is_fitted_to_the_activity(mpl):
    from jaxsnn_eqx import plot as P
    from jaxsnn_eqx.tasks.runs import Activity

    t_max = 4e-2
    act = Activity({"input": (np.array([0.0, 2e-3]), np.array([0, 1]), 2),
                    "output": (np.array([6e-3]), np.array([0]), 3)}, t_max)
    ax = P.raster_figure(act).axes[-1]
    assert 6.0 < ax.get_xlim()[1] <= 10.0  # ms: past the last spike, well before t_max
    assert "of 40 ms simulated" in ax.get_xlabel()
    silent = Activity({"input": (np.array([]), np.array([], int), 2)}, t_max)
    assert P.raster_figure(silent).axes[-1].get_xlim()[1] == pytest.approx(40.0)


def test_weights_in_given_units_and_decision_map_note(mpl):
    from jaxsnn_eqx import plot as P

    w = np.array([[-3, 0, 5], [63, -63, 1]])
    fig = P.weights_figure({"in -> out": w}, unit="chip synapse weight", integer=True)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "chip synapse weight"
    assert len(ax.patches) == 63 + 63 + 1  # one bin per integer from -63 to 63
    g = np.stack(np.meshgrid(np.linspace(0, 1, 4), np.linspace(0, 1, 4)), -1).reshape(-1, 2)
    fig = P.decision_map_figure(g, np.zeros(16, int), g[:3], np.zeros(3, int),
                                np.zeros(3, int), note="emulator: one noise draw (key 0)")
    assert "one noise draw (key 0)" in fig.axes[0].get_title()


def test_hardware_figures_show_chip_weights_and_the_noise_draw():
    import jax

    from jaxsnn_eqx.tasks import yinyang_hardware as hw
    from jaxsnn_eqx.tasks.args import config_of

    args = hw.parser_for().parse_args(["--hidden", "6"])
    hooks = hw.figure_hooks(config_of(args))
    model = hw.build_model(jax.random.PRNGKey(0), hw._resolve(args))
    for w in hooks.weights(model).values():
        w = np.asarray(w)
        assert np.issubdtype(w.dtype, np.integer) and np.abs(w).max() <= 63
    assert hooks.weight_integer and "chip synapse weight" in hooks.weight_unit
    assert "noise" in hooks.noise and "emulator" in hooks.noise
