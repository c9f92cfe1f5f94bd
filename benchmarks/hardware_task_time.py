"""Time per epoch of the emulated-hardware Yin-Yang task against the software flagship, side by
side in one run.

Runs, in this process and alternately (``--rounds`` times each, so that a changing machine load
hits both alike), ``jaxsnn-eqx train yinyang --method eventprop-layered`` (the flagship) and
``--method hardware`` (default emulated chip), each for ``--epochs`` epochs with its own
defaults otherwise (batch 16 and 64), without figures, and reports per task the training time
per epoch (``train_seconds / epochs``: the compiled epochs, without compilation, validation and
test) and the total per epoch (everything the run took, compilation included); the ratios
hardware / flagship are computed from the medians over the rounds.

Usage: ``python benchmarks/hardware_task_time.py [--epochs 5] [--rounds 3] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import tempfile

import jax
import numpy as np

from jaxsnn_eqx.tasks import yinyang_event, yinyang_hardware

TASKS = {
    "flagship (eventprop-layered)": lambda argv: yinyang_event.main(
        argv, method="eventprop-layered"),
    "hardware (Emulator())": yinyang_hardware.main,
}


def one_run(name: str, epochs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="task_time_") as tmp:
        r = TASKS[name](["--epochs", str(epochs), "--out", tmp, "--no-progress", "--no-plot"])
    return dict(train_per_epoch=r["train_seconds"] / epochs,
                total_per_epoch=r["total_seconds"] / epochs,
                compile_seconds=r["compile_seconds"], test_accuracy=r.get("test_accuracy"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=pathlib.Path, default=None)
    a = ap.parse_args(argv)
    runs: dict[str, list[dict]] = {name: [] for name in TASKS}
    for r in range(a.rounds):
        for name in TASKS:
            runs[name].append(one_run(name, a.epochs))
            print(f"round {r}: {name:30s} " + ", ".join(
                f"{k} {v:.3f}" for k, v in runs[name][-1].items() if v is not None), flush=True)
    med = {name: {k: float(np.median([x[k] for x in rs])) for k in
                  ("train_per_epoch", "total_per_epoch", "compile_seconds")}
           for name, rs in runs.items()}
    flag, hw = (med[n] for n in TASKS)
    ratios = {k: hw[k] / flag[k] for k in ("train_per_epoch", "total_per_epoch")}
    print(f"medians: {json.dumps(med, indent=1)}")
    print(f"hardware / flagship: train per epoch {ratios['train_per_epoch']:.2f}x, total per "
          f"epoch ({a.epochs} epochs, compilation included) {ratios['total_per_epoch']:.2f}x")
    if a.json:
        a.json.write_text(json.dumps(dict(
            epochs=a.epochs, rounds=a.rounds, backend=jax.default_backend(),
            load_average=os.getloadavg(), runs=runs, medians=med, ratios=ratios), indent=1))


if __name__ == "__main__":
    main()
