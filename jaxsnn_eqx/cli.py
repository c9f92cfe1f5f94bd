"""The ``jaxsnn-eqx`` console script.

``jaxsnn-eqx train yinyang --method METHOD [task flags]`` runs a task (the same as
``python -m jaxsnn_eqx.<...>.tasks.<...>``); ``jaxsnn-eqx plot RUN_DIR`` draws a finished run from
its saved files; ``jaxsnn-eqx methods`` lists the training methods.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main", "METHODS"]

# method -> (task module, extra argv)
METHODS: dict[str, tuple[str, list[str]]] = {
    "discrete": ("jaxsnn_eqx.tasks.yinyang_discrete", []),
    "analytical": ("jaxsnn_eqx.tasks.yinyang_analytical", []),
    "eventprop": ("jaxsnn_eqx.tasks.yinyang_eventprop", []),
    "eventprop-layered": ("jaxsnn_eqx.tasks.yinyang_eventprop", ["--layered"]),
    "hardware": ("jaxsnn_eqx.tasks.yinyang_hardware", []),
}
DATASETS = ("yinyang",)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="jaxsnn-eqx", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train a task; task flags follow (see --method M --help)",
                        add_help=False)
    tr.add_argument("dataset", choices=DATASETS)
    tr.add_argument("--method", choices=sorted(METHODS), default="analytical")
    pl = sub.add_parser("plot", help="plot a finished run from its results.json")
    pl.add_argument("run_dir", nargs="+", help="run folder(s) holding results.json")
    pl.add_argument("--out", default=None, help="image file (default: RUN_DIR/training.png)")
    sub.add_parser("methods", help="list the training methods")
    args, rest = parser.parse_known_args(argv)

    if args.command == "methods":
        for name, (module, extra) in sorted(METHODS.items()):
            print(f"{name:20s} python -m {module} {' '.join(extra)}".rstrip())
        return 0
    if args.command == "plot":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        from . import plot

        path = plot.plot_training(args.run_dir, out=args.out)
        print(f"wrote {path}")
        return 0
    module_name, extra = METHODS[args.method]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name == module_name:
            print(f"jaxsnn-eqx: method {args.method!r} is not available in this version.",
                  file=sys.stderr)
            return 2
        raise
    module.main(extra + rest)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
