"""Plots drawn from saved results, never by re-running training (extra ``plot``: matplotlib).

``jaxsnn-eqx plot RUN_DIR [RUN_DIR ...]`` calls `plot_training`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

__all__ = ["plot_training"]


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plotting needs matplotlib: pip install 'jaxsnn-eqx[plot]'"
        ) from err
    return plt


def plot_training(
    run_dirs: str | Path | Sequence[str | Path], out: str | Path | None = None
) -> Path:
    """Training loss and validation accuracy per epoch of one or more runs.

    Reads ``RUN_DIR/results.json`` of each run and writes a PNG (default
    ``<first RUN_DIR>/training.png``). Returns the image path.
    """
    if isinstance(run_dirs, str | Path):
        run_dirs = [run_dirs]
    runs = []
    for d in run_dirs:
        path = Path(d) / "results.json"
        if not path.exists():
            raise FileNotFoundError(f"plot_training: no results.json in {d!s}")
        runs.append((Path(d), json.loads(path.read_text())))
    plt = _pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    for d, res in runs:
        epochs = res.get("epochs", [])
        x = [e["epoch"] for e in epochs]
        label = d.name
        if "test_accuracy" in res:
            label += f" (test {100 * res['test_accuracy']:.1f}%)"
        ax_loss.plot(x, [e["train_loss"] for e in epochs], label=label)
        if epochs and "val_accuracy" in epochs[0]:
            ax_acc.plot(x, [100 * e["val_accuracy"] for e in epochs], label=label)
    ax_loss.set(xlabel="epoch", ylabel="training loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="validation accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(out) if out is not None else runs[0][0] / "training.png"
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
