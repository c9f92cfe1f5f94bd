"""The error type of `train`'s argument checks (`fit`, `evaluate`, `make_optimizer`)."""

from __future__ import annotations

__all__ = ["FitArgumentError"]


class FitArgumentError(ValueError):
    """An argument of `fit`, `evaluate` or `make_optimizer` that cannot work (a batch larger
    than the training set, a negative epoch count, more devices than exist, ...). A
    `ValueError`; its message names the argument and the fix, in one line, and the console
    script and the tasks print it as one line (exit status 2)."""
