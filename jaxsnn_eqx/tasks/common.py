"""Pieces every task shares: the common command-line flags, the closing summary, and loading a
saved run (`load_run`) with what its figures need from the task (`FigureHooks`)."""

from __future__ import annotations

import argparse
import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import data
from ..spikes import Spikes
from ..train import fit, make_optimizer, write_results

__all__ = [
    "base_parser", "finish", "fit_task", "run_yinyang", "run_splits", "scale_updates",
    "unit_factors", "positive_int", "positive_float", "TaskParser", "load_run", "task_of", "Run",
    "FigureHooks", "Activity", "draw_figures", "event_network", "event_outputs", "time_loss",
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
        extend=getattr(args, "extend", False), devices=getattr(args, "devices", 1) or None,
        **fit_kwargs,
    )
    results["total_seconds"] = time.perf_counter() - t0
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
    k_model, k_shuffle = jax.random.split(jax.random.PRNGKey(args.seed))
    model = build_model(k_model, args)
    loss_fn, predict_fn = make_fns(args)
    steps_per_epoch = sets["train"][1].shape[0] // args.batch_size
    base = make_optimizer(args.lr, args.epochs, steps_per_epoch,
                          weight_decay=getattr(args, "weight_decay", 0.0),
                          clip_norm=getattr(args, "clip_norm", None),
                          final_lr_fraction=getattr(args, "final_lr_fraction", 0.05))
    optimizer = optax.chain(base, scale_updates(step_factors(model, args)))
    return fit_task(args, model, loss_fn, predict_fn, sets, optimizer, k_shuffle, t0,
                    **fit_kwargs)


def add_ttfs_arguments(group, *, hidden: int, n_in: int, init_hidden: tuple[float, float],
                       init_out: tuple[float, float], t_late_help: str) -> None:
    """The flags of a first-spike-time event network (`event_network`, `time_loss`): neuron,
    latency code, weight init, loss and weight bumping, shared by the event tasks; ``hidden``,
    ``init_hidden``, ``init_out`` are the task's defaults, ``n_in`` its input count (for the
    help), ``t_late_help`` the meaning of ``--t-late`` in its encoding."""
    g = group
    g.add_argument("--hidden", type=positive_int, default=hidden, help="hidden LIF neurons")
    g.add_argument("--tau-syn", type=positive_float, default=5e-3, help="synaptic tau (s)")
    g.add_argument("--ratio", type=positive_float, default=2.0, help="tau_mem / tau_syn")
    g.add_argument("--v-th", type=positive_float, default=1.0, help="threshold (V), v_leak = 0")
    g.add_argument("--t-late", type=positive_float, default=None,
                   help=f"{t_late_help} (default: 2 tau_syn)%(default).0s")
    g.add_argument("--bias-time", type=float, default=None,
                   help="bias input spike time (s) (default: 0.9 tau_syn)%(default).0s")
    g.add_argument("--t-max", type=positive_float, default=None,
                   help="simulated duration (s) (default: 4 t_late)%(default).0s")
    g.add_argument("--init-hidden", type=float, nargs=2, default=init_hidden,
                   metavar=("MEAN", "STD"),
                   help=f"hidden weights ~ N(MEAN, STD^2) w1 / {n_in} (w1: threshold-reaching "
                        "weight)")
    g.add_argument("--init-out", type=float, nargs=2, default=init_out, metavar=("MEAN", "STD"),
                   help="output weights ~ N(MEAN, STD^2) w1 / hidden")
    g.add_argument("--loss", choices=("mse", "ce"), default="mse",
                   help="mse: squared error of the output first-spike times to target times "
                        "(--t-correct for the label, --t-wrong for the others; keeps every "
                        "output firing); ce: cross entropy of softmax(-t / tau_loss)")
    g.add_argument("--t-correct", type=positive_float, default=None,
                   help="target time of the correct output (s) (default: 1.5 tau_syn)%(default).0s")
    g.add_argument("--t-wrong", type=positive_float, default=None,
                   help="target time of the wrong outputs (s) (default: 2.5 tau_syn)%(default).0s")
    g.add_argument("--tau-loss", type=positive_float, default=None,
                   help="softmax temperature of the TTFS cross entropy (s) (default: tau_syn)"
                        "%(default).0s")
    g.add_argument("--alpha", type=float, default=3e-3,
                   help="weight of the early-correct-spike term alpha (exp(t/tau_mem) - 1)")
    g.add_argument("--bump", type=float, default=1e-3,
                   help="weight bumping: strength of the push that raises the input weights of "
                        "neurons silent in a batch (0: off)")


def event_network(key: jax.Array, args: argparse.Namespace, n_in: int, n_out: int):
    """A `Sequential` of two single-spike event layers ``n_in``-``args.hidden``-``n_out``:
    `event.LIF` (``args.gradient == "analytical"``: autodiff through the spike times) or
    `event.EventPropLIF`; weights ``~ N(MEAN, STD^2) w1 / fan-in`` with ``(MEAN, STD)`` =
    ``args.init_hidden`` and ``args.init_out`` (``w1``: the threshold-reaching weight)."""
    from .. import event
    from ..containers import Sequential

    k1, k2 = jax.random.split(key)
    p = event.LIFParams(tau_mem=args.tau_mem, tau_syn=args.tau_syn, v_th=args.v_th)
    common = dict(params=p, t_max=args.t_max, single_spike=True)
    layer = event.LIF if args.gradient == "analytical" else event.EventPropLIF
    hidden = layer(n_in, args.hidden, max_spikes=args.hidden, key=k1,
                   init_mean=args.init_hidden[0], init_std=args.init_hidden[1], **common)
    out = layer(args.hidden, n_out, max_spikes=n_out, key=k2, init_mean=args.init_out[0],
                init_std=args.init_out[1], **common)
    return Sequential([hidden, out])


def event_outputs(model, spikes: Spikes, n_out: int) -> tuple[Spikes, jax.Array]:
    """(hidden spikes, output first-spike times ``(n_out,)``) of one sample of an
    `event_network`."""
    from ..event.losses import first_spike_times

    hidden = model.layers[0](spikes)
    return hidden, first_spike_times(model.layers[1](hidden), n_out)


def time_loss(args: argparse.Namespace, t: jax.Array, y: jax.Array, n_out: int) -> jax.Array:
    """Mean over the batch of the output first-spike-time loss ``args.loss``: ``"mse"``, the
    squared error (in ``tau_syn``) to ``args.t_correct`` for the label and ``args.t_wrong`` for
    the others, or ``"ce"``, the cross entropy of ``softmax(-t / args.tau_loss)`` plus ``alpha
    (exp(t_label / tau_mem) - 1)``; silent outputs count as firing at ``args.t_max``."""
    from ..event import losses as L

    if args.loss == "mse":
        target = jnp.where(jax.nn.one_hot(y, n_out) > 0, args.t_correct, args.t_wrong)
        per = jax.vmap(lambda t, g: L.mse_times(t, g, t_silent=args.t_max,
                                                scale=args.tau_syn))(t, target)
    else:
        per = jax.vmap(lambda t, y: L.ttfs_cross_entropy(
            t, y, tau=args.tau_loss, t_silent=args.t_max, alpha=args.alpha,
            tau_reg=args.tau_mem))(t, y)
    return jnp.mean(per)


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
    if getattr(args, "plot", False) and args.out is not None and jax.process_index() == 0:
        draw_figures(args.out)
    return results


def draw_figures(run_dir: str | Path) -> list[Path]:
    """`plot.run_figures` of a run that just finished, as the last step of a task: without
    matplotlib one line with the install hint; any other failure one line (the run is saved,
    ``jaxsnn-eqx plot RUN_DIR`` tries again). Returns the figures written."""
    from .. import plot

    try:
        paths = plot.run_figures(run_dir)
    except ModuleNotFoundError as err:
        if err.name != "matplotlib":
            raise
        print(f"figures: not drawn, matplotlib is not installed ({plot.INSTALL_HINT})")
        return []
    except Exception as err:  # noqa: BLE001 - the trained run is saved; say why, go on
        print(f"figures: not drawn ({type(err).__name__}: {err}); the run is saved, try "
              f"'jaxsnn-eqx plot {run_dir}'")
        return []
    where = paths[0].parent if paths else Path(run_dir) / "figures"
    print(f"figures: {len(paths)} in {where}")
    return paths


def dump(results: dict) -> str:
    return json.dumps(results, indent=2)


def announce(args: argparse.Namespace, what: str, **settings) -> None:
    """Print, before training starts, what runs: ``what`` (method and network) and the key
    settings (``settings`` plus seed, epochs, batch size, learning rate and output folder)."""
    common = dict(seed=args.seed, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                  n_train=args.n_train, out=args.out)
    parts = [f"{k.replace('_', '-')}={v}" for k, v in {**settings, **common}.items()]
    print(f"{what}\n  " + " ".join(parts), flush=True)


# ----------------------------------------------------------------------------- saved runs


class Activity(NamedTuple):
    """One sample's activity, for the figures of a run.

    Attributes:
        spikes: population name -> ``(times (s), neuron indices, population size)``, in order
            (inputs first).
        t_max: simulated duration (s).
        traces: population name -> membrane potentials ``(time, n)`` (V), one row per ``dt``;
            empty for event-based networks.
        dt: time step of ``traces`` (s).
        v_th: threshold of the spiking neurons (V), for the traces.
    """

    spikes: dict[str, tuple[np.ndarray, np.ndarray, int]]
    t_max: float
    traces: dict[str, np.ndarray] = {}
    dt: float | None = None
    v_th: float | None = None


@dataclass(frozen=True)
class FigureHooks:
    """What the figures of a run need from its task, bound to the run's settings
    (``figure_hooks(config)`` of each task module).

    Attributes:
        kind: ``"event"`` (classes read from output first-spike times) or ``"discrete"``
            (from the readout's maximum membrane potential).
        encode: points ``(n, 2)`` -> the model's batched input.
        readout: ``(model, X, key) -> (n, 3)`` per class, the value the class is read from.
        readout_label: axis label of ``readout``.
        predict: ``readout`` values ``(n, 3)`` -> classes ``(n,)``.
        record: ``(model, x, key) -> arrays`` of one (unbatched) sample, jit-able (it is
            compiled together with ``readout``).
        activity: ``(record, x) -> Activity``: the record as the figures show it.
        weights: ``model -> {projection name: weights}`` (only the trained, unmasked ones).
        no_forward: why the model cannot be run here (the figures that need forward passes
            are then not drawn); ``None``: it can.
        test_set: ``() -> (x, y)``: the run's raw test inputs (what ``encode`` takes) and
            labels; ``None``: the Yin-Yang test split of the run's seed and ``n_test``.
        class_names: one name per class; ``None``: Yin-Yang's.
        decision_map: whether the inputs are points of the unit square (the decision map is
            drawn).
    """

    kind: str
    encode: Callable[[jax.Array], Any]
    readout: Callable[[Any, Any, jax.Array], jax.Array]
    readout_label: str
    predict: Callable[[jax.Array], jax.Array]
    record: Callable[[Any, Any, jax.Array], Any]
    activity: Callable[[Any, Any], Activity]
    weights: Callable[[Any], dict[str, np.ndarray]]
    no_forward: str | None = None
    test_set: Callable[[], tuple[Any, jax.Array]] | None = None
    class_names: tuple[str, ...] | None = None
    decision_map: bool = True


def spike_list(spikes: Spikes, first: int = 0, n: int | None = None
               ) -> tuple[np.ndarray, np.ndarray, int]:
    """``(times, indices - first, n)`` of the events of neurons ``first .. first + n - 1`` of one
    (unbatched) spike list, for a raster."""
    t, i = np.asarray(spikes.time), np.asarray(spikes.idx)
    n = int(i.max(initial=-1)) + 1 - first if n is None else n
    keep = np.isfinite(t) & (i >= first) & (i < first + n)
    return t[keep], i[keep] - first, n


def dense_spike_list(z: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray, int]:
    """``(times, indices, n)`` of a dense raster ``z: (time, n)`` (nonzero = spike in a bin)."""
    step, idx = np.nonzero(np.asarray(z))
    return step * dt, idx, int(np.shape(z)[-1])


def _namespace(config: dict) -> argparse.Namespace:
    return argparse.Namespace(**config)


class Run(NamedTuple):
    """A saved run, loaded by `load_run`.

    Attributes:
        dir: the run folder.
        config: the task's settings (``results.json["config"]``).
        results: the whole ``results.json``.
        model: the saved ``model.eqx`` in a skeleton rebuilt from ``config``; ``None`` where
            that cannot be done (``missing`` says why).
        task: the task module that trained the run (``None``: not known from ``config``).
        finished: whether the run finished (``manifest.json``; ``True`` without one).
        missing: why ``model`` is ``None`` (one line), else ``None``.
    """

    dir: Path
    config: dict
    results: dict
    model: Any
    task: Any
    finished: bool
    missing: str | None


def task_of(config: dict):
    """The task module that wrote a run with ``config`` (``results.json["config"]``): the event
    task when ``method`` names one of its methods, the hardware task when there is a
    ``backend``, the discrete task when there is a ``dt``, the digits or SHD task when
    ``dataset`` is ``"digits"`` or ``"shd"``; ``None`` otherwise."""
    from . import yinyang_event

    if config.get("dataset") in ("digits", "shd"):
        return importlib.import_module(f"{__package__}.{config['dataset']}")
    if config.get("method") in yinyang_event.METHOD_SETTINGS:
        return yinyang_event
    if "backend" in config:
        return importlib.import_module(f"{__package__}.yinyang_hardware")
    if "dt" in config and "recurrent" in config:
        return importlib.import_module(f"{__package__}.yinyang_discrete")
    return None


def _cast_leaf(f, like):
    """Deserialise a leaf as `eqx.default_deserialise_filter_spec` does, in ``like``'s dtype (a
    run saved in float32 loads in a float64 session and back)."""
    out = eqx.default_deserialise_filter_spec(f, like)
    if isinstance(like, jax.Array | jax.ShapeDtypeStruct) and out.dtype != like.dtype:
        out = jnp.asarray(out, like.dtype)
    return out


def load_run(run_dir: str | Path) -> Run:
    """Load a run folder: its ``results.json``, its task (`task_of`) and ``model.eqx`` in the
    model the task builds from the saved config (``model_like(config)`` of the task module; no
    training, no data). Whatever cannot be loaded is named in ``Run.missing``; a folder without
    ``results.json`` raises.

    Raises:
        FileNotFoundError: the folder or its ``results.json`` is missing.
        ValueError: ``results.json`` is not a run's report.
    """
    from ..plot import _read_runs

    run_dir = Path(run_dir)
    (_, results), = _read_runs([run_dir], "load_run")
    config = results.get("config") if isinstance(results.get("config"), dict) else {}
    finished = True
    manifest = run_dir / "manifest.json"
    if manifest.is_file():
        try:
            finished = bool(json.loads(manifest.read_text()).get("finished", True))
        except ValueError:
            pass
    task = task_of(config)
    model, missing = None, None
    if task is None:
        missing = ("results.json's config names no known task (the event, discrete or hardware "
                   "Yin-Yang task, or a digits task)")
    elif not (run_dir / "model.eqx").is_file():
        missing = (f"the model-based figures need {run_dir / 'model.eqx'}, which the run has "
                   f"not written yet")
    else:
        try:
            like = eqx.filter_eval_shape(task.model_like, config)  # shapes only: no init
            model = eqx.tree_deserialise_leaves(run_dir / "model.eqx", like,
                                                filter_spec=_cast_leaf)
        except Exception as err:  # noqa: BLE001 - any failure: say it, plot what can be
            first = str(err).splitlines()[0] if str(err) else ""
            missing = (f"cannot rebuild the model from the saved config "
                       f"({type(err).__name__}: {first})")
    return Run(run_dir, config, results, model, task, finished, missing)
