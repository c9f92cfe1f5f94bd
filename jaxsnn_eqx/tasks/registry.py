"""The task registry: every task of ``jaxsnn-eqx train DATASET --method METHOD``, with its entry
point, its ``python -m`` path and the loss it trains with, and which task wrote a saved run.

A task is a module of `jaxsnn_eqx.tasks` with ``main(argv, **kwargs)`` (trains, writes the run
folder) and, for the figures of a saved run, ``model_like(config)`` (the model skeleton rebuilt
from ``results.json["config"]``) and ``figure_hooks(config)`` (`runs.FigureHooks`). The registry
names the module (imported only when used, so reading it costs nothing); `register` adds a
method, `methods` lists a dataset's, `load` imports one, `task_of` finds the task of a saved
config.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType

__all__ = ["Task", "register", "recognise", "datasets", "methods", "load", "task_of",
           "default_loss", "default_method"]

_PACKAGE = __package__  # jaxsnn_eqx.tasks


@dataclass(frozen=True)
class Task:
    """One registered training method.

    Attributes:
        dataset: ``jaxsnn-eqx train DATASET``.
        method: ``--method METHOD``.
        module: the task module (``jaxsnn_eqx.tasks.<...>``).
        kwargs: keyword arguments of the module's ``main`` for this method.
        description: one line for ``jaxsnn-eqx methods`` and ``--help``.
        entry: the ``python -m`` command line that runs the same.
        loss: the kind of training loss when the saved config names none (``"time_mse"``,
            ``"cross_entropy"``; see `tasks.figures.loss_kind`).
    """

    dataset: str
    method: str
    module: str
    kwargs: dict = field(default_factory=dict)
    description: str = ""
    entry: str = ""
    loss: str = "unknown"


_TASKS: dict[str, dict[str, Task]] = {}
# (task module, config -> whether that module wrote it), in the order `task_of` asks them
_RECOGNISERS: list[tuple[str, Callable[[dict], bool]]] = []
# (config key only that module writes, module): a saved config's loss when it names none
_MARKERS: list[tuple[str, str]] = []


def register(dataset: str, method: str, module: str, description: str, entry: str, *,
             kwargs: dict | None = None, loss: str = "unknown") -> Task:
    """Add ``jaxsnn-eqx train DATASET --method METHOD``: ``module`` (relative to
    `jaxsnn_eqx.tasks`, e.g. ``"yinyang_event"``) runs it as ``main(argv, **kwargs)``."""
    task = Task(dataset, method, f"{_PACKAGE}.{module}", dict(kwargs or {}), description, entry,
                loss)
    _TASKS.setdefault(dataset, {})[method] = task
    return task


def recognise(module: str, matches: Callable[[dict], bool], marker: str | None = None) -> None:
    """Make `task_of` return ``module`` for saved configs where ``matches(config)`` (asked in the
    order of the calls); ``marker``: a config key only that module writes (see
    `default_loss`)."""
    _RECOGNISERS.append((f"{_PACKAGE}.{module}", matches))
    if marker is not None:
        _MARKERS.append((marker, f"{_PACKAGE}.{module}"))


def datasets() -> tuple[str, ...]:
    """The datasets, in the order they were registered."""
    return tuple(_TASKS)


def methods(dataset: str) -> dict[str, Task]:
    """The methods of ``dataset`` by name (a copy)."""
    return dict(_TASKS[dataset])


def default_method(dataset: str) -> str:
    """``analytical`` where the dataset has it, else its first method."""
    names = _TASKS[dataset]
    return "analytical" if "analytical" in names else next(iter(names))


def load(task: Task | str) -> ModuleType:
    """Import a task's module (a `Task` or a module name)."""
    return importlib.import_module(task.module if isinstance(task, Task) else task)


def task_of(config: dict) -> ModuleType | None:
    """The task module that wrote a run with ``config`` (``results.json["config"]``); ``None``
    when no registered task recognises it."""
    for module, matches in _RECOGNISERS:
        if matches(config):
            return load(module)
    return None


def default_loss(config: dict) -> str:
    """The kind of loss of the task that wrote ``config``, when the config names no loss: from
    ``config["method"]`` (a Yin-Yang method), else from a key only one task writes
    (``"unknown"`` when nothing tells)."""
    method = config.get("method")
    if isinstance(method, str) and method in _TASKS.get("yinyang", {}):
        return _TASKS["yinyang"][method].loss
    for key, module in _MARKERS:
        if key in config:
            return next((t.loss for ts in _TASKS.values() for t in ts.values()
                         if t.module == module), "unknown")
    return "unknown"


# ----------------------------------------------------------------------------- the tasks

register("yinyang", "discrete", "yinyang_discrete",
         "time-discrete recurrent LIF, surrogate gradients",
         "jaxsnn_eqx.discrete.tasks.yinyang", loss="cross_entropy")
register("yinyang", "analytical", "yinyang_event",
         "event-based LIF layers, exact gradients through the spike times",
         "jaxsnn_eqx.event.tasks.yinyang_analytical", kwargs={"method": "analytical"},
         loss="time_mse")
register("yinyang", "eventprop", "yinyang_event",
         "event-based masked recurrent LIF population, EventProp (the seed's task)",
         "jaxsnn_eqx.event.tasks.yinyang_event_prop", kwargs={"method": "eventprop"},
         loss="time_mse")
register("yinyang", "eventprop-layered", "yinyang_event",
         "event-based EventPropLIF layers, EventProp (the flagship)",
         "jaxsnn_eqx.event.tasks.yinyang_event_prop --layered",
         kwargs={"method": "eventprop-layered"}, loss="time_mse")
register("yinyang", "hardware", "yinyang_hardware",
         "emulated (or real) BrainScaleS-2 chip in the loop, EventProp",
         "jaxsnn_eqx.event.tasks.hardware.yinyang_mock", loss="time_mse")
register("digits", "analytical", "digits",
         "event-based LIF layers 65-100-10, exact gradients through the spike times",
         "jaxsnn_eqx.event.tasks.digits_analytical", kwargs={"method": "analytical"})
register("digits", "eventprop", "digits",
         "event-based EventPropLIF layers 65-100-10, EventProp",
         "jaxsnn_eqx.event.tasks.digits_event_prop", kwargs={"method": "eventprop"})
register("digits", "discrete", "digits",
         "time-discrete feed-forward LIF 65-200, LI readout, surrogate gradients",
         "jaxsnn_eqx.discrete.tasks.digits", kwargs={"method": "discrete"})
register("delay-patterns", "analytical", "delay_patterns",
         "temporal patterns told apart only by learned synaptic delays (accuracy with vs "
         "without delays)", "jaxsnn_eqx.tasks.delay_patterns")
register("shd", "eventprop", "shd",
         "event-based recurrent LIF 700-128 (many spikes each), first-spike readout of 20, "
         "EventProp", "jaxsnn_eqx.tasks.shd --method eventprop", kwargs={"method": "eventprop"})
register("shd", "discrete", "shd",
         "time-discrete recurrent LIF 700-128, LI readout (max over time), surrogate gradients",
         "jaxsnn_eqx.tasks.shd --method discrete", kwargs={"method": "discrete"})

_EVENT_METHODS = frozenset(m for m, t in _TASKS["yinyang"].items()
                           if t.module == f"{_PACKAGE}.yinyang_event")
recognise("digits", lambda c: c.get("dataset") == "digits")
recognise("shd", lambda c: c.get("dataset") == "shd")
recognise("yinyang_event", lambda c: c.get("method") in _EVENT_METHODS, marker="gradient")
recognise("yinyang_hardware", lambda c: "backend" in c, marker="backend")
recognise("yinyang_discrete", lambda c: "dt" in c and "recurrent" in c, marker="dt")
