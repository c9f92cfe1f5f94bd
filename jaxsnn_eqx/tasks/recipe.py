"""The training recipe every task follows: seeded splits, the model, the optimizer (the schedule
of `train.make_optimizer` with per-parameter step sizes), `train.fit` with the common flags, and
the closing summary (`finish`, which also draws the run's figures)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import equinox as eqx
import jax
import optax

from .. import data
from ..errors import TrainingInterrupted
from ..train import fit, make_optimizer, named_keys, write_results
from .args import config_of
from .figures import draw_figures

__all__ = ["RUN_KEYS", "run_keys", "clamp_batch", "scale_updates", "unit_factors", "fit_task",
           "run_yinyang",
           "run_splits", "finish", "time_summary", "TIMING_LABELS", "dump"]


#: The roles of a task run's key ``PRNGKey(seed)``, split once (`train.named_keys`): the
#: first three are the Yin-Yang splits' (`data.yinyang_splits` draws train / val / test from
#: ``split(PRNGKey(seed), 3)``: the same keys with JAX's default partitionable threefry), then
#: the model's initialisation and `train.fit`'s key (shuffling, step and evaluation keys). No
#: two roles share a key (the model's and fit's were the data's train and val keys before).
RUN_KEYS = ("data_train", "data_val", "data_test", "model", "fit")


def run_keys(seed: int) -> dict:
    """``PRNGKey(seed)`` split into `RUN_KEYS` (every task derives its keys from these)."""
    return named_keys(jax.random.PRNGKey(seed), RUN_KEYS)


def scale_updates(factors) -> optax.GradientTransformation:
    """Multiply each update leaf by the matching leaf of ``factors`` (a pytree of floats shaped
    like the model's inexact arrays): per-parameter step sizes after e.g. Adam."""

    def update(updates, state, params=None):
        del params
        return jax.tree.map(lambda u, f: u * f, updates, factors), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def unit_factors(model):
    """A ``factors`` tree for `scale_updates` with every entry 1 (edit with `eqx.tree_at`)."""
    return jax.tree.map(lambda _: 1.0, eqx.filter(model, eqx.is_inexact_array))


def fit_task(args: argparse.Namespace, model, loss_fn, predict_fn, sets: dict, optimizer, key,
             t0: float, **fit_kwargs) -> dict:
    """`train.fit` with the common flags (and ``fit_kwargs``, e.g. ``post_update``,
    ``with_key``); adds ``total_seconds`` (since ``t0``, so data and compilation count) to the
    results and to ``args.out/results.json``. A run folder that cannot be started or resumed as
    the flags ask raises `train.RunFolderError` (``jaxsnn-eqx`` prints it as one line); Ctrl-C
    raises `errors.TrainingInterrupted` naming ``args.out``. Adds
    ``setup`` (data and model, from ``t0`` to the start of `train.fit`) to
    ``results["timing_seconds"]``."""
    setup = time.perf_counter() - t0
    try:
        _, results = fit(
            model, loss_fn, predict_fn, sets["train"], sets["val"], sets["test"],
            optimizer=optimizer, epochs=args.epochs, batch_size=args.batch_size, key=key,
            out=args.out, config=config_of(args), resume=args.resume, progress=args.progress,
            select=args.select, overwrite=getattr(args, "overwrite", False),
            extend=getattr(args, "extend", False), devices=getattr(args, "devices", 1) or None,
            **fit_kwargs,
        )
    except KeyboardInterrupt as err:  # Ctrl-C: say which run folder (see tasks.entry)
        if isinstance(err, TrainingInterrupted):
            raise
        raise TrainingInterrupted(args.out) from None
    results["total_seconds"] = time.perf_counter() - t0
    results["timing_seconds"] = {"setup": setup, **results.get("timing_seconds", {})}
    if args.out is not None:
        write_results(args.out, results)
    return results


def run_yinyang(args: argparse.Namespace, *, encode, build_model, make_fns, step_factors,
                t0: float | None = None, **fit_kwargs) -> dict:
    """The Yin-Yang tasks' shared recipe: seeded splits (`data.yinyang_splits`), then
    `run_splits`. Returns the results (also written to ``args.out``)."""
    t0 = time.perf_counter() if t0 is None else t0
    splits = data.yinyang_splits(args.seed, n_train=args.n_train, n_val=args.n_val,
                                 n_test=args.n_test)
    return run_splits(args, splits, encode=encode, build_model=build_model, make_fns=make_fns,
                      step_factors=step_factors, t0=t0, **fit_kwargs)


def run_splits(args: argparse.Namespace, splits: dict, *, encode, build_model, make_fns,
               step_factors, t0: float | None = None, **fit_kwargs) -> dict:
    """Every task's recipe on ``splits`` (``{"train"|"val"|"test": (x, y)}``):
    ``encode(x, args)``, ``build_model(key, args)``, ``make_fns(args) -> (loss_fn,
    predict_fn)``, the schedule of `train.make_optimizer` (with ``args.weight_decay``,
    ``args.clip_norm`` and ``args.final_lr_fraction`` where the task has those flags; otherwise
    `make_optimizer`'s defaults) with per-parameter step sizes
    ``step_factors(model, args)`` (see `scale_updates`), then `fit_task` (``fit_kwargs`` go to
    `train.fit`). Returns the results (also written to ``args.out``)."""
    t0 = time.perf_counter() if t0 is None else t0
    sets = {name: (encode(x, args), y) for name, (x, y) in splits.items()}
    clamp_batch(args, int(sets["train"][1].shape[0]))
    keys = run_keys(args.seed)
    model = build_model(keys["model"], args)
    loss_fn, predict_fn = make_fns(args)
    steps_per_epoch = sets["train"][1].shape[0] // args.batch_size
    base = make_optimizer(args.lr, args.epochs, steps_per_epoch,
                          weight_decay=getattr(args, "weight_decay", 0.0),
                          clip_norm=getattr(args, "clip_norm", None),
                          final_lr_fraction=getattr(args, "final_lr_fraction", 0.05))
    optimizer = optax.chain(base, scale_updates(step_factors(model, args)))
    return fit_task(args, model, loss_fn, predict_fn, sets, optimizer, keys["fit"], t0,
                    **fit_kwargs)

def clamp_batch(args: argparse.Namespace, n_train: int) -> None:
    """A ``--batch-size`` above the ``n_train`` training samples (e.g. a small data folder)
    becomes the largest batch that fits (a multiple of ``--devices``), with a printed notice;
    the run saves the batch size it used. Fewer samples than devices: left to `train.fit`,
    which says so."""
    devices = getattr(args, "devices", 1)
    split = jax.device_count() if devices in (0, None) else devices
    if args.batch_size <= n_train or n_train < split:
        return
    batch = n_train // split * split
    print(f"note: --batch-size {args.batch_size} is more than the {n_train} training samples: "
          f"training with batches of {batch} (pass --batch-size to choose)", flush=True)
    args.batch_size = batch


TIMING_LABELS = {"setup": "data and setup", "compile": "compile", "train": "train",
                 "validation": "validation", "test": "test", "checkpoints": "checkpoints",
                 "baseline": "baseline run"}


def time_summary(results: dict, figures: float | None = None) -> str:
    """One line that accounts for the run's time: ``total_seconds`` split into the stages of
    ``results["timing_seconds"]`` (`TIMING_LABELS`) and what is left (``other``: saving results,
    Python), then the figures' seconds (drawn after the total was saved)."""
    total = results.get("total_seconds")
    timing = results.get("timing_seconds") or {}
    if total is None:
        return ""
    parts = [f"{TIMING_LABELS[k]} {timing[k]:.1f}" for k in TIMING_LABELS if k in timing]
    other = total - sum(timing.get(k, 0.0) for k in TIMING_LABELS)
    parts.append(f"other {max(other, 0.0):.1f}")
    line = f"total time {total:.1f} s = " + " + ".join(parts)
    if figures is not None:
        line += f"; then figures {figures:.1f} s"
    return line


def finish(args: argparse.Namespace, results: dict) -> dict:
    """Print the closing summary of a task run (test accuracy, epochs, where the results are),
    draw the run's figures (``--plot``) and print where the time went (`time_summary`);
    returns ``results``."""
    epochs = results.get("epochs", [])
    per_epoch = [e["seconds"] for e in epochs]
    lines = [
        f"test accuracy: {results.get('test_accuracy', float('nan')):.4f}",
        f"epochs: {len(epochs)}, train time {sum(per_epoch):.1f} s "
        f"({(sum(per_epoch) / max(1, len(per_epoch))):.2f} s/epoch), "
        f"compile {results.get('compile_seconds', 0.0):.1f} s",
    ]
    if args.out is not None:
        lines.append(f"results: {Path(args.out) / 'results.json'}")
    print("\n".join(lines))
    figures = None
    if getattr(args, "plot", False) and args.out is not None and jax.process_index() == 0:
        t = time.perf_counter()
        try:
            draw_figures(args.out)
        except KeyboardInterrupt as err:  # the run is saved: say so (see tasks.entry)
            raise TrainingInterrupted(args.out) from err
        figures = time.perf_counter() - t
    summary = time_summary(results, figures)
    if summary:
        print(summary, flush=True)
    return results


def dump(results: dict) -> str:
    return json.dumps(results, indent=2)
