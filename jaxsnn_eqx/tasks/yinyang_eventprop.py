"""Yin-Yang, event-based network trained by EventProp: one masked recurrent population emulating
5-120-3 (default) or, with ``--layered``, two `event.EventPropLIF` layers:
`tasks.yinyang_event` with ``--gradient eventprop``."""

from __future__ import annotations

from . import yinyang_event

__all__ = ["main"]


def main(argv: list[str] | None = None) -> dict:
    """Run the task; ``argv`` takes every flag of `tasks.yinyang_event` (see ``--help``) except
    a contradicting ``--gradient``. Output folder: ``runs/yinyang_eventprop`` or, with
    ``--layered``, ``runs/yinyang_eventprop_layered``."""
    argv = list(argv or [])
    layered = yinyang_event._explicit(argv).layered
    return yinyang_event.main(argv, method="eventprop-layered" if layered else "eventprop")


if __name__ == "__main__":
    from .entry import task_entry

    task_entry(main)
