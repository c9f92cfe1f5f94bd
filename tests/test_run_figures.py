"""Every figure of a run from its saved files (`jaxsnn-eqx plot RUN_DIR`), never by training."""

import json
import sys

import jax.numpy as jnp
import numpy as np
import pytest

from jaxsnn_eqx import cli, data, train
from jaxsnn_eqx.spikes import Spikes
from jaxsnn_eqx.tasks import common, recipe
from jaxsnn_eqx.tasks import figures as plot

pytest.importorskip("matplotlib")

SMALL = ["--n-train", "128", "--n-val", "64", "--n-test", "96", "--batch-size", "32",
         "--epochs", "1", "--hidden", "12", "--no-progress"]
EVENT = ["training.png", "weights.png", "decision_map.png", "raster.png", "spike_times.png"]
DISCRETE = ["training.png", "weights.png", "decision_map.png", "raster.png", "readout_max.png",
            "membrane.png"]


def _train(tmp_path, method, *flags):
    out = tmp_path / method
    assert cli.main(["train", "yinyang", "--method", method, *SMALL, "--out", str(out),
                     *flags]) == 0
    return out


def _refuse_training(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("plotting a saved run must not train")

    monkeypatch.setattr(train, "fit", refuse)
    monkeypatch.setattr(recipe, "fit", refuse)


def _check_figures(folder, names):
    from matplotlib.image import imread

    assert sorted(p.name for p in folder.glob("*.png")) == sorted(names)
    for name in names:
        path = folder / name
        assert path.stat().st_size > 8000, name
        assert float(np.std(imread(path)[..., :3])) > 0.05, f"{name} is blank"
    assert not (folder / plot.MISSING_NOTE).exists()


def _plot_again(run, out, monkeypatch, names):
    """`jaxsnn-eqx plot RUN --out OUT` with training refused; the run's files stay."""
    saved = {n: (run / n).stat().st_mtime_ns for n in ("model.eqx", "results.json")}
    _refuse_training(monkeypatch)
    assert cli.main(["plot", str(run), "--out", str(out)]) == 0
    _check_figures(out, names)
    assert {n: (run / n).stat().st_mtime_ns for n in saved} == saved


def test_discrete_run_draws_its_figures_at_the_end_and_again_from_its_files(
        tmp_path, monkeypatch, capsys):
    run = _train(tmp_path, "discrete", "--no-plot")
    assert not (run / "figures").exists()
    # --plot is no setting of the run: resuming the finished run with it is not refused; it
    # trains nothing and draws the figures at the end
    assert cli.main(["train", "yinyang", "--method", "discrete", *SMALL, "--out", str(run),
                     "--resume"]) == 0
    assert f"figures: 6 in {run / 'figures'}" in capsys.readouterr().out
    _check_figures(run / "figures", DISCRETE)
    _plot_again(run, tmp_path / "again", monkeypatch, DISCRETE)


@pytest.mark.slow  # trains first (22 s); the discrete run above keeps this check in the default run
def test_recurrent_eventprop_run_figures_from_saved_files(tmp_path, monkeypatch):
    run = _train(tmp_path, "eventprop", "--no-plot")
    assert not (run / "figures").exists()
    _plot_again(run, run / "figures", monkeypatch, EVENT)


@pytest.mark.slow
@pytest.mark.parametrize("method, flags", [
    ("analytical", []),
    ("eventprop-layered", []),
    ("hardware", ["--backend", "emulator", "--repeat", "2", "--jitter", "5e-8"]),
])
def test_layered_and_emulated_hardware_run_figures(tmp_path, monkeypatch, method, flags):
    run = _train(tmp_path, method, "--no-plot", *flags)
    _plot_again(run, run / "figures", monkeypatch, EVENT)


def test_the_masked_population_is_split_into_hidden_and_output():
    config = {"method": "eventprop", "gradient": "eventprop", "layered": False, "hidden": 4,
              "tau_syn": 5e-3, "ratio": 2.0, "v_th": 1.0, "t_late": None, "bias_time": None,
              "t_max": None, "tau_loss": None, "t_correct": None, "t_wrong": None}
    hooks = common.task_of(config).figure_hooks(config)
    pop = Spikes(jnp.array([1e-3, 2e-3, 3e-3, jnp.inf]), jnp.array([0, 4, 6, -1]))
    x = Spikes(jnp.array([0.0, 1e-3]), jnp.array([4, 0]))
    act = hooks.activity((pop, pop), x)
    assert list(act.spikes) == ["input", "hidden", "output"]
    (_, i_h, n_h), (t_o, i_o, n_o) = act.spikes["hidden"], act.spikes["output"]
    assert (n_h, n_o) == (4, 3) and i_h.tolist() == [0] and i_o.tolist() == [0, 2]
    assert t_o.tolist() == [2e-3, 3e-3] and act.traces == {}


def _fake_run(folder, config, finished=False):
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps({"config": config, "epochs": [
        {"epoch": 1, "train_loss": 1.0, "val_accuracy": 0.5},
        {"epoch": 2, "train_loss": 0.8, "val_accuracy": 0.6}]}))
    (folder / "manifest.json").write_text(json.dumps({"finished": finished}))
    return folder


def test_a_run_without_model_gets_its_curves_and_says_what_is_missing(tmp_path, capsys):
    run = _fake_run(tmp_path / "early", {"dt": 5e-4, "recurrent": True, "hidden": 8})
    assert cli.main(["plot", str(run)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {run / 'figures' / 'training.png'}" in out and "model.eqx" in out
    note = (run / "figures" / plot.MISSING_NOTE).read_text()
    assert "model-based figures: not drawn" in note and "model.eqx" in note
    assert [p.name for p in (run / "figures").glob("*.png")] == ["training.png"]
    loaded = common.load_run(run)
    assert loaded.model is None and not loaded.finished and "model.eqx" in loaded.missing
    other = _fake_run(tmp_path / "other", {"lr": 1e-3})
    assert "no known task" in common.load_run(other).missing


def test_end_of_training_without_matplotlib_prints_the_hint(tmp_path, monkeypatch, capsys):
    run = _fake_run(tmp_path / "run", {"dt": 5e-4, "recurrent": True})
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    for name in [m for m in sys.modules if m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    assert common.draw_figures(run) == []
    out = capsys.readouterr().out.strip()
    assert out == f"figures: not drawn, matplotlib is not installed ({plot.INSTALL_HINT})"
    assert not (run / "figures").exists()


def test_plot_flag_is_listed_and_ignored_on_resume():
    from jaxsnn_eqx.tasks import yinyang_discrete

    assert "plot" in train.IGNORED_ON_RESUME
    text = " ".join(yinyang_discrete.add_arguments(
        common.base_parser("t")).format_help().split())
    assert "--plot, --no-plot" in text and "OUT/figures" in text
    assert not common.base_parser("t").parse_args(["--no-plot"]).plot


def test_the_figures_use_the_runs_test_split():
    x, y = plot._test_set({"seed": 3, "n_train": 40, "n_val": 20, "n_test": 30})
    x_ref, y_ref = data.yinyang_splits(3, n_train=40, n_val=20, n_test=30)["test"]
    assert np.array_equal(np.asarray(x), np.asarray(x_ref))
    assert np.array_equal(np.asarray(y), np.asarray(y_ref))


def test_a_chip_run_without_the_chip_stack_gets_the_figures_that_need_no_chip(tmp_path):
    import equinox as eqx
    import jax

    from jaxsnn_eqx.hardware import executor
    from jaxsnn_eqx.tasks import yinyang_hardware as task

    if not executor.missing_stack():
        pytest.skip("the BSS-2 stack is installed here")
    args = task._resolve(task.parser_for().parse_args(
        ["--backend", "bss2", "--hidden", "6", "--repeat", "1"]))
    config = json.loads(json.dumps(common.config_of(args)))
    run = _fake_run(tmp_path / "chip", config, finished=True)
    eqx.tree_serialise_leaves(run / "model.eqx", task.build_model(jax.random.PRNGKey(0), args))
    logged = []
    paths = plot.run_figures(run, log=logged.append)
    assert [p.name for p in paths] == ["training.png", "weights.png"]
    note = (run / "figures" / plot.MISSING_NOTE).read_text()
    assert note.count("not drawn") == 4 and "BrainScaleS-2" in note and len(logged) == 4
