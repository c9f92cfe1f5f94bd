"""Running a task from the command line: user errors as one line on stderr and exit status 2
(``JAXSNN_EQX_TRACEBACK=1`` shows the traceback instead); Ctrl-C as one line with the last
saved epoch and the command that resumes the run, exit status 130. Shared by `jaxsnn_eqx.cli`
and the ``python -m`` entry points of the tasks."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

from ..errors import USER_ERRORS

__all__ = ["user_error_types", "guarded", "task_entry", "interrupted_message",
           "resume_command", "INTERRUPTED"]

INTERRUPTED = 130  # the exit status of a run stopped by Ctrl-C (128 + SIGINT), as shells use


def user_error_types() -> tuple[type[BaseException], ...]:
    """`errors.USER_ERRORS` plus the run-folder errors of `train`, its argument errors
    (`train.FitArgumentError`: settings `fit` cannot train with) and its failed model checks
    (`train.ModelCheckError`: e.g. a spike buffer too small; when it defines them)."""
    from .. import train

    extra = tuple(getattr(train, name) for name in ("RunFolderError", "CheckpointError",
                                                    "ModelCheckError", "FitArgumentError")
                  if isinstance(getattr(train, name, None), type))
    return USER_ERRORS + extra


def resume_command(command: list[str]) -> list[str]:
    """``command`` (the program and its arguments) to resume the run it started: without
    ``--overwrite``, with ``--resume``."""
    argv = [a for a in command if a != "--overwrite"]
    return argv if "--resume" in argv else [*argv, "--resume"]


def interrupted_message(err: KeyboardInterrupt, command: list[str] | None) -> str:
    """The one line for Ctrl-C: the run folder's last saved epoch (its ``manifest.json``) and
    the exact command that continues the run (``command``: how it was started; ``None``: the
    same command with ``--resume``)."""
    out = getattr(err, "out", None)
    if out is None:
        return "jaxsnn-eqx: interrupted (no run folder was being trained)"
    epoch = planned = None
    finished = False
    try:
        manifest = json.loads((Path(out) / "manifest.json").read_text())
        epoch, planned = int(manifest["epoch"]), manifest["fit"]["epochs"]
        finished = bool(manifest.get("finished"))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    if finished:
        plot = shlex.join(["jaxsnn-eqx", "plot", str(out)])
        return (f"jaxsnn-eqx: interrupted after training; {out} holds the finished run "
                f"({epoch} epochs); draw its figures with: {plot}")
    if not epoch:
        again = shlex.join(command) if command else "the same command"
        return (f"jaxsnn-eqx: interrupted before the first epoch was saved in {out}; start "
                f"again with: {again}")
    resume = (shlex.join(resume_command(command)) if command
              else "the same command with --resume")
    return (f"jaxsnn-eqx: interrupted; {out} holds epoch {epoch} of {planned}; continue with: "
            f"{resume}")


def guarded(fn, *args, command: list[str] | None = None, **kwargs) -> int:
    """``fn(*args, **kwargs)``; a user error becomes one line on stderr and exit status 2,
    Ctrl-C one line (`interrupted_message`, with ``command``: how the run was started) and
    exit status 130."""
    try:
        fn(*args, **kwargs)
        return 0
    except user_error_types() as err:
        if os.environ.get("JAXSNN_EQX_TRACEBACK"):
            raise
        print(f"jaxsnn-eqx: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        if os.environ.get("JAXSNN_EQX_TRACEBACK"):
            raise
        print(interrupted_message(err, command), file=sys.stderr, flush=True)
        return INTERRUPTED


def _module_command() -> list[str]:
    """``python -m MODULE`` of the running ``python -m`` entry point (``python SCRIPT`` when it
    was started as a file)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:
        return ["python", "-m", spec.name]
    return ["python", sys.argv[0]]


def task_entry(task_main, argv: list[str] | None = None, **kwargs) -> None:
    """What the ``python -m`` task modules run: ``task_main(argv, **kwargs)`` with the console
    script's handling of user errors and Ctrl-C; exits with its status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    raise SystemExit(guarded(task_main, argv, command=[*_module_command(), *argv], **kwargs))
