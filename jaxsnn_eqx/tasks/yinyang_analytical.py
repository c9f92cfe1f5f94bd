"""Yin-Yang, event-based 5-120-3 network with analytical gradients (autodiff through the exact
spike times): `tasks.yinyang_event` with ``--gradient analytical``."""

from __future__ import annotations

from . import yinyang_event

__all__ = ["main"]


def main(argv: list[str] | None = None) -> dict:
    """Run the task; ``argv`` takes every flag of `tasks.yinyang_event` (see ``--help``) except
    a contradicting ``--gradient``. Defaults: `yinyang_event.DEFAULTS`, output folder
    ``runs/yinyang_analytical``."""
    return yinyang_event.main(argv, method="analytical")


if __name__ == "__main__":
    from .entry import task_entry

    task_entry(main)
