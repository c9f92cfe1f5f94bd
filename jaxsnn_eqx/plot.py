"""Plots drawn from saved results, never by re-running training (extra ``plot``: matplotlib).

``jaxsnn-eqx plot RUN_DIR [RUN_DIR ...]`` calls `plot_training`. A run folder is the ``--out``
folder of a training run: ``results.json`` (the run's ``config``, per-epoch ``train_loss`` and
``val_accuracy``, ``test_accuracy``) next to ``model.eqx`` and ``opt_state.eqx``.

Runs trained with different losses (the Yin-Yang tasks use a cross entropy, or a squared error of
first-spike times; see `loss_kind`) get one loss panel per kind instead of one shared axis;
accuracies share one panel.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["plot_training", "training_figure", "loss_kind"]

INSTALL_HINT = 'pip install "jaxsnn-eqx[plot]"'
RUN_FOLDER = (
    "a run folder is the --out folder of a training run and holds results.json (config and "
    "per-epoch metrics), model.eqx and opt_state.eqx"
)

# loss kind -> (panel title, y-axis label)
LOSS_LABELS = {
    "cross_entropy": ("cross entropy", "training loss: cross entropy (nats)"),
    "time_mse": ("time MSE", "training loss: first-spike time MSE (in tau_syn²)"),
    "unknown": ("unknown kind", "training loss"),
}
_LOSS_ALIASES = {
    "ce": "cross_entropy", "nll": "cross_entropy", "cross_entropy": "cross_entropy",
    "cross-entropy": "cross_entropy", "ttfs_cross_entropy": "cross_entropy",
    "mse": "time_mse", "mse_times": "time_mse", "time_mse": "time_mse",
}
# training method (``jaxsnn-eqx train --method``) -> loss kind when the config names no loss
_METHOD_LOSS = {"discrete": "cross_entropy", "hardware": "time_mse", "analytical": "time_mse",
                "eventprop": "time_mse", "eventprop-layered": "time_mse"}


def loss_kind(config: Mapping[str, Any]) -> str:
    """The kind of training loss a run used, from the ``config`` saved in its results.json.

    ``config["loss"]`` decides when present (``"mse"`` -> ``"time_mse"``, ``"ce"``/``"nll"`` ->
    ``"cross_entropy"``, any other name is its own kind); else ``config["method"]``; else the
    task's flags: ``backend`` (hardware task) or ``gradient`` (event task, whose default loss
    is ``mse``) mean ``"time_mse"``, ``dt`` (discrete task, NLL) means ``"cross_entropy"``.
    Returns ``"unknown"`` when nothing tells.
    """
    loss = config.get("loss")
    if isinstance(loss, str) and loss:
        return _LOSS_ALIASES.get(loss.lower(), loss)
    method = config.get("method")
    if isinstance(method, str) and method in _METHOD_LOSS:
        return _METHOD_LOSS[method]
    if "backend" in config or "gradient" in config:
        return "time_mse"
    if "dt" in config:
        return "cross_entropy"
    return "unknown"


def _matplotlib():
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as err:
        raise ModuleNotFoundError(
            f"plotting needs matplotlib, which is not installed: {INSTALL_HINT}",
            name="matplotlib",
        ) from err
    return Figure, MaxNLocator


def _read_runs(run_dirs) -> list[tuple[Path, dict]]:
    if isinstance(run_dirs, str | Path):
        run_dirs = [run_dirs]
    run_dirs = [Path(d) for d in run_dirs]
    if not run_dirs:
        raise ValueError("plot_training: run_dirs is empty; pass at least one run folder.")
    runs = []
    for d in run_dirs:
        path = d / "results.json"
        if not d.is_dir():
            raise FileNotFoundError(f"plot_training: run folder {str(d)!r} does not exist; "
                                    f"{RUN_FOLDER}.")
        if not path.is_file():
            raise FileNotFoundError(f"plot_training: no results.json in {str(d)!r}; "
                                    f"{RUN_FOLDER}.")
        try:
            res = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"plot_training: {str(path)!r} is not valid JSON ({err}).") from None
        if not isinstance(res, dict) or not isinstance(res.get("epochs", []), list):
            raise ValueError(f"plot_training: {str(path)!r} is not a results.json of a training "
                             f"run (expected an object with an 'epochs' list).")
        runs.append((d, res))
    return runs


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


def training_figure(run_dirs: str | Path | Sequence[str | Path]):
    """A matplotlib ``Figure`` of the training loss and validation accuracy per epoch of runs.

    One loss panel per loss kind (`loss_kind` of each run's config; runs trained with different
    losses never share a loss axis), then one validation-accuracy panel (%) for all runs; each
    run has the same colour in every panel and epochs are integer ticks. Reads
    ``RUN_DIR/results.json`` only.

    Raises:
        FileNotFoundError: a folder or its results.json is missing.
        ModuleNotFoundError: matplotlib is not installed (``pip install "jaxsnn-eqx[plot]"``).
    """
    runs = _read_runs(run_dirs)
    Figure, MaxNLocator = _matplotlib()
    kinds = [loss_kind(c if isinstance(c := res.get("config"), Mapping) else {})
             for _, res in runs]
    groups = list(dict.fromkeys(kinds))  # kinds in order of first appearance
    n = len(groups) + 1
    fig = Figure(figsize=(4.6 * n, 3.8), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    loss_axes = dict(zip(groups, axes[:-1], strict=True))
    ax_acc = axes[-1]
    colors = [f"C{i % 10}" for i in range(len(runs))]
    for (_, res), label, kind, color in zip(runs, _labels(runs), kinds, colors, strict=True):
        epochs = [e for e in res.get("epochs", []) if isinstance(e, dict) and "epoch" in e]
        x = [e["epoch"] for e in epochs]
        loss = [e.get("train_loss", float("nan")) for e in epochs]
        loss_axes[kind].plot(x, loss, marker="." if len(x) < 30 else None, color=color,
                             label=label)
        if any("val_accuracy" in e for e in epochs):
            acc = [100 * e["val_accuracy"] if "val_accuracy" in e else float("nan")
                   for e in epochs]
            ax_acc.plot(x, acc, marker="." if len(x) < 30 else None, color=color, label=label)
    for kind, ax in loss_axes.items():
        title, ylabel = LOSS_LABELS.get(kind, (kind, f"training loss: {kind}"))
        ax.set(xlabel="epoch", ylabel=ylabel,
               title="loss" if len(groups) == 1 else f"loss ({title})")
    ax_acc.set(xlabel="epoch", ylabel="validation accuracy (%)", title="accuracy")
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    return fig


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
