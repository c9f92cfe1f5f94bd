"""The command-line flags every task shares (`base_parser`), their checks against each other
(`TaskParser`), argument types, the saved form of the flags (`config_of`) and the line that says
what is about to run (`announce`)."""

from __future__ import annotations

import argparse
from pathlib import Path

import jax

__all__ = ["positive_int", "positive_float", "Parser", "TaskParser", "base_parser", "config_of",
           "announce"]


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


class Parser(argparse.ArgumentParser):
    """`argparse.ArgumentParser` for every parser of the package: no abbreviated flags
    (``--epoch 5`` is an error, not ``--epochs 5``) and short usage errors (the error and a
    pointer to ``--help``, not the usage line of every flag)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class TaskParser(Parser):
    """`Parser` that also checks the common flags against each other (a clear one-line error,
    not a traceback later)."""

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
        devices = getattr(ns, "devices", None)
        if any(getattr(ns, k, None) is not None
               for k in ("coordinator", "num_processes", "process_id")):
            _join_processes(self, ns)
        if devices is not None and devices != 1:  # 0: all
            n = jax.device_count()
            if devices > n:
                self.error(f"--devices {devices}: only {n} {jax.devices()[0].platform} "
                           f"device(s) exist; on a CPU, set XLA_FLAGS=--xla_force_host_"
                           f"platform_device_count={devices} before starting Python to get "
                           f"{devices}")
            split = devices or n
            if batch is not None and batch % split:
                what = f"--devices {devices}" + ("" if devices else f" ({n} devices)")
                self.error(f"--batch-size {batch} does not divide into {what} (each device "
                           f"takes an equal share of every batch): use a multiple of {split}")
        return ns, rest


def _join_processes(parser: argparse.ArgumentParser, ns: argparse.Namespace) -> None:
    """`train.init_distributed` with ``--coordinator``, ``--num-processes`` and
    ``--process-id`` (all three, before anything touches JAX); usage errors as one line."""
    if ns.coordinator is None or ns.num_processes is None or ns.process_id is None:
        parser.error("--coordinator, --num-processes and --process-id go together (one process "
                     "per host, the same coordinator HOST:PORT everywhere)")
    if not 0 <= ns.process_id < ns.num_processes:
        parser.error(f"--process-id must be in 0..{ns.num_processes - 1}, got {ns.process_id}")
    if ns.devices not in (0, None) and ns.num_processes > 1:
        parser.error("with several processes the batch is split over every device of every "
                     "process: pass --devices 0 (all)")
    from ..train import init_distributed

    try:
        init_distributed(ns.coordinator, ns.num_processes, ns.process_id)
    except RuntimeError as err:
        parser.error(str(err))


def base_parser(description: str, **defaults) -> argparse.ArgumentParser:
    """Parser with the flags every task takes.

    ``--out DIR --seed N --epochs N --batch-size N --lr X --n-train N --n-val N --n-test N
    --select best_val|last --resume --extend --overwrite --progress/--no-progress --devices N``
    and the multi-host trio ``--coordinator HOST:PORT --num-processes N --process-id I``
    (parsing them joins the processes: `train.init_distributed`); ``defaults`` sets their
    defaults by destination name (``out``, ``seed``, ``epochs``, ``batch_size``, ``lr``,
    ``n_train``, ``devices``, ...). ``--n-train`` below ``--batch-size``, ``--resume`` with
    ``--overwrite``, ``--extend`` without ``--resume`` and a ``--batch-size`` that is not a
    multiple of ``--devices`` are usage errors.
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
    p.add_argument("--plot", action=argparse.BooleanOptionalAction, default=True,
                   help="at the end, draw the run's figures into OUT/figures (needs matplotlib; "
                        "'jaxsnn-eqx plot OUT' draws them later)")
    p.add_argument("--devices", type=_device_count, default=defaults.get("devices", 1),
                   metavar="N",
                   help="split every batch over this many devices (data parallelism; 0: all "
                        "of them); --batch-size must be a multiple of it. On a CPU, set "
                        "XLA_FLAGS=--xla_force_host_platform_device_count=N to get N devices")
    m = p.add_argument_group(
        "several hosts", "one process per host, each with the same flags but --process-id, "
        "and --devices 0; see the README")
    m.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                   help="address of process 0, where it opens PORT (jax.distributed.initialize)")
    m.add_argument("--num-processes", type=positive_int, default=None, metavar="N",
                   help="number of processes (hosts)")
    m.add_argument("--process-id", type=int, default=None, metavar="I",
                   help="this process's number, 0 .. --num-processes - 1 (0 writes --out)")
    return p


def _device_count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a device count >= 0 (0: all), got {text}")
    return value


def config_of(args: argparse.Namespace) -> dict:
    """The parsed arguments as a JSON-friendly dict (saved as ``config`` in results.json)."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}



def announce(args: argparse.Namespace, what: str, derived: dict | None = None,
             **settings) -> None:
    """Print, before training starts, what runs: ``what`` (method and network), the key flags
    with the values used (``settings``, by destination, plus seed, epochs, batch size,
    learning rate, training samples and output folder) spelled as the flags they are
    (``--tau-syn 0.005``), and, on a line of their own, values that follow from the flags but
    are no flags themselves (``derived``, e.g. ``tau_mem`` from ``--ratio``).

    Raises:
        ValueError: a name in ``settings`` that is not a flag of ``args`` (put it in
            ``derived``).
    """
    common = dict(seed=args.seed, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                  n_train=args.n_train, out=args.out)
    flags = vars(args)
    unknown = [k for k in settings if k not in flags]
    if unknown:
        raise ValueError(f"announce: {unknown} are no flags of this task; pass them as "
                         f"`derived`.")
    parts = [f"--{k.replace('_', '-')} {v}" for k, v in {**settings, **common}.items()]
    text = f"{what}\n  " + " ".join(parts)
    if derived:
        text += "\n  derived: " + ", ".join(f"{k} = {v}" for k, v in derived.items())
    print(text, flush=True)
