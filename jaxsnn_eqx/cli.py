"""jaxsnn-eqx: train spiking networks (Yin-Yang, digits) and plot saved runs from the command line.

``jaxsnn-eqx train yinyang|digits --method METHOD [task flags]`` runs a task (the same as
``python -m jaxsnn_eqx.<...>.tasks.<...>``); ``jaxsnn-eqx train yinyang --method METHOD --help``
lists the task's flags with the defaults that method uses; ``jaxsnn-eqx plot RUN_DIR`` draws
every figure of a run from its saved files (into ``RUN_DIR/figures``), ``jaxsnn-eqx plot RUN_DIR
RUN_DIR ...`` the training curves of several runs in one figure; ``jaxsnn-eqx methods`` lists
the training methods.

User errors (a bad flag, a run folder that would be overwritten, a missing results.json,
matplotlib not installed) end in one line on stderr and exit status 2; set
``JAXSNN_EQX_TRACEBACK=1`` to see the full traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

__all__ = ["main", "task_entry", "METHODS", "DIGITS_METHODS", "DELAY_METHODS", "SHD_METHODS",
           "TASKS"]

# method -> (task module, keyword arguments of its main, one-line description, python -m entry)
METHODS: dict[str, tuple[str, dict, str, str]] = {
    "discrete": ("jaxsnn_eqx.tasks.yinyang_discrete", {},
                 "time-discrete recurrent LIF, surrogate gradients",
                 "jaxsnn_eqx.discrete.tasks.yinyang"),
    "analytical": ("jaxsnn_eqx.tasks.yinyang_event", {"method": "analytical"},
                   "event-based LIF layers, exact gradients through the spike times",
                   "jaxsnn_eqx.event.tasks.yinyang_analytical"),
    "eventprop": ("jaxsnn_eqx.tasks.yinyang_event", {"method": "eventprop"},
                  "event-based masked recurrent LIF population, EventProp (the seed's task)",
                  "jaxsnn_eqx.event.tasks.yinyang_event_prop"),
    "eventprop-layered": ("jaxsnn_eqx.tasks.yinyang_event", {"method": "eventprop-layered"},
                          "event-based EventPropLIF layers, EventProp (the flagship)",
                          "jaxsnn_eqx.event.tasks.yinyang_event_prop --layered"),
    "hardware": ("jaxsnn_eqx.tasks.yinyang_hardware", {},
                 "emulated (or real) BrainScaleS-2 chip in the loop, EventProp",
                 "jaxsnn_eqx.event.tasks.hardware.yinyang_mock"),
}
# the same for the digits dataset (`jaxsnn-eqx train digits --method METHOD`)
DIGITS_METHODS: dict[str, tuple[str, dict, str, str]] = {
    "analytical": ("jaxsnn_eqx.tasks.digits", {"method": "analytical"},
                   "event-based LIF layers 65-100-10, exact gradients through the spike times",
                   "jaxsnn_eqx.event.tasks.digits_analytical"),
    "eventprop": ("jaxsnn_eqx.tasks.digits", {"method": "eventprop"},
                  "event-based EventPropLIF layers 65-100-10, EventProp",
                  "jaxsnn_eqx.event.tasks.digits_event_prop"),
    "discrete": ("jaxsnn_eqx.tasks.digits", {"method": "discrete"},
                 "time-discrete feed-forward LIF 65-200, LI readout, surrogate gradients",
                 "jaxsnn_eqx.discrete.tasks.digits"),
}
# the Spiking Heidelberg Digits from the published files (`jaxsnn-eqx train shd --method METHOD
# --data-dir DIR`)
SHD_METHODS: dict[str, tuple[str, dict, str, str]] = {
    "eventprop": ("jaxsnn_eqx.tasks.shd", {"method": "eventprop"},
                  "event-based recurrent LIF 700-128 (many spikes each), first-spike readout "
                  "of 20, EventProp", "jaxsnn_eqx.tasks.shd --method eventprop"),
    "discrete": ("jaxsnn_eqx.tasks.shd", {"method": "discrete"},
                 "time-discrete recurrent LIF 700-128, LI readout (max over time), surrogate "
                 "gradients", "jaxsnn_eqx.tasks.shd --method discrete"),
}
# the temporal-pattern task that needs learned delays (`jaxsnn-eqx train delay-patterns`)
DELAY_METHODS: dict[str, tuple[str, dict, str, str]] = {
    "analytical": ("jaxsnn_eqx.tasks.delay_patterns", {},
                   "temporal patterns told apart only by learned synaptic delays (accuracy with "
                   "vs without delays)", "jaxsnn_eqx.tasks.delay_patterns"),
}
# dataset -> its methods
TASKS: dict[str, dict[str, tuple[str, dict, str, str]]] = {
    "yinyang": METHODS, "digits": DIGITS_METHODS, "delay-patterns": DELAY_METHODS,
    "shd": SHD_METHODS,
}
DATASETS = tuple(TASKS)


class UserError(Exception):
    """An error caused by the command line or the files it names: printed as one line."""


# Exceptions from the library that are about the user's input, not a bug: one line each.
_USER_ERRORS = (UserError, FileNotFoundError, FileExistsError, NotADirectoryError,
                ModuleNotFoundError)


def _user_error_types() -> tuple[type[BaseException], ...]:
    """`_USER_ERRORS` plus the run-folder errors of `train` (when it defines them)."""
    from . import train

    extra = tuple(getattr(train, name) for name in ("RunFolderError", "CheckpointError")
                  if isinstance(getattr(train, name, None), type))
    return _USER_ERRORS + extra


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jaxsnn-eqx", description=__doc__.split("\n\n")[0],
        epilog="Run 'jaxsnn-eqx train yinyang|digits --method METHOD --help' for a method's "
               "flags.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    tr = sub.add_parser(
        "train", add_help=False, help="train a task; its flags follow (see --method M --help)",
        description="Train a task. " + " ".join(
            f"Methods for {dataset}: " + "; ".join(
                f"{name}: {desc}" for name, (_, _, desc, _) in methods.items()) + "."
            for dataset, methods in TASKS.items()))
    tr.add_argument("dataset", choices=DATASETS, nargs="?", help="the dataset")
    tr.add_argument("--method", choices=list(dict.fromkeys(m for t in TASKS.values() for m in t)),
                    default=None, help="training method (default: analytical, or the "
                                       "dataset's first method where it has none: eventprop for "
                                       "shd)")
    tr.add_argument("-h", "--help", action="store_true",
                    help="this help, or with a dataset the task's flags and defaults")
    pl = sub.add_parser(
        "plot", help="draw a run's figures from its saved files (no training)",
        description="One RUN_DIR: every figure of the run (training curves, decision map, spike "
                    "raster, output spike times or readout, weights, membrane traces) from its "
                    "results.json and model.eqx. Several: their training curves in one figure.")
    pl.add_argument("run_dir", nargs="+", help="run folder(s) holding results.json")
    pl.add_argument("--out", default=None,
                    help="folder for the figures (default: RUN_DIR/figures); with several "
                         "RUN_DIRs the curves go to OUT/training.png, or to OUT itself if it "
                         "ends in .png/.pdf/.svg (default: FIRST_RUN_DIR/training.png)")
    sub.add_parser("methods", help="list the training methods")
    return parser


def _run(argv: list[str]) -> int:
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "methods":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        for dataset, methods in TASKS.items():
            print(f"{dataset} (jaxsnn-eqx train {dataset} --method METHOD):")
            for name, (_, _, desc, entry) in methods.items():
                print(f"  {name:18s} {desc}\n  {'':18s} python -m {entry}")
        return 0
    if args.command == "plot":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return _plot(args.run_dir, args.out)
    train_parser = parser._subparsers._group_actions[0].choices["train"]
    if args.dataset is None:
        if args.help:
            train_parser.print_help()
            return 0
        train_parser.error("the dataset is required (e.g. 'jaxsnn-eqx train yinyang' or "
                           "'jaxsnn-eqx train digits')")
    methods = TASKS[args.dataset]
    if args.method is None:
        args.method = "analytical" if "analytical" in methods else next(iter(methods))
    if args.method not in methods:
        train_parser.error(f"method {args.method!r} is not available for {args.dataset} "
                           f"(choose from {', '.join(methods)})")
    module_name, kwargs, _, _ = methods[args.method]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name == module_name:
            raise UserError(f"method {args.method!r} is not available in this version") from err
        raise
    prog, sys.argv[0] = sys.argv[0], f"jaxsnn-eqx train {args.dataset} --method {args.method}"
    try:  # argparse names the program after sys.argv[0] in usage and errors
        module.main(rest + (["--help"] if args.help else []), **kwargs)
    finally:
        sys.argv[0] = prog
    return 0


def _plot(run_dirs: list[str], out: str | None) -> int:
    """``jaxsnn-eqx plot``: `plot.run_figures` of one run, `plot.plot_training` of several."""
    from pathlib import Path

    from . import plot

    if len(run_dirs) == 1:
        paths = plot.run_figures(run_dirs[0], out)
    else:
        if out is not None and Path(out).suffix.lower() not in (".png", ".pdf", ".svg"):
            out = str(Path(out) / "training.png")
        paths = [plot.plot_training(run_dirs, out=out)]
    for path in paths:
        print(f"wrote {path}")
    return 0


def _guarded(fn, *args, **kwargs) -> int:
    """``fn(*args, **kwargs)``; a user error (see the module docstring) becomes one line on
    stderr and exit status 2."""
    try:
        fn(*args, **kwargs)
        return 0
    except _user_error_types() as err:
        if os.environ.get("JAXSNN_EQX_TRACEBACK"):
            raise
        print(f"jaxsnn-eqx: error: {err}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    """Run the console script with ``argv`` (default: ``sys.argv[1:]``); returns the exit
    status (argparse errors exit with 2 themselves)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return _guarded(_run, argv)


def task_entry(task_main, argv: list[str] | None = None, **kwargs) -> None:
    """What the ``python -m`` task modules run: ``task_main(argv, **kwargs)`` with the console
    script's handling of user errors; exits with its status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    raise SystemExit(_guarded(task_main, argv, **kwargs))


if __name__ == "__main__":
    raise SystemExit(main())
