"""Yin-Yang, event-based network trained by EventProp: one masked recurrent population emulating
5-120-3 (default) or, with ``--layered``, two `event.EventPropLIF` layers:
`tasks.yinyang_event` with ``--gradient eventprop``."""

from __future__ import annotations

from . import yinyang_event

__all__ = ["main"]


def main(argv: list[str] | None = None) -> dict:
    """Run the task; ``argv`` takes every flag of `tasks.yinyang_event` (see ``--help``)."""
    return yinyang_event.main(["--gradient", "eventprop", *(argv or [])])


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
