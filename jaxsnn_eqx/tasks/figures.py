"""The figures of saved runs, drawn from their files, never by re-running training: the
training curves of one or several run folders (`training_figure`, `plot_training`) and every
figure of one run (`run_figures`, what ``jaxsnn-eqx plot RUN_DIR`` and the tasks at the end of
training call). The runs are read by `tasks.runs`; the figures are drawn by `jaxsnn_eqx.plot`.

A run folder is the ``--out`` folder of a training run: ``results.json`` (the run's ``config``,
per-epoch ``train_loss`` and ``val_accuracy``, ``test_accuracy``) next to ``model.eqx`` and
``opt_state.eqx``.

Runs trained with different losses (the Yin-Yang tasks use a cross entropy, or a squared error of
first-spike times; see `loss_kind`) get one loss panel per kind instead of one shared axis;
accuracies share one panel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import plot
from ..plot import (
    INSTALL_HINT,
    curves_figure,
    decision_map_figure,
    membrane_figure,
    raster_figure,
    readout_figure,
    weights_figure,
)
from . import registry
from .runs import RUN_FOLDER, load_run, read_runs

__all__ = ["plot_training", "training_figure", "loss_kind", "run_figures", "draw_figures",
           "MISSING_NOTE", "INSTALL_HINT", "RUN_FOLDER"]

MISSING_NOTE = "missing.txt"  # in the figure folder: the figures not drawn, and why

# loss names in configs -> loss kind (`plot.LOSS_LABELS`)
_LOSS_ALIASES = {
    "ce": "cross_entropy", "nll": "cross_entropy", "cross_entropy": "cross_entropy",
    "cross-entropy": "cross_entropy", "ttfs_cross_entropy": "cross_entropy",
    "mse": "time_mse", "mse_times": "time_mse", "time_mse": "time_mse",
}


def loss_kind(config: Mapping[str, Any]) -> str:
    """The kind of training loss a run used, from the ``config`` saved in its results.json.

    ``config["loss"]`` decides when present (``"mse"`` -> ``"time_mse"``, ``"ce"``/``"nll"`` ->
    ``"cross_entropy"``, any other name is its own kind); else the loss the task registry gives
    the task that wrote the config (`registry.default_loss`: by ``config["method"]``, else by a
    flag only that task has: ``backend`` or ``gradient`` -> ``"time_mse"``, ``dt`` ->
    ``"cross_entropy"``). Returns ``"unknown"`` when nothing tells.
    """
    loss = config.get("loss")
    if isinstance(loss, str) and loss:
        return _LOSS_ALIASES.get(loss.lower(), loss)
    return registry.default_loss(dict(config))


def _labels(runs) -> list[str]:
    names = [d.name or str(d) for d, _ in runs]
    if len(set(names)) < len(names):  # same folder names in different places: use the paths
        names = [str(d) for d, _ in runs]
    labels = []
    for name, (_, res) in zip(names, runs, strict=True):
        if isinstance(res.get("test_accuracy"), int | float):
            name += f" (test {100 * res['test_accuracy']:.1f}%)"
        labels.append(name)
    return labels


def _curve(res: dict, label: str) -> plot.TrainingCurve:
    """The training curve of one results.json."""
    epochs = [e for e in res.get("epochs", []) if isinstance(e, dict) and "epoch" in e]
    acc = None
    if any("val_accuracy" in e for e in epochs):
        acc = [e.get("val_accuracy", float("nan")) for e in epochs]
    config = res.get("config")
    return plot.TrainingCurve(
        label, loss_kind(config if isinstance(config, Mapping) else {}),
        [e["epoch"] for e in epochs], [e.get("train_loss", float("nan")) for e in epochs], acc)


def training_figure(run_dirs: str | Path | Sequence[str | Path]):
    """A matplotlib ``Figure`` of the training loss and validation accuracy per epoch of runs
    (`plot.curves_figure`).

    One loss panel per loss kind (`loss_kind` of each run's config; runs trained with different
    losses never share a loss axis), then one validation-accuracy panel (%) for all runs; each
    run has the same colour in every panel and epochs are integer ticks. Reads
    ``RUN_DIR/results.json`` only.

    Raises:
        FileNotFoundError: a folder or its results.json is missing.
        ModuleNotFoundError: matplotlib is not installed (``pip install "jaxsnn-eqx[plot]"``).
    """
    runs = read_runs(run_dirs)
    plot.require_matplotlib()
    return curves_figure([_curve(res, label)
                          for (_, res), label in zip(runs, _labels(runs), strict=True)])


def plot_training(
    run_dirs: str | Path | Sequence[str | Path], out: str | Path | None = None
) -> Path:
    """Draw `training_figure` of one or more run folders into a PNG; returns its path.

    ``out`` defaults to ``<first RUN_DIR>/training.png``; its folder is created if needed.

    Raises:
        FileNotFoundError: a run folder or its results.json is missing (the message names it).
        ModuleNotFoundError: matplotlib is not installed (``pip install "jaxsnn-eqx[plot]"``).
    """
    run_dirs = [run_dirs] if isinstance(run_dirs, str | Path) else list(run_dirs)
    fig = training_figure(run_dirs)
    out = Path(out) if out is not None else Path(run_dirs[0]) / "training.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    return out


def _title(run) -> str:
    method = run.config.get("method") or run.task.__name__.rsplit("_", 1)[-1]
    epoch = run.results.get("selected_epoch")
    state = ("unfinished run: the model saved so far" if not run.finished else
             f"model of epoch {epoch}" if epoch else "saved model")
    return f"{run.dir.name or run.dir} ({method}), {state}"


def _test_set(config: Mapping[str, Any]):
    """The run's test split: ``data.yinyang_splits(seed, ...)["test"]``, drawn alone (the
    splits come from independent keys)."""
    import jax

    from ..data import yinyang

    key = jax.random.split(jax.random.PRNGKey(int(config.get("seed", 0))), 3)[2]
    return yinyang(key, int(config.get("n_test", 1000)))


def _model_figures(run, hooks, grid: int, skipped: dict[str, str]):
    """``(file name, figure)`` of every figure drawn from the model (a generator: each figure is
    saved before the next is computed)."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    from ..train import named_keys

    title = _title(run)
    units = dict(unit=hooks.weight_unit) if hooks.weight_unit else {}
    yield "weights.png", weights_figure(hooks.weights(run.model), title,
                                        integer=hooks.weight_integer, **units)
    if hooks.no_forward is not None:
        for name in ("decision_map.png", "raster.png", "readout.png", "membrane.png")[
                not hooks.decision_map:]:
            skipped[name] = f"needs forward passes of the model: {hooks.no_forward}"
        return
    x, y = _test_set(run.config) if hooks.test_set is None else hooks.test_set()
    if hooks.decision_map:
        side = jnp.linspace(0.0, 1.0, grid)
        gx = jnp.stack(jnp.meshgrid(side, side, indexing="xy"), -1).reshape(-1, 2)
        x_in = hooks.encode(jnp.concatenate([x, gx.astype(x.dtype)]))
    else:  # inputs that are not points of the square: no decision map
        x_in = hooks.encode(x)
    one = jax.tree_util.tree_map(lambda a: a[0], x_in)

    @eqx.filter_jit
    def forward(model, x_in, one, key):  # one program: the batch and the first test sample
        keys = named_keys(key, ("batch", "sample"))
        k_all, k_one = keys["batch"], keys["sample"]
        return hooks.readout(model, x_in, k_all), hooks.record(model, one, k_one)

    values, rec = forward(run.model, x_in, one, jax.random.PRNGKey(0))
    pred = np.asarray(hooks.predict(values))
    r_test, pred, g_pred = values[: len(x)], pred[: len(x)], pred[len(x):]
    if hooks.decision_map:
        yield "decision_map.png", decision_map_figure(gx, g_pred, x, y, pred, title,
                                                      note=hooks.noise or "")
    act = hooks.activity(rec, one)
    names = plot.class_names_or_yinyang(hooks.class_names)
    where = (f" at ({float(x[0, 0]):.2f}, {float(x[0, 1]):.2f})" if hooks.decision_map else "")
    raster_title = (f"{title}\ntest sample 0{where}: class {names[int(y[0])]}, predicted "
                    f"{names[int(pred[0])]}" + (f"\n{hooks.noise}" if hooks.noise else ""))
    yield "raster.png", raster_figure(act, raster_title, hooks.class_names)
    name = "spike_times.png" if hooks.kind == "event" else "readout_max.png"
    yield name, readout_figure(r_test, y, hooks.readout_label, kind=hooks.kind,
                               t_max=act.t_max, title=title, class_names=hooks.class_names)
    if act.traces:
        yield "membrane.png", membrane_figure(act, title=title, class_names=hooks.class_names)


def run_figures(run_dir: str | Path, out_dir: str | Path | None = None, *, grid: int = 64,
                log: Callable[[str], Any] | None = print) -> list[Path]:
    """Draw every figure of one run from its saved files (no training) into ``out_dir``
    (default ``RUN_DIR/figures``); returns the paths written.

    ``training.png`` (loss and accuracy per epoch) always; from ``model.eqx`` in the model the
    task rebuilds from the saved config: ``weights.png`` (histogram per projection),
    ``decision_map.png`` (predicted class on a ``grid`` x ``grid`` grid of the input square,
    with the test points; only for inputs that are points of the square, not for digits),
    ``raster.png`` (spikes of the first test sample: inputs, hidden, outputs; a masked
    recurrent population split into its hidden and output neurons),
    ``spike_times.png`` (event runs: the output first-spike times per class of the test set) or
    ``readout_max.png`` (discrete runs: the readout's maximum membrane potential per class, what
    the class is read from), and for discrete runs ``membrane.png`` (membrane traces). The test
    set is regenerated from the saved seed and sizes; a noisy backend (the emulator) runs with a
    fixed key. Figures that cannot be drawn (no ``model.eqx`` yet, a config of no known task, a
    backend that is missing here) are listed with the reason in ``missing.txt`` in ``out_dir``
    and passed to ``log`` (one line each; ``None``: silent).

    Raises:
        FileNotFoundError: the run folder or its results.json is missing.
        ModuleNotFoundError: matplotlib is not installed (``pip install "jaxsnn-eqx[plot]"``).
    """
    read_runs([run_dir], "run_figures")
    plot.require_matplotlib()
    run = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else run.dir / "figures"
    out.mkdir(parents=True, exist_ok=True)
    written = [plot.save(training_figure(run.dir), out / "training.png")]
    skipped: dict[str, str] = {}
    if run.model is None:
        skipped["model-based figures"] = run.missing
    else:
        hooks = run.task.figure_hooks(run.config)
        for name, fig in _model_figures(run, hooks, grid, skipped):
            written.append(plot.save(fig, out / name))
    note = out / MISSING_NOTE
    if skipped:
        note.write_text("".join(f"{k}: not drawn, {v}\n" for k, v in skipped.items()))
        for k, v in skipped.items():
            if log is not None:
                log(f"{k}: not drawn, {v}")
    elif note.exists():
        note.unlink()
    return written


def draw_figures(run_dir: str | Path) -> list[Path]:
    """`run_figures` of a run that just finished, as the last step of a task: without
    matplotlib one line with the install hint; any other failure one line (the run is saved,
    ``jaxsnn-eqx plot RUN_DIR`` tries again). Returns the figures written."""
    try:
        paths = run_figures(run_dir)
    except ModuleNotFoundError as err:
        if err.name != "matplotlib":
            raise
        print(f"figures: not drawn, matplotlib is not installed ({plot.INSTALL_HINT})")
        return []
    except Exception as err:  # noqa: BLE001 - the trained run is saved; say why, go on
        from ..train import check_message

        text = check_message(err) or (str(err).splitlines() or [""])[0]
        print(f"figures: not drawn ({type(err).__name__}: {text}); the run is saved, try "
              f"'jaxsnn-eqx plot {run_dir}'")
        return []
    where = paths[0].parent if paths else Path(run_dir) / "figures"
    print(f"figures: {len(paths)} in {where}")
    return paths
