"""Figures from arrays (extra ``plot``: matplotlib): training curves, decision maps, spike
rasters, output spike times or readouts, weight histograms and membrane traces.

Every function takes arrays (or small named tuples of arrays) and returns a
`matplotlib.figure.Figure`; this module knows no task and no run folder. The figure set of a saved
run (``jaxsnn-eqx plot RUN_DIR``) is drawn by `jaxsnn_eqx.tasks.figures`, which reads the run and
calls these.

Figures are drawn on `matplotlib.figure.Figure` objects, never through ``pyplot``: nothing needs
a display (PNG files are rendered by the Agg canvas).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "TrainingCurve", "curves_figure", "decision_map_figure", "raster_figure", "readout_figure",
    "weights_figure", "membrane_figure", "save", "require_matplotlib", "INSTALL_HINT",
    "LOSS_LABELS", "CLASS_COLORS", "class_names_or_yinyang",
]

INSTALL_HINT = 'pip install "jaxsnn-eqx[plot]"'

# loss kind -> (panel title, y-axis label)
LOSS_LABELS = {
    "cross_entropy": ("cross entropy", "training loss: cross entropy (nats)"),
    "time_mse": ("time MSE", "training loss: first-spike time MSE (in tau_syn²)"),
    "unknown": ("unknown kind", "training loss"),
}


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

def require_matplotlib() -> None:
    """Raise `ModuleNotFoundError` naming the install command when matplotlib is missing."""
    _matplotlib()


class TrainingCurve(NamedTuple):
    """One run's training history, for `curves_figure`.

    Attributes:
        label: the legend entry.
        loss_kind: the kind of training loss (a key of `LOSS_LABELS`, or any name): runs of
            different kinds get different loss panels.
        epoch: epoch numbers ``(n,)``.
        train_loss: training loss per epoch ``(n,)``.
        val_accuracy: validation accuracy per epoch ``(n,)`` (a fraction; NaN where not
            measured), or ``None``: none measured.
    """

    label: str
    loss_kind: str
    epoch: Sequence[float]
    train_loss: Sequence[float]
    val_accuracy: Sequence[float] | None = None


def curves_figure(curves: Sequence[TrainingCurve]):
    """A matplotlib ``Figure`` of the training loss and validation accuracy per epoch.

    One loss panel per loss kind (curves of different kinds never share a loss axis), then one
    validation-accuracy panel (%) for all; each curve has the same colour in every panel and
    epochs are integer ticks.

    Raises:
        ModuleNotFoundError: matplotlib is not installed (``pip install "jaxsnn-eqx[plot]"``).
    """
    Figure, MaxNLocator = _matplotlib()
    groups = list(dict.fromkeys(c.loss_kind for c in curves))  # in order of first appearance
    n = len(groups) + 1
    fig = Figure(figsize=(4.6 * n, 3.8), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    loss_axes = dict(zip(groups, axes[:-1], strict=True))
    ax_acc = axes[-1]
    styles = ("-", "--", ":", "-.")
    for i, c in enumerate(curves):
        # colour and line style per run: overlapping runs stay told apart, also in grey print
        color, marker = f"C{i % 10}", "." if len(c.epoch) < 30 else None
        ls = styles[i % len(styles)] if len(curves) > 1 else "-"
        loss_axes[c.loss_kind].plot(list(c.epoch), list(c.train_loss), marker=marker,
                                    color=color, ls=ls, label=c.label)
        if c.val_accuracy is not None:
            acc = [100 * a for a in c.val_accuracy]
            ax_acc.plot(list(c.epoch), acc, marker=marker, color=color, ls=ls, label=c.label)
    for kind, ax in loss_axes.items():
        title, ylabel = LOSS_LABELS.get(kind, (kind, f"training loss: {kind}"))
        ax.set(xlabel="epoch", ylabel=ylabel,
               title="loss" if len(groups) == 1 else f"loss ({title})")
        losses = np.asarray([v for c in curves if c.loss_kind == kind for v in c.train_loss],
                            float)
        losses = losses[np.isfinite(losses)]
        if losses.size and np.all(losses > 0):  # the first epochs would flatten the rest
            ax.set_yscale("log")
            ax.set_ylabel(f"{ylabel} (log scale)")
    ax_acc.set(xlabel="epoch", ylabel="validation accuracy (%)", title="accuracy")
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    return fig


# ----------------------------------------------------------------------------- one run

CLASS_COLORS = ("#1f77b4", "#d62728", "#2ca02c")  # yang, yin, dot


def class_names_or_yinyang(names: Sequence[str] | None = None) -> tuple[str, ...]:
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


def decision_map_figure(grid_x, grid_pred, test_x, test_y, test_pred, title: str = "", *,
                        note: str = ""):
    """The predicted class over a grid of the input square (``grid_x: (g*g, 2)`` in row-major
    order, ``grid_pred: (g*g,)``), with the test points coloured by their label and the
    misclassified ones crossed; ``note`` (e.g. which noise draw of a noisy backend the map
    shows) goes under the panel's title."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Circle

    grid_x, grid_pred = np.asarray(grid_x), np.asarray(grid_pred)
    test_x, test_y, test_pred = map(np.asarray, (test_x, test_y, test_pred))
    g = int(round(np.sqrt(len(grid_x))))
    fig, (ax,) = _figure(width=5.2, height=4.8)
    ax.pcolormesh(grid_x[:, 0].reshape(g, g), grid_x[:, 1].reshape(g, g),
                  grid_pred.reshape(g, g), cmap=ListedColormap(CLASS_COLORS), vmin=-0.5,
                  vmax=2.5, alpha=0.3, shading="nearest")
    for c, name in enumerate(class_names_or_yinyang()):
        sel = test_y == c
        ax.scatter(test_x[sel, 0], test_x[sel, 1], s=7, color=CLASS_COLORS[c], label=name)
    wrong = test_pred != test_y
    ax.scatter(test_x[wrong, 0], test_x[wrong, 1], s=22, marker="x", color="k", linewidths=0.8,
               label=f"misclassified ({int(wrong.sum())})")
    ax.add_patch(Circle((0.5, 0.5), 0.5, fill=False, color="0.3", lw=0.8))
    acc = 100 * float(np.mean(~wrong))
    ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal", xlabel="x", ylabel="y",
           title=f"decision map, test points ({acc:.1f}% correct)" + (
               f"\n{note}" if note else ""))
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def activity_end(activity) -> float:
    """Where a raster of ``activity`` ends (s): 10% after its last spike, rounded up to a
    twentieth of ``t_max`` and at most ``t_max`` (``t_max`` without spikes, or with readout
    traces, which run to the end)."""
    if activity.traces.get("readout") is not None:
        return float(activity.t_max)
    last = max((float(np.max(t)) for t, _, _ in activity.spikes.values() if len(t)),
               default=None)
    if last is None or not np.isfinite(last):
        return float(activity.t_max)
    step = activity.t_max / 20
    return float(min(activity.t_max, np.ceil(1.1 * last / step) * step if last > 0 else step))


def raster_figure(activity, title: str = "", class_names: Sequence[str] | None = None):
    """Spike raster of one sample (`tasks.runs.Activity`): one panel per population (inputs
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
        names = class_names_or_yinyang(class_names)
        for c, name in enumerate(names[: readout.shape[1]]):
            ax.plot(t, readout[:, c], color=_class_colors(len(names))[c], label=name)
        ax.set(ylabel="readout\nV (V)")
        ax.legend(fontsize=7, loc="upper left", ncols=1 + (len(names) > 5))
    t_end = activity_end(activity)
    axes[-1].set(xlabel=f"time ({unit})" + (
        f", the first {t_end * factor:.3g} of {activity.t_max * factor:.3g} {unit} simulated"
        if t_end < activity.t_max else ""),
                 xlim=(-0.01 * t_end * factor, t_end * factor))
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
    names = class_names_or_yinyang(class_names)
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


def weights_figure(weights: Mapping[str, Any], title: str = "", *,
                   unit: str = "weight (V s)", integer: bool = False):
    """Histogram of each projection's weights (one panel per projection); ``unit`` labels the
    x axis (e.g. a chip's integer synapse weights, converted by the caller), ``integer``: one
    bin per integer value."""
    fig, axes = _figure(len(weights), width=3.6, height=3.2)
    for ax, (name, w) in zip(axes, weights.items(), strict=True):
        w = np.asarray(w, float)
        bins = (np.arange(np.floor(w.min(initial=0)), np.ceil(w.max(initial=0)) + 2) - 0.5
                if integer else 50)
        ax.hist(w.ravel(), bins=bins, color="0.35")
        ax.axvline(0.0, color="k", lw=0.6)
        ax.set(title=f"{name} {w.shape[0]}x{w.shape[1]}", xlabel=unit, ylabel="synapses")
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
    names = class_names_or_yinyang(class_names)
    for c, name in enumerate(names[: v_o.shape[1]]):
        ax_o.plot(t, v_o[:, c], color=_class_colors(len(names))[c], label=name)
    ax_o.set(xlabel=f"time ({unit})", ylabel="membrane potential (V)", title="LI readout")
    ax_o.legend(fontsize=7, ncols=1 + (len(names) > 5))
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def save(fig, path, dpi: int = 110):
    """Save ``fig`` to ``path`` (its type from the suffix) and return ``path``."""
    fig.savefig(path, dpi=dpi)
    return path


_MOVED = {name: "jaxsnn_eqx.tasks.figures" for name in
          ("run_figures", "plot_training", "training_figure", "loss_kind")}


def __getattr__(name: str):
    """Names that moved to the apps layer say where they went (plot knows no task or run)."""
    if name in _MOVED:
        raise AttributeError(f"jaxsnn_eqx.plot.{name} moved to {_MOVED[name]}.{name} (figures "
                             f"of saved runs live with the tasks; plot only draws arrays)")
    raise AttributeError(f"module 'jaxsnn_eqx.plot' has no attribute {name!r}")
