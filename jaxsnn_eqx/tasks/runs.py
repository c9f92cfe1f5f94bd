"""A saved run folder seen from the tasks: reading it (`read_runs`, `load_run`: the results
with `train.load_results`, the model with `train.load_model` in the skeleton the task that wrote
it rebuilds from the saved config, found through `registry.task_of`), and what the figures of a
run need from its task (`FigureHooks`, `Activity`, `spike_list`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..spikes import Spikes
from ..train import load_model, load_results
from . import registry

__all__ = ["RUN_FOLDER", "read_runs", "load_run", "task_of", "Run", "FigureHooks", "Activity",
           "spike_list", "dense_spike_list"]

RUN_FOLDER = (
    "a run folder is the --out folder of a training run and holds results.json (config and "
    "per-epoch metrics), model.eqx and opt_state.eqx"
)


def read_runs(run_dirs, who: str = "plot_training") -> list[tuple[Path, dict]]:
    """``(folder, results.json)`` of each run folder; ``who`` names the caller in the errors.

    Raises:
        FileNotFoundError: a folder or its ``results.json`` is missing (one line naming it).
        ValueError: no folders, or a ``results.json`` that is not a training run's report.
    """
    if isinstance(run_dirs, str | Path):
        run_dirs = [run_dirs]
    run_dirs = [Path(d) for d in run_dirs]
    if not run_dirs:
        raise ValueError(f"{who}: run_dirs is empty; pass at least one run folder.")
    runs = []
    for d in run_dirs:
        if not d.is_dir():
            raise FileNotFoundError(f"{who}: run folder {str(d)!r} does not exist; "
                                    f"{RUN_FOLDER}.")
        if not (d / "results.json").is_file():
            raise FileNotFoundError(f"{who}: no results.json in {str(d)!r}; "
                                    f"{RUN_FOLDER}.")
        try:
            res = load_results(d)
        except json.JSONDecodeError as err:
            raise ValueError(f"{who}: {str(d / 'results.json')!r} is not valid JSON "
                             f"({err}).") from None
        if not isinstance(res, dict) or not isinstance(res.get("epochs", []), list):
            raise ValueError(f"{who}: {str(d / 'results.json')!r} is not a results.json of a "
                             f"training run (expected an object with an 'epochs' list).")
        runs.append((d, res))
    return runs


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
        weight_unit: the x label of the weight histograms, when ``weights`` returns other
            units than the model's (V s), e.g. a chip's integer synapse weights.
        weight_integer: whether ``weights`` returns integers (one histogram bin each).
        noise: for a noisy backend, which noise draw the forward passes show (printed on the
            figures that use them); ``None``: deterministic.
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
    weight_unit: str | None = None
    weight_integer: bool = False
    noise: str | None = None


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
    """The task module that wrote a run with ``config`` (``results.json["config"]``), from the
    task registry (`registry.task_of`): the event task when ``method`` names one of its
    methods, the hardware task when there is a ``backend``, the discrete task when there is a
    ``dt``, the digits or SHD task when ``dataset`` is ``"digits"`` or ``"shd"``; ``None``
    otherwise."""
    return registry.task_of(config)


def _cast(model, like):
    """``model`` with every array leaf in ``like``'s dtype (a run saved in float32 loads in a
    float64 session and back)."""
    def cast(x, ref):
        if isinstance(ref, jax.Array | jax.ShapeDtypeStruct) and x.dtype != ref.dtype:
            return jnp.asarray(x, ref.dtype)
        return x

    return jax.tree.map(cast, model, like)


def _finished(run_dir: Path) -> bool:
    """Whether ``manifest.json`` says the run finished (``True`` without a readable one)."""
    manifest = run_dir / "manifest.json"
    if manifest.is_file():
        try:
            return bool(json.loads(manifest.read_text()).get("finished", True))
        except ValueError:
            pass
    return True


def load_run(run_dir: str | Path) -> Run:
    """Load a run folder: its ``results.json``, its task (`task_of`) and ``model.eqx`` in the
    model the task builds from the saved config (``model_like(config)`` of the task module; no
    training, no data). Whatever cannot be loaded is named in ``Run.missing``; a folder without
    ``results.json`` raises.

    Raises:
        FileNotFoundError: the folder or its ``results.json`` is missing.
        ValueError: ``results.json`` is not a run's report.
    """
    run_dir = Path(run_dir)
    (_, results), = read_runs([run_dir], "load_run")
    config = results.get("config") if isinstance(results.get("config"), dict) else {}
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
            model = _cast(load_model(run_dir, like), like)
        except Exception as err:  # noqa: BLE001 - any failure: say it, plot what can be
            first = str(err).splitlines()[0] if str(err) else ""
            missing = (f"cannot rebuild the model from the saved config "
                       f"({type(err).__name__}: {first})")
    return Run(run_dir, config, results, model, task, _finished(run_dir), missing)
