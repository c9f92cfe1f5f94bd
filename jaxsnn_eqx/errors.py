"""Error types shared by the console script and the tasks (imports nothing from the package)."""

from __future__ import annotations

__all__ = ["UserError", "USER_ERRORS", "TrainingInterrupted", "SilentOutputWarning"]


class UserError(Exception):
    """An error caused by the command line or the files it names: printed as one line."""


# Exceptions that are about the user's input, not a bug: the console script and the task entry
# points print them as one line (exit status 2).
USER_ERRORS: tuple[type[BaseException], ...] = (
    UserError, FileNotFoundError, FileExistsError, NotADirectoryError, ModuleNotFoundError)


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C while a task trained into the run folder ``out`` (``None``: saves nothing): the
    console script and the task entry points print one line with the last saved epoch and
    the command that resumes the run (exit status 130)."""

    def __init__(self, out=None):
        super().__init__(out)
        self.out = out


class SilentOutputWarning(UserWarning):
    """No output neuron fired for any sample of a training batch: a first-spike-time loss has
    no gradient then (often times in the wrong unit: the package's times are in seconds)."""
