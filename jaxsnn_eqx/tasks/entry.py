"""Running a task from the command line: user errors as one line on stderr and exit status 2
(``JAXSNN_EQX_TRACEBACK=1`` shows the traceback instead). Shared by `jaxsnn_eqx.cli` and the
``python -m`` entry points of the tasks."""

from __future__ import annotations

import os
import sys

from ..errors import USER_ERRORS

__all__ = ["user_error_types", "guarded", "task_entry"]


def user_error_types() -> tuple[type[BaseException], ...]:
    """`errors.USER_ERRORS` plus the run-folder errors of `train`, its argument errors
    (`train.FitArgumentError`: settings `fit` cannot train with) and its failed model checks
    (`train.ModelCheckError`: e.g. a spike buffer too small; when it defines them)."""
    from .. import train

    extra = tuple(getattr(train, name) for name in ("RunFolderError", "CheckpointError",
                                                    "ModelCheckError", "FitArgumentError")
                  if isinstance(getattr(train, name, None), type))
    return USER_ERRORS + extra


def guarded(fn, *args, **kwargs) -> int:
    """``fn(*args, **kwargs)``; a user error becomes one line on stderr and exit status 2."""
    try:
        fn(*args, **kwargs)
        return 0
    except user_error_types() as err:
        if os.environ.get("JAXSNN_EQX_TRACEBACK"):
            raise
        print(f"jaxsnn-eqx: error: {err}", file=sys.stderr)
        return 2


def task_entry(task_main, argv: list[str] | None = None, **kwargs) -> None:
    """What the ``python -m`` task modules run: ``task_main(argv, **kwargs)`` with the console
    script's handling of user errors; exits with its status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    raise SystemExit(guarded(task_main, argv, **kwargs))
