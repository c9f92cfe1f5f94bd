"""Plots drawn from saved results, never by re-running training (extra ``plot``: matplotlib).

``jaxsnn-eqx plot RUN_DIR`` calls `run_figures`: every figure of one run, from its
``results.json`` and ``model.eqx`` (the model is rebuilt from the saved config by the task that
trained it, see `tasks.common.load_run`); the tasks call it at the end of training too.
``jaxsnn-eqx plot RUN_DIR RUN_DIR ...`` calls `plot_training`: the training curves of several
runs in one figure. A run folder is the ``--out`` folder of a training run: ``results.json``
(the run's ``config``, per-epoch ``train_loss`` and ``val_accuracy``, ``test_accuracy``) next to
``model.eqx`` and ``opt_state.eqx``.

Figures are drawn on `matplotlib.figure.Figure` objects, never through ``pyplot``: nothing needs
a display (PNG files are rendered by the Agg canvas).

Runs trained with different losses (the Yin-Yang tasks use a cross entropy, or a squared error of
first-spike times; see `loss_kind`) get one loss panel per kind instead of one shared axis;
accuracies share one panel.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "plot_training", "training_figure", "loss_kind", "run_figures", "decision_map_figure",
    "raster_figure", "readout_figure", "weights_figure", "membrane_figure",
]

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


def _read_runs(run_dirs, who: str = "plot_training") -> list[tuple[Path, dict]]:
    if isinstance(run_dirs, str | Path):
        run_dirs = [run_dirs]
    run_dirs = [Path(d) for d in run_dirs]
    if not run_dirs:
        raise ValueError(f"{who}: run_dirs is empty; pass at least one run folder.")
    runs = []
    for d in run_dirs:
        path = d / "results.json"
        if not d.is_dir():
            raise FileNotFoundError(f"{who}: run folder {str(d)!r} does not exist; "
                                    f"{RUN_FOLDER}.")
        if not path.is_file():
            raise FileNotFoundError(f"{who}: no results.json in {str(d)!r}; "
                                    f"{RUN_FOLDER}.")
        try:
            res = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{who}: {str(path)!r} is not valid JSON ({err}).") from None
        if not isinstance(res, dict) or not isinstance(res.get("epochs", []), list):
            raise ValueError(f"{who}: {str(path)!r} is not a results.json of a training "
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


# ----------------------------------------------------------------------------- one run

CLASS_COLORS = ("#1f77b4", "#d62728", "#2ca02c")  # yang, yin, dot
MISSING_NOTE = "missing.txt"  # in the figure folder: the figures not drawn, and why


def _class_names(names: Sequence[str] | None = None) -> tuple[str, ...]:
    """``names``, or Yin-Yang's class names."""
    from .data.yinyang import CLASS_NAMES

    return CLASS_NAMES if names is None else tuple(names)


def _class_colors(n: int) -> tuple[str, ...]:
    """A colour per class: Yin-Yang's three, or matplotlib's cycle for more classes."""
    return CLASS_COLORS if n <= len(CLASS_COLORS) else tuple(f"C{i % 10}" for i in range(n))


def _time_unit(t_max: float) -> tuple[float, str]:
    """(factor, unit) to show times of a run simulated for ``t_max`` seconds."""
    return (1e6, "µs") if t_max < 1e-3 else (1e3, "ms")


def _figure(n_panels: int = 1, *, width: float = 4.2, height: float = 3.6, **kw):
    Figure, _ = _matplotlib()
    fig = Figure(figsize=(width * n_panels, height), layout="constrained")
    return fig, fig.subplots(1, n_panels, squeeze=False, **kw)[0]


def decision_map_figure(grid_x, grid_pred, test_x, test_y, test_pred, title: str = ""):
    """The predicted class over a grid of the input square (``grid_x: (g*g, 2)`` in row-major
    order, ``grid_pred: (g*g,)``), with the test points coloured by their label and the
    misclassified ones crossed."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Circle

    grid_x, grid_pred = np.asarray(grid_x), np.asarray(grid_pred)
    test_x, test_y, test_pred = map(np.asarray, (test_x, test_y, test_pred))
    g = int(round(np.sqrt(len(grid_x))))
    fig, (ax,) = _figure(width=5.2, height=4.8)
    ax.pcolormesh(grid_x[:, 0].reshape(g, g), grid_x[:, 1].reshape(g, g),
                  grid_pred.reshape(g, g), cmap=ListedColormap(CLASS_COLORS), vmin=-0.5,
                  vmax=2.5, alpha=0.3, shading="nearest")
    for c, name in enumerate(_class_names()):
        sel = test_y == c
        ax.scatter(test_x[sel, 0], test_x[sel, 1], s=7, color=CLASS_COLORS[c], label=name)
    wrong = test_pred != test_y
    ax.scatter(test_x[wrong, 0], test_x[wrong, 1], s=22, marker="x", color="k", linewidths=0.8,
               label=f"misclassified ({int(wrong.sum())})")
    ax.add_patch(Circle((0.5, 0.5), 0.5, fill=False, color="0.3", lw=0.8))
    acc = 100 * float(np.mean(~wrong))
    ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal", xlabel="x", ylabel="y",
           title=f"decision map, test points ({acc:.1f}% correct)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def raster_figure(activity, title: str = "", class_names: Sequence[str] | None = None):
    """Spike raster of one sample (`tasks.common.Activity`): one panel per population (inputs
    first); a time-discrete network's readout (no spikes) as membrane traces (labelled by
    ``class_names``, default Yin-Yang's)."""
    factor, unit = _time_unit(activity.t_max)
    pops = list(activity.spikes.items())
    readout = activity.traces.get("readout")
    n = len(pops) + (readout is not None)
    heights = [max(1.0, np.sqrt(size) / 2) for _, (_, _, size) in pops] + [2.0] * (readout
                                                                                  is not None)
    Figure, _ = _matplotlib()
    fig = Figure(figsize=(6.4, 1.2 + 0.9 * sum(heights)), layout="constrained")
    axes = fig.subplots(n, 1, sharex=True, squeeze=False, height_ratios=heights)[:, 0]
    for ax, (name, (t, i, size)) in zip(axes, pops, strict=False):
        ax.scatter(np.asarray(t) * factor, i, s=6 if size > 20 else 14, marker="|",
                   color="k", linewidths=1.0)
        ax.set(ylim=(-0.5, size - 0.5), ylabel=f"{name}\n({size})")
        ax.set_title(f"{name}: {len(t)} spikes", fontsize=8, loc="left")
    if readout is not None:
        ax = axes[-1]
        t = np.arange(len(readout)) * activity.dt * factor
        names = _class_names(class_names)
        for c, name in enumerate(names[: readout.shape[1]]):
            ax.plot(t, readout[:, c], color=_class_colors(len(names))[c], label=name)
        ax.set(ylabel="readout\nV (V)")
        ax.legend(fontsize=7, loc="upper left", ncols=1 + (len(names) > 5))
    axes[-1].set(xlabel=f"time ({unit})",
                 xlim=(-0.01 * activity.t_max * factor, activity.t_max * factor))
    fig.suptitle(title or "spike raster of one sample", fontsize=9)
    return fig


def readout_figure(values, labels, label: str, *, kind: str = "event", t_max: float | None = None,
                   title: str = "", class_names: Sequence[str] | None = None):
    """Per true class (one panel each), histograms of the class readout of the test samples:
    the output neurons' first-spike times (``kind="event"``; silent neurons counted in the
    legend) or the readout's maximum membrane potential (``kind="discrete"``). With more than
    three ``class_names`` (default: Yin-Yang's three) each panel shows the label's neuron
    against the other neurons pooled."""
    values, labels = np.asarray(values, float), np.asarray(labels)
    names = _class_names(class_names)
    factor, unit = _time_unit(t_max) if kind == "event" and t_max else (1.0, "")
    finite = values[np.isfinite(values)] * factor
    lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    pad = 0.05 * (hi - lo) if hi > lo else 0.5 * max(abs(lo), 1e-9)
    bins = np.linspace(lo - pad, hi + pad, 41)
    many = len(names) > len(CLASS_COLORS)
    if many:
        Figure, _ = _matplotlib()
        cols = int(np.ceil(len(names) / 2))
        fig = Figure(figsize=(2.6 * cols, 5.6), layout="constrained")
        axes = fig.subplots(2, cols, squeeze=False, sharey=True).ravel()[: len(names)]
    else:
        fig, axes = _figure(len(names), width=3.6, height=3.2, sharey=True)
    colors = _class_colors(len(names))
    for c, ax in enumerate(axes):
        rows = values[labels == c]
        # the other neurons pooled as a black outline (a filled grey could be a class colour)
        groups = ([(f"neuron {names[c]}", rows[:, c], colors[c], "stepfilled"),
                   ("the other neurons", np.delete(rows, c, axis=1).ravel(), "k", "step")]
                  if many else [(f"neuron {names[j]}", rows[:, j], colors[j], "stepfilled")
                                for j in range(values.shape[1])])
        for name, v, color, histtype in groups:
            silent = int(np.sum(~np.isfinite(v)))
            extra = f" ({silent} silent)" if kind == "event" and silent else ""
            shown = v[np.isfinite(v)] * factor
            if shown.size == 0:  # all silent: nothing to histogram (density would divide by 0)
                ax.plot([], [], color=color, label=f"{name}{extra}")
                continue
            ax.hist(shown, bins=bins, color=color, histtype=histtype,
                    alpha=0.55 if histtype == "stepfilled" else 0.8,
                    label=f"{name}{extra}", density=many)
        ax.set(title=f"samples of class {names[c]} ({len(rows)})")
        ax.legend(fontsize=7)
    xlabel = label.replace("(s)", f"({unit})") if unit else label
    if many:  # one axis label for the grid (per-panel labels would overlap)
        fig.supxlabel(xlabel, fontsize=9)
    else:
        for ax in axes:
            ax.set_xlabel(xlabel)
    axes[0].set_ylabel("test samples" if not many else "density")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def weights_figure(weights: Mapping[str, Any], title: str = ""):
    """Histogram of each projection's weights (one panel per projection)."""
    fig, axes = _figure(len(weights), width=3.6, height=3.2)
    for ax, (name, w) in zip(axes, weights.items(), strict=True):
        w = np.asarray(w, float)
        ax.hist(w.ravel(), bins=50, color="0.35")
        ax.axvline(0.0, color="k", lw=0.6)
        ax.set(title=f"{name} {w.shape[0]}x{w.shape[1]}", xlabel="weight (V s)",
               ylabel="synapses")
        ax.text(0.02, 0.97, f"mean {w.mean():.3g}\nstd {w.std():.3g}", transform=ax.transAxes,
                va="top", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def membrane_figure(activity, n_hidden: int = 5, title: str = "",
                    class_names: Sequence[str] | None = None):
    """Membrane traces of one sample of a time-discrete network: a few hidden neurons (those
    that spike first, then the rest) with the threshold, and the readout neurons (labelled by
    ``class_names``, default Yin-Yang's)."""
    v_h, v_o = np.asarray(activity.traces["hidden"]), np.asarray(activity.traces["readout"])
    factor, unit = _time_unit(activity.t_max)
    t = np.arange(len(v_h)) * activity.dt * factor
    times, idx, _ = activity.spikes["hidden"]
    first = list(dict.fromkeys(np.asarray(idx)[np.argsort(times, kind="stable")].tolist()))
    chosen = (first + [i for i in range(v_h.shape[1]) if i not in first])[:n_hidden]
    fig, (ax_h, ax_o) = _figure(2, width=4.4, height=3.4)
    for k, i in enumerate(chosen):
        ax_h.plot(t, v_h[:, i], color=f"C{k}", lw=1.0, label=f"hidden {i}")
    if activity.v_th is not None:
        ax_h.axhline(activity.v_th, color="k", ls="--", lw=0.7, label="threshold")
    ax_h.set(xlabel=f"time ({unit})", ylabel="membrane potential (V)", title="hidden LIF")
    ax_h.legend(fontsize=7)
    names = _class_names(class_names)
    for c, name in enumerate(names[: v_o.shape[1]]):
        ax_o.plot(t, v_o[:, c], color=_class_colors(len(names))[c], label=name)
    ax_o.set(xlabel=f"time ({unit})", ylabel="membrane potential (V)", title="LI readout")
    ax_o.legend(fontsize=7, ncols=1 + (len(names) > 5))
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


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

    from .data import yinyang

    key = jax.random.split(jax.random.PRNGKey(int(config.get("seed", 0))), 3)[2]
    return yinyang(key, int(config.get("n_test", 1000)))


def _model_figures(run, hooks, grid: int, skipped: dict[str, str]):
    """``(file name, figure)`` of every figure drawn from the model (a generator: each figure is
    saved before the next is computed)."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    title = _title(run)
    yield "weights.png", weights_figure(hooks.weights(run.model), title)
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
        k_all, k_one = jax.random.split(key)
        return hooks.readout(model, x_in, k_all), hooks.record(model, one, k_one)

    values, rec = forward(run.model, x_in, one, jax.random.PRNGKey(0))
    pred = np.asarray(hooks.predict(values))
    r_test, pred, g_pred = values[: len(x)], pred[: len(x)], pred[len(x):]
    if hooks.decision_map:
        yield "decision_map.png", decision_map_figure(gx, g_pred, x, y, pred, title)
    act = hooks.activity(rec, one)
    names = _class_names(hooks.class_names)
    where = (f" at ({float(x[0, 0]):.2f}, {float(x[0, 1]):.2f})" if hooks.decision_map else "")
    raster_title = (f"{title}\ntest sample 0{where}: class {names[int(y[0])]}, predicted "
                    f"{names[int(pred[0])]}")
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
    from .tasks.common import load_run

    _read_runs([run_dir], "run_figures")
    _matplotlib()
    run = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else run.dir / "figures"
    out.mkdir(parents=True, exist_ok=True)
    written = [_save(training_figure(run.dir), out / "training.png")]
    skipped: dict[str, str] = {}
    if run.model is None:
        skipped["model-based figures"] = run.missing
    else:
        hooks = run.task.figure_hooks(run.config)
        for name, fig in _model_figures(run, hooks, grid, skipped):
            written.append(_save(fig, out / name))
    note = out / MISSING_NOTE
    if skipped:
        note.write_text("".join(f"{k}: not drawn, {v}\n" for k, v in skipped.items()))
        for k, v in skipped.items():
            if log is not None:
                log(f"{k}: not drawn, {v}")
    elif note.exists():
        note.unlink()
    return written


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    return path
