"""Pieces every task shares: the common command-line flags and the closing summary."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import equinox as eqx
import jax
import optax

from .. import data
from ..train import fit, make_optimizer, write_results

__all__ = [
    "base_parser", "finish", "fit_task", "run_yinyang", "scale_updates", "unit_factors",
    "positive_int", "positive_float", "TaskParser",
]


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


class TaskParser(argparse.ArgumentParser):
    """`argparse.ArgumentParser` that also checks the common flags against each other (a clear
    one-line error, not a traceback later)."""

    def parse_known_args(self, args=None, namespace=None):
        ns, rest = super().parse_known_args(args, namespace)
        n_train, batch = getattr(ns, "n_train", None), getattr(ns, "batch_size", None)
        if n_train is not None and batch is not None and n_train < batch:
            self.error(f"--n-train {n_train} is smaller than --batch-size {batch}: an epoch "
                       f"needs at least one full batch; lower --batch-size or raise --n-train")
        if getattr(ns, "resume", False) and getattr(ns, "overwrite", False):
            self.error("--resume and --overwrite exclude each other: continue the saved run, "
                       "or delete it and start again")
        if getattr(ns, "extend", False) and not getattr(ns, "resume", False):
            self.error("--extend lengthens a saved run: use it with --resume")
        return ns, rest


def base_parser(description: str, **defaults) -> argparse.ArgumentParser:
    """Parser with the flags every task takes.

    ``--out DIR --seed N --epochs N --batch-size N --lr X --n-train N --n-val N --n-test N
    --select best_val|last --resume --extend --overwrite --progress/--no-progress``;
    ``defaults`` sets their defaults by destination name (``out``, ``seed``, ``epochs``,
    ``batch_size``, ``lr``, ``n_train``, ...). ``--n-train`` below ``--batch-size``,
    ``--resume`` with ``--overwrite`` and ``--extend`` without ``--resume`` are usage errors.
    """
    p = TaskParser(
        description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--out", type=Path, default=Path(defaults.get("out", "runs/task")),
                   help="run folder (results.json, model.eqx, manifest.json and the checkpoint "
                        "for --resume)")
    p.add_argument("--seed", type=int, default=defaults.get("seed", 0),
                   help="seed for data, initialisation and shuffling")
    p.add_argument("--epochs", type=positive_int, default=defaults.get("epochs", 20),
                   help="passes over the training set (the learning-rate schedule spans them)")
    p.add_argument("--batch-size", type=positive_int, default=defaults.get("batch_size", 64),
                   help="training samples per optimizer step")
    p.add_argument("--lr", type=positive_float, default=defaults.get("lr", 1e-3),
                   help="peak learning rate")
    p.add_argument("--n-train", type=positive_int, default=defaults.get("n_train", 5000),
                   help="training samples")
    p.add_argument("--n-val", type=positive_int, default=defaults.get("n_val", 1000),
                   help="validation samples (accuracy after every epoch, for --select)")
    p.add_argument("--n-test", type=positive_int, default=defaults.get("n_test", 1000),
                   help="test samples (accuracy of the selected model at the end)")
    p.add_argument("--select", choices=("best_val", "last"),
                   default=defaults.get("select", "best_val"),
                   help="model to test and save: best validation accuracy, or the last epoch")
    p.add_argument("--resume", action="store_true",
                   help="continue the run saved in --out; the other flags must match the saved "
                        "run's")
    p.add_argument("--extend", action="store_true",
                   help="with --resume: accept a larger --epochs than the saved run's (the "
                        "learning-rate schedule then differs from an uninterrupted run of the "
                        "new length)")
    p.add_argument("--overwrite", action="store_true",
                   help="delete a run already saved in --out and start again (without it, a "
                        "folder holding a run is an error)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="print one line per epoch (and a progress bar on a terminal)")
    return p


def config_of(args: argparse.Namespace) -> dict:
    """The parsed arguments as a JSON-friendly dict (saved as ``config`` in results.json)."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}


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
    the flags ask raises `train.RunFolderError` (``jaxsnn-eqx`` prints it as one line)."""
    _, results = fit(
        model, loss_fn, predict_fn, sets["train"], sets["val"], sets["test"],
        optimizer=optimizer, epochs=args.epochs, batch_size=args.batch_size, key=key,
        out=args.out, config=config_of(args), resume=args.resume, progress=args.progress,
        select=args.select, overwrite=getattr(args, "overwrite", False),
        extend=getattr(args, "extend", False), **fit_kwargs,
    )
    results["total_seconds"] = time.perf_counter() - t0
    if args.out is not None:
        write_results(args.out, results)
    return results


def run_yinyang(args: argparse.Namespace, *, encode, build_model, make_fns, step_factors,
                t0: float | None = None, **fit_kwargs) -> dict:
    """The Yin-Yang tasks' shared recipe: seeded splits, ``encode(x, args)``, ``build_model(key,
    args)``, ``make_fns(args) -> (loss_fn, predict_fn)``, the schedule of `train.make_optimizer`
    with per-parameter step sizes ``step_factors(model, args)`` (see `scale_updates`), then
    `fit_task` (``fit_kwargs`` go to `train.fit`). Returns the results (also written to
    ``args.out``)."""
    t0 = time.perf_counter() if t0 is None else t0
    splits = data.yinyang_splits(args.seed, n_train=args.n_train, n_val=args.n_val,
                                 n_test=args.n_test)
    sets = {name: (encode(x, args), y) for name, (x, y) in splits.items()}
    k_model, k_shuffle = jax.random.split(jax.random.PRNGKey(args.seed))
    model = build_model(k_model, args)
    loss_fn, predict_fn = make_fns(args)
    steps_per_epoch = sets["train"][1].shape[0] // args.batch_size
    base = make_optimizer(args.lr, args.epochs, steps_per_epoch)
    optimizer = optax.chain(base, scale_updates(step_factors(model, args)))
    return fit_task(args, model, loss_fn, predict_fn, sets, optimizer, k_shuffle, t0,
                    **fit_kwargs)


def finish(args: argparse.Namespace, results: dict) -> dict:
    """Print the closing summary of a task run and return ``results``."""
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
    return results


def dump(results: dict) -> str:
    return json.dumps(results, indent=2)


def announce(args: argparse.Namespace, what: str, **settings) -> None:
    """Print, before training starts, what runs: ``what`` (method and network) and the key
    settings (``settings`` plus seed, epochs, batch size, learning rate and output folder)."""
    common = dict(seed=args.seed, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                  n_train=args.n_train, out=args.out)
    parts = [f"{k.replace('_', '-')}={v}" for k, v in {**settings, **common}.items()]
    print(f"{what}\n  " + " ".join(parts), flush=True)
