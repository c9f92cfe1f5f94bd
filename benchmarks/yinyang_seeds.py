"""Yin-Yang test accuracy of every task over seeds, next to a same-size ANN trained the same way.

Each task runs as a user runs it (``jaxsnn-eqx train yinyang --method M --seed S``, its
defaults, one process per run, ``--no-plot``); the table gives the test accuracy per seed, mean
+- std (sample standard deviation), min, and the task's own ``total_seconds`` (data, compile,
train, test). The ANN is a ReLU MLP 5-120-3 on the event tasks' input (the 5 latency-coded
features scaled to ``[0, 1]``), trained with the flagship's epochs, batch size and learning-rate
schedule (`train.make_optimizer`) and cross entropy, one run per seed on the seed's splits.

The test split has 1000 points, so one run's test accuracy near 98% carries a binomial standard
error of about 0.44 points. ``--fresh N`` (default 20,000) also scores every saved model on N
fresh points drawn with one fixed key (the same points for every run; standard error about 0.1
point), through the task's own encoding and readout (`tasks.runs.load_run` and the task's
``figure_hooks``): the generalisation accuracy without the small test set's noise.

Float32 training over thousands of steps amplifies rounding, so results also change with the
number of threads (another summation order). ``--threads 1`` runs every process on one thread
(XLA's CPU flags and ``taskset`` to one core), so running the script once with and once without
it shows that part of the spread.

Usage::

    python benchmarks/yinyang_seeds.py [--seeds 0 1 2 3 4] [--methods analytical ...]
        [--threads 1] [--fresh 20000] [--json FILE] [--markdown] [--out runs/seeds]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

METHODS = ("eventprop-layered", "analytical", "eventprop", "discrete", "hardware")
NAMES = {
    "eventprop-layered": "EventProp, layered (the flagship)",
    "analytical": "analytical (autodiff through spike times)",
    "eventprop": "EventProp, masked recurrent population (the seed's task)",
    "discrete": "discrete (surrogate gradients)",
    "hardware": "emulated BSS-2 in the loop",
}
FRESH_KEY = 12345  # the fresh points: data.yinyang(PRNGKey(FRESH_KEY), N), disjoint draws from
# the splits' keys
ONE_THREAD = ("--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1 "
              "inter_op_parallelism_threads=1")


def _env(threads: int | None) -> dict:
    env = dict(os.environ)
    if threads == 1:
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " " + ONE_THREAD).strip()
    return env


def _prefix(threads: int | None) -> list[str]:
    if threads == 1 and shutil.which("taskset"):
        return ["taskset", "-c", "0"]
    return []


def run_task(method: str, seed: int, out: Path, threads: int | None,
             extra: list[str] = ()) -> dict:
    """One run of ``jaxsnn-eqx train yinyang --method method --seed seed [extra]``: its
    results.json."""
    run_dir = out / f"{method}_s{seed}"
    cmd = [*_prefix(threads), sys.executable, "-m", "jaxsnn_eqx.cli", "train", "yinyang",
           "--method", method, "--seed", str(seed), "--out", str(run_dir), "--overwrite",
           "--no-plot", "--no-progress", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(threads), check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return json.loads((run_dir / "results.json").read_text())


def fresh_points(n: int):
    """``n`` fresh Yin-Yang points and labels, the same for every run."""
    import jax

    from jaxsnn_eqx import data

    return data.yinyang(jax.random.PRNGKey(FRESH_KEY), n)


def fresh_accuracy(run_dir: Path, n: int, chunk: int = 2000) -> float:
    """Accuracy of the run's saved ``model.eqx`` on `fresh_points` (the task's own encoding,
    readout and class rule, from its ``figure_hooks``)."""
    import jax
    import numpy as np

    from jaxsnn_eqx.tasks import runs

    run = runs.load_run(run_dir)
    if run.model is None:
        raise RuntimeError(f"{run_dir}: {run.missing}")
    hooks = run.task.figure_hooks(run.config)
    x, y = fresh_points(n)
    readout = jax.jit(lambda m, xi, k: hooks.predict(hooks.readout(m, xi, k)))
    right = 0
    for i in range(0, n, chunk):
        pred = readout(run.model, hooks.encode(x[i:i + chunk]), jax.random.PRNGKey(i))
        right += int(np.sum(np.asarray(pred) == np.asarray(y[i:i + chunk])))
    return right / n


ANN_CODE = r"""
import json, sys
import equinox as eqx, jax, jax.numpy as jnp, optax
from jaxsnn_eqx import data
from jaxsnn_eqx.train import fit, make_optimizer
from jaxsnn_eqx.tasks import yinyang_event as task

seed, n_fresh, fresh_key = (int(v) for v in sys.argv[1:4])
a = task._resolve(task.parse([], method="eventprop-layered"))
splits = data.yinyang_splits(seed, n_train=a.n_train, n_val=a.n_val, n_test=a.n_test)
feats = lambda x: data.latency_times(x, 0.0, a.t_late, a.bias_time) / a.t_late
sets = {k: (feats(x), y) for k, (x, y) in splits.items()}
k_model, k_shuffle = jax.random.split(jax.random.PRNGKey(seed))
mlp = eqx.nn.MLP(5, 3, a.hidden, 1, activation=jax.nn.relu, key=k_model)
loss = lambda m, x, y: optax.softmax_cross_entropy_with_integer_labels(jax.vmap(m)(x), y).mean()
pred = lambda m, x: jnp.argmax(jax.vmap(m)(x), axis=-1)
steps = sets["train"][1].shape[0] // a.batch_size
model, res = fit(mlp, loss, pred, sets["train"], sets["val"], sets["test"],
             optimizer=make_optimizer(a.lr, a.epochs, steps, final_lr_fraction=a.final_lr_fraction),
             epochs=a.epochs,
             batch_size=a.batch_size, key=k_shuffle, progress=False, select=a.select)
fresh = None
if n_fresh:
    xf, yf = data.yinyang(jax.random.PRNGKey(fresh_key), n_fresh)
    fresh = float(jnp.mean(pred(model, feats(xf)) == yf))
print(json.dumps({"test_accuracy": res["test_accuracy"], "fresh_accuracy": fresh,
                  "epochs": a.epochs, "lr": a.lr,
                  "batch_size": a.batch_size, "hidden": a.hidden,
                  "final_lr_fraction": a.final_lr_fraction, "select": a.select}))
"""


def run_ann(seed: int, threads: int | None, n_fresh: int) -> dict:
    """The same-size ANN (see the module docstring), trained in its own process."""
    cmd = [*_prefix(threads), sys.executable, "-c", ANN_CODE, str(seed), str(n_fresh),
           str(FRESH_KEY)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(threads), check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"ANN reference failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def summary(accs: list[float], digits: int = 1) -> str:
    """``mean +- std (min)`` in percent (sample standard deviation)."""
    pct = [100 * a for a in accs]
    std = statistics.stdev(pct) if len(pct) > 1 else 0.0
    return f"{statistics.mean(pct):.2f} +- {std:.2f} (min {min(pct):.{digits}f})"


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    p.add_argument("--no-ann", action="store_true", help="skip the ANN reference")
    p.add_argument("--threads", type=int, choices=(1,), default=None,
                   help="1: every run on one thread and one core (default: XLA's choice)")
    p.add_argument("--out", type=Path, default=Path("runs/yinyang_seeds"),
                   help="folder for the runs (one subfolder per method and seed)")
    p.add_argument("--fresh", type=int, default=20000,
                   help="also score every saved model on this many fresh points (0: off)")
    p.add_argument("--task-args", default="",
                   help="more flags for every task run, e.g. \"--epochs 10\" (the table then "
                        "no longer shows the defaults)")
    p.add_argument("--json", type=Path, default=None, help="also write the table here")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    a = p.parse_args(argv)
    rows = {}
    t_start = time.perf_counter()
    for method in a.methods:
        accs, secs, fresh = [], [], []
        for seed in a.seeds:
            r = run_task(method, seed, a.out, a.threads, a.task_args.split())
            accs.append(r["test_accuracy"])
            secs.append(r["total_seconds"])
            if a.fresh:
                fresh.append(fresh_accuracy(a.out / f"{method}_s{seed}", a.fresh))
            print(f"{method:18s} seed {seed}: {100 * accs[-1]:.1f}%  {secs[-1]:.0f} s"
                  + (f"  (fresh points: {100 * fresh[-1]:.2f}%)" if a.fresh else ""), flush=True)
        rows[method] = dict(accuracies=accs, seconds=secs, fresh=fresh or None)
    if not a.no_ann:
        accs, fresh = [], []
        for seed in a.seeds:
            r = run_ann(seed, a.threads, a.fresh)
            accs.append(r["test_accuracy"])
            if a.fresh:
                fresh.append(r["fresh_accuracy"])
            print(f"{'ANN':18s} seed {seed}: {100 * accs[-1]:.1f}%"
                  + (f"  (fresh points: {100 * fresh[-1]:.2f}%)" if a.fresh else ""), flush=True)
        rows["ann"] = dict(accuracies=accs, seconds=None, fresh=fresh or None, settings=r)
    cores = os.cpu_count()
    print(f"\nseeds {a.seeds}, threads: {a.threads or 'default'}, {cores} CPU cores, "
          f"{time.perf_counter() - t_start:.0f} s in all")
    names = {**NAMES, "ann": "same-size ANN (ReLU MLP 5-120-3, flagship's schedule)"}
    fresh_col = f"{a.fresh} fresh points: mean +- std (min)" if a.fresh else None
    if a.markdown:
        print("| task | " + " | ".join(f"seed {s}" for s in a.seeds)
              + " | mean +- std (min) |" + (f" {fresh_col} |" if a.fresh else "")
              + " seconds |")
        print("| --- | " + " | ".join("---" for _ in a.seeds) + " | --- |"
              + (" --- |" if a.fresh else "") + " --- |")
    for key, row in rows.items():
        per_seed = [f"{100 * x:.1f}" for x in row["accuracies"]]
        secs = "" if row["seconds"] is None else (
            f"{min(row['seconds']):.0f}-{max(row['seconds']):.0f}")
        fresh = summary(row["fresh"], digits=2) if row.get("fresh") else ""
        if a.markdown:
            print(f"| {names[key]} | " + " | ".join(per_seed)
                  + f" | {summary(row['accuracies'])} |" + (f" {fresh} |" if a.fresh else "")
                  + f" {secs} |")
        else:
            print(f"{names[key]:58s} {' '.join(per_seed)}  {summary(row['accuracies'])}  "
                  f"{fresh + '  ' if fresh else ''}{secs}")
    if a.json:
        a.json.write_text(json.dumps(dict(seeds=a.seeds, threads=a.threads, fresh=a.fresh,
                                          fresh_key=FRESH_KEY, rows=rows), indent=1))
    return rows


if __name__ == "__main__":
    main()
