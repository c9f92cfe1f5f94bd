"""Yin-Yang, event-based 5-120-3 network with analytical gradients (autodiff through the exact
spike times): `tasks.yinyang_event` with ``--gradient analytical``."""

from __future__ import annotations

from . import yinyang_event

__all__ = ["main"]

DEFAULTS = dict(out="runs/yinyang_analytical")  # 150 epochs at lr 1e-2: LAYERED_DEFAULTS


def main(argv: list[str] | None = None) -> dict:
    """Run the task; ``argv`` takes every flag of `tasks.yinyang_event` (see ``--help``)."""
    return yinyang_event.main(["--gradient", "analytical", *(argv or [])], **DEFAULTS)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
