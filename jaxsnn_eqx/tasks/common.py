"""Former home of the shared task pieces, kept so old imports work: every name here is a
re-export of the module that owns it now (`args`, `recipe`, `event_net`, `runs`, `figures`).
New code imports from those."""

from __future__ import annotations

from .args import TaskParser, announce, base_parser, config_of, positive_float, positive_int
from .event_net import add_ttfs_arguments, event_network, event_outputs, time_loss
from .figures import draw_figures
from .recipe import dump, finish, fit_task, run_splits, run_yinyang, scale_updates, unit_factors
from .runs import Activity, FigureHooks, Run, dense_spike_list, load_run, spike_list, task_of

__all__ = [
    "base_parser", "finish", "fit_task", "run_yinyang", "run_splits", "scale_updates",
    "unit_factors", "positive_int", "positive_float", "TaskParser", "load_run", "task_of", "Run",
    "FigureHooks", "Activity", "draw_figures", "event_network", "event_outputs", "time_loss",
    "add_ttfs_arguments", "announce", "config_of", "dense_spike_list", "dump", "spike_list",
]
