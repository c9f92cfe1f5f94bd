"""jaxsnn-eqx: train spiking networks (Yin-Yang, digits) and plot saved runs from the command line.

``jaxsnn-eqx train yinyang|digits --method METHOD [task flags]`` runs a task (the same as
``python -m jaxsnn_eqx.<...>.tasks.<...>``); ``jaxsnn-eqx train yinyang --method METHOD --help``
lists the task's flags with the defaults that method uses; ``jaxsnn-eqx plot RUN_DIR`` draws
every figure of a run from its saved files (into ``RUN_DIR/figures``), ``jaxsnn-eqx plot RUN_DIR
RUN_DIR ...`` the training curves of several runs in one figure; ``jaxsnn-eqx methods`` lists
the training methods.

User errors (a bad flag, a run folder that would be overwritten, a missing results.json,
matplotlib not installed) end in one line on stderr and exit status 2; Ctrl-C during training
ends in one line with the last saved epoch and the command that resumes the run (exit status
130); set ``JAXSNN_EQX_TRACEBACK=1`` to see the full traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import UserError
from .tasks import registry
from .tasks.args import Parser
from .tasks.entry import guarded, task_entry

__all__ = ["main", "task_entry", "UserError"]


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="jaxsnn-eqx", description=__doc__.split("\n\n")[0],
        epilog="Run 'jaxsnn-eqx train yinyang|digits --method METHOD --help' for a method's "
               "flags.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    datasets = registry.datasets()
    tr = sub.add_parser(
        "train", add_help=False, help="train a task; its flags follow (see --method M --help)",
        description="Train a task. " + " ".join(
            f"Methods for {dataset}: " + "; ".join(
                f"{name}: {task.description}"
                for name, task in registry.methods(dataset).items()) + "."
            for dataset in datasets))
    tr.add_argument("dataset", choices=datasets, nargs="?", help="the dataset")
    tr.add_argument("--method", choices=list(dict.fromkeys(
                        m for d in datasets for m in registry.methods(d))),
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


def _list_methods() -> int:
    """``jaxsnn-eqx methods``: every registered method with its ``python -m`` entry."""
    for dataset in registry.datasets():
        print(f"{dataset} (jaxsnn-eqx train {dataset} --method METHOD):")
        for name, task in registry.methods(dataset).items():
            print(f"  {name:18s} {task.description}\n  {'':18s} python -m {task.entry}")
    return 0


def _train(train_parser: argparse.ArgumentParser, args: argparse.Namespace,
           rest: list[str]) -> int:
    """``jaxsnn-eqx train DATASET --method METHOD ...``: the registered task's ``main``."""
    if args.dataset is None:
        if args.help:
            train_parser.print_help()
            return 0
        train_parser.error("the dataset is required (e.g. 'jaxsnn-eqx train yinyang' or "
                           "'jaxsnn-eqx train digits')")
    methods = registry.methods(args.dataset)
    if args.method is None:
        args.method = registry.default_method(args.dataset)
    if args.method not in methods:
        train_parser.error(f"method {args.method!r} is not available for {args.dataset} "
                           f"(choose from {', '.join(methods)})")
    task = methods[args.method]
    try:
        module = importlib.import_module(task.module)
    except ModuleNotFoundError as err:
        if err.name == task.module:
            raise UserError(f"method {args.method!r} is not available in this version") from err
        raise
    prog, sys.argv[0] = sys.argv[0], f"jaxsnn-eqx train {args.dataset} --method {args.method}"
    try:  # argparse names the program after sys.argv[0] in usage and errors
        module.main(rest + (["--help"] if args.help else []), **task.kwargs)
    finally:
        sys.argv[0] = prog
    return 0


def _run(argv: list[str]) -> int:
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if args.command in ("methods", "plot") and rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "methods":
        return _list_methods()
    if args.command == "plot":
        return _plot(args.run_dir, args.out)
    train_parser = parser._subparsers._group_actions[0].choices["train"]
    return _train(train_parser, args, rest)


def _plot(run_dirs: list[str], out: str | None) -> int:
    """``jaxsnn-eqx plot``: `tasks.figures.run_figures` of one run, `plot_training` of
    several."""
    from pathlib import Path

    from .tasks import figures

    if len(run_dirs) == 1:
        paths = figures.run_figures(run_dirs[0], out)
    else:
        if out is not None and Path(out).suffix.lower() not in (".png", ".pdf", ".svg"):
            out = str(Path(out) / "training.png")
        paths = [figures.plot_training(run_dirs, out=out)]
    for path in paths:
        print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the console script with ``argv`` (default: ``sys.argv[1:]``); returns the exit
    status (argparse errors exit with 2 themselves)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return guarded(_run, argv, command=["jaxsnn-eqx", *argv])


if __name__ == "__main__":
    raise SystemExit(main())
