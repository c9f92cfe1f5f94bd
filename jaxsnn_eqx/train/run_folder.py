"""The run folder of `fit` (``out``): the manifest, atomic checkpoints, starting, resuming and
recovering after a crash; and `write_results`, `load_results`, `load_model`.

Files, rewritten after every epoch:

* ``manifest.json``: the commit record of the checkpoint: ``format`` (`MANIFEST_FORMAT`),
  ``library`` (name, version), ``epoch`` (epochs the checkpoint holds), ``finished``, ``fit``
  (``epochs``, ``batch_size``, ``n_train``, ``select``, ``with_key``, ``key``, ``devices``),
  ``config``, ``extended`` (earlier planned lengths, see ``extend``), ``history`` (the
  per-epoch metrics), ``device_history`` and ``files`` (SHA-256 and size of each checkpoint
  file).
* ``last_model.eqx``, ``opt_state.eqx``: model and optimizer state after the last epoch (resume).
* ``model.eqx``: the selected model (``select``), `eqx.tree_serialise_leaves`.
* ``results.json``: the report (config, per-epoch metrics, final test accuracy); not needed to
  resume.

Crash safety. Every file is written atomically (``NAME.tmp`` in the same folder, flush,
``os.fsync``, ``os.replace``), and one save runs in this order:

1. each changed checkpoint file to ``NAME.new``; fsync the folder;
2. ``manifest.json`` naming the new epoch and the new files' digests (the commit point); fsync;
3. ``NAME.new`` -> ``NAME`` for each; fsync the folder;
4. ``results.json``.

A crash before 2 leaves the previous manifest, whose files are untouched: resuming discards the
``.new`` files and repeats the epoch. A crash after 2 leaves every committed file either at
``NAME`` or at ``NAME.new`` (the digest tells which): resuming finishes step 3. A crash in 4
leaves the previous ``results.json`` (the next save or the resume rewrites it). So a folder is
resumable after a crash at any point, and a checkpoint file that is missing, truncated or
replaced is found by its digest. The first manifest (epoch 0, no files) is written once the
epoch has compiled, so a run killed in its first epoch can be resumed too; the last save marks
the manifest ``finished`` after testing.

Starting and resuming (``resume``, ``overwrite``, ``extend``; the CLI flags of the same names):

* A folder holding a run, finished or not, is never overwritten: starting again refuses and
  points to ``resume`` or ``overwrite``. ``overwrite`` deletes the run's files (the manifest
  first; other files in the folder stay) once the new run has compiled. A folder whose run has
  not completed an epoch holds nothing to lose and is started afresh without ``overwrite``.
* ``resume`` needs a manifest (a missing or empty folder is an error) and the same settings: the
  ``fit`` arguments recorded above and ``config``, except the keys in `IGNORED_ON_RESUME`; the
  error names each difference. ``epochs`` is one of them, since the learning-rate schedule
  depends on it. With ``extend``, a larger ``epochs`` is accepted; the remaining steps then
  follow the new schedule, so the result differs from an uninterrupted run of the new length.
* Resuming a finished run with the same settings trains nothing and tests the saved model again.
* A manifest written by another jaxsnn_eqx version is resumed with a warning.
* The device count (``devices``) may differ when resuming (the maths is the same; only the order
  of the gradient sum changes): ``device_history`` in the manifest and in ``results.json``
  records on how many devices each stretch of epochs ran.

With several processes only process 0 (the writer) writes; the others check the files.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import numpy as np

from ..version import __version__
from .sharding import is_writer

__all__ = [
    "RunFolder", "RunFolderError", "MANIFEST", "MANIFEST_FORMAT", "CHECKPOINTS", "RUN_FILES",
    "IGNORED_ON_RESUME", "FIT_KEYS", "atomic_write", "fsync_dir", "to_json", "write_results",
    "load_results", "load_model",
]

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
CHECKPOINTS = ("last_model.eqx", "opt_state.eqx", "model.eqx")
RUN_FILES = (MANIFEST, "results.json", *CHECKPOINTS)
#: ``config`` keys that do not change the result, so they may differ when resuming.
#: ``devices`` and the multi-host flags among them: the device count changes only the order of
#: the gradient sum (a change is recorded in ``device_history``).
IGNORED_ON_RESUME = frozenset({"out", "resume", "overwrite", "extend", "progress", "plot",
                               "devices", "coordinator", "num_processes", "process_id"})
#: The ``fit`` settings (``manifest["fit"]``) that must match to resume (``epochs`` may grow
#: with ``extend``).
FIT_KEYS = ("epochs", "batch_size", "n_train", "select", "with_key", "key")


class RunFolderError(ValueError):
    """A run folder that cannot be started, resumed or overwritten as asked; the message says
    why and what to do."""


# ----------------------------------------------------------------------------- bytes on disk


def json_default(o: Any) -> Any:
    """JSON form of arrays (lists), paths (strings) and anything else (its ``repr``)."""
    if isinstance(o, np.generic | jax.Array | np.ndarray):
        return np.asarray(o).tolist()
    if isinstance(o, Path):
        return str(o)
    return repr(o)


def to_json(obj: Any) -> Any:
    """``obj`` as it reads back from JSON (tuples become lists, paths strings, ...)."""
    return json.loads(json.dumps(obj, default=json_default))


def json_bytes(obj: Any) -> bytes:
    """``obj`` as indented JSON, UTF-8."""
    return json.dumps(obj, indent=2, default=json_default).encode()


def fsync_dir(folder: Path) -> None:
    """Make the renames in ``folder`` durable (skipped where a folder cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, sync_dir: bool = True) -> None:
    """Write ``data`` to ``path`` atomically: ``path.tmp`` in the same folder, flush + fsync,
    ``os.replace``; a crash leaves the old file or the new one, never a mix."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    if sync_dir:
        fsync_dir(path.parent)


def serialise(tree: Any) -> bytes:
    """``tree`` as `eqx.tree_serialise_leaves` writes it."""
    buf = io.BytesIO()
    eqx.tree_serialise_leaves(buf, tree)
    return buf.getvalue()


def digest(data: bytes) -> dict:
    """``{"sha256", "bytes"}`` of ``data``: a manifest's record of a checkpoint file."""
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def matches(path: Path, entry: dict) -> bool:
    """Whether the file at ``path`` has the size and SHA-256 that ``entry`` records."""
    if not path.is_file() or path.stat().st_size != entry["bytes"]:
        return False
    return hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]


def library() -> dict:
    """``{"name", "version"}`` of this library, as manifests record it."""
    return {"name": "jaxsnn_eqx", "version": __version__}


_MISSING = object()


def describe(value: Any) -> str:
    """``value`` as JSON for an error message (``(missing)`` for an absent key)."""
    return "(missing)" if value is _MISSING else json.dumps(value, default=json_default)


def plural_epochs(n: int) -> str:
    """``"1 epoch"``, ``"2 epochs"``."""
    return f"{n} epoch" + ("" if n == 1 else "s")


# ----------------------------------------------------------------------------- the folder


class RunFolder:
    """One run folder: its path, the manifest it holds (or will hold) and whether this process
    writes it (`is_writer`).

    `RunFolder.open` checks the folder before anything is compiled; `start` commits a new run's
    first manifest; `save` checkpoints after an epoch (``finished=True``: after testing);
    `recover` finishes a save that a crash interrupted; `load` reads a checkpoint file back.
    Every write goes through `atomic_write` and every rename of a new checkpoint file through
    `promote`, in the order of the module docstring.
    """

    def __init__(self, path: Path, manifest: dict, *, resumed: bool, writer: bool = True):
        self.path = Path(path)
        self.manifest = manifest
        self.resumed = resumed
        self.writer = writer

    # --------------------------------------------------------------- reading the folder

    def present(self) -> list[str]:
        """The run files (and their ``.new`` / ``.tmp`` leftovers) in the folder."""
        if not self.path.is_dir():
            return []
        names = [n + s for n in RUN_FILES for s in ("", ".new", ".tmp", ".new.tmp")]
        return [n for n in names if (self.path / n).exists()]

    def read_manifest(self) -> dict:
        """The folder's manifest, checked for the keys and the format this version reads.

        Raises:
            RunFolderError: unreadable, incomplete or of a newer format.
        """
        path = self.path / MANIFEST
        try:
            manifest = json.loads(path.read_text())
            fmt = manifest["format"]
            for k in ("epoch", "history", "files", "fit", "config"):
                manifest[k]  # noqa: B018
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
            raise RunFolderError(
                f"fit: {path} is not a readable run manifest ({type(err).__name__}: {err}); it "
                f"was edited or not written by jaxsnn_eqx. Pass overwrite=True (--overwrite) to "
                f"delete the run and start again."
            ) from None
        if not isinstance(fmt, int) or fmt > MANIFEST_FORMAT:
            raise RunFolderError(
                f"fit: {path} has format {fmt!r}; this version of jaxsnn_eqx reads format "
                f"{MANIFEST_FORMAT} and older. Resume with a newer jaxsnn_eqx."
            )
        return manifest

    def is_empty_run(self, present: list[str]) -> bool:
        """Whether the folder holds only the manifest of a run that has not finished an epoch
        (a run that failed to start: nothing to lose)."""
        if present != [MANIFEST]:
            return False
        try:
            m = self.read_manifest()
        except RunFolderError:
            return False
        return m["epoch"] == 0 and not m["files"]

    def existing_run_message(self, present: list[str]) -> str:
        """The error for starting a new run where one is: what is there and what to pass."""
        what = f"files of a run ({', '.join(present)}) without a readable {MANIFEST}"
        if MANIFEST in present:
            try:
                m = self.read_manifest()
                what = (f"a finished run ({plural_epochs(m['epoch'])})" if m["finished"] else
                        f"an unfinished run ({m['epoch']} of {m['fit']['epochs']} epochs done)")
            except RunFolderError:
                pass
        return (f"fit: {self.path} already holds {what}. Pass resume=True (--resume) to continue "
                f"it (with extend=True / --extend for more epochs), or overwrite=True "
                f"(--overwrite) to delete it and start again, or choose another out (--out).")

    # --------------------------------------------------------------- opening

    @classmethod
    def open(cls, path: str | Path, *, resume: bool, overwrite: bool, extend: bool,
             settings: dict, config: dict, writer: bool = True) -> RunFolder:
        """Check ``path`` for a new or a resumed run (before anything is compiled).

        Resuming: finish an interrupted save (only the ``writer``; another process just checks
        the files) and hold the saved manifest, updated to the new ``settings`` and
        ``config``. A new run: hold the manifest to start with (uncommitted: `start` writes it
        once the epoch compiled).

        Raises:
            RunFolderError: see the module docstring.
        """
        folder = cls(Path(path), {}, resumed=resume, writer=writer)
        present = folder.present()
        if not resume:
            if present and not overwrite and not folder.is_empty_run(present):
                raise RunFolderError(folder.existing_run_message(present))
            folder.manifest = {
                "format": MANIFEST_FORMAT, "library": library(), "epoch": 0, "finished": False,
                "fit": settings, "config": config, "extended": [], "history": [], "files": {}}
            return folder
        if MANIFEST not in present:
            raise RunFolderError(folder.nothing_to_resume_message(present))
        manifest = folder.read_manifest()
        if manifest["library"] != library():
            warnings.warn(f"fit: resuming {folder.path}, saved by {manifest['library']} with "
                          f"{library()}; numbers may differ from an uninterrupted run.",
                          stacklevel=4)
        folder.check_settings(manifest, settings, config, extend)
        folder.manifest = manifest
        folder.recover(repair=writer)
        extended = list(manifest["extended"])
        planned = manifest["fit"]["epochs"]
        if settings["epochs"] != planned:
            extended.append({"epoch": manifest["epoch"], "epochs": planned})
        folder.manifest = {**manifest, "library": library(), "fit": settings, "config": config,
                           "extended": extended}
        if manifest["epoch"] != len(manifest["history"]):
            raise RunFolderError(
                f"fit: {folder.path / MANIFEST} is inconsistent (epoch {manifest['epoch']}, "
                f"{len(manifest['history'])} history rows).")
        return folder

    def nothing_to_resume_message(self, present: list[str]) -> str:
        """The error for resuming a folder without a manifest."""
        if present:
            return (f"fit: cannot resume {self.path}: it holds {', '.join(present)} but no "
                    f"{MANIFEST} (a run folder of an older jaxsnn_eqx, or not a run folder). "
                    f"Pass overwrite=True (--overwrite) to delete these files and start again.")
        return (f"fit: nothing to resume in {self.path}: "
                + ("the folder does not exist" if not self.path.exists()
                   else f"it holds no {MANIFEST}")
                + ". Start the run without resume=True (--resume).")

    @staticmethod
    def differences(manifest: dict, settings: dict, config: dict, extend: bool) -> dict:
        """``name -> (saved, now)`` for the settings and config keys that must match to
        resume."""
        ignored = IGNORED_ON_RESUME | ({"epochs"} if extend else set())
        saved_cfg, saved_fit = manifest["config"], manifest["fit"]
        diffs = {}
        for k in sorted(set(saved_cfg) | set(config)):
            a, b = saved_cfg.get(k, _MISSING), config.get(k, _MISSING)
            if k not in ignored and describe(a) != describe(b):
                diffs[k] = (a, b)
        for k in FIT_KEYS:
            a, b = saved_fit.get(k, _MISSING), to_json(settings[k])
            if k not in ignored and k not in diffs and describe(a) != describe(b):
                diffs[k] = (a, b)
        return diffs

    def check_settings(self, manifest: dict, settings: dict, config: dict,
                       extend: bool) -> None:
        """Refuse to resume with settings other than the saved ones (naming each difference),
        or to extend to fewer epochs than planned.

        Raises:
            RunFolderError: a difference, or a shorter ``epochs`` with ``extend``.
        """
        diffs = self.differences(manifest, settings, config, extend)
        if diffs:
            listed = "; ".join(f"{k}: saved {describe(a)}, now {describe(b)}"
                               for k, (a, b) in diffs.items())
            hint = ""
            if "epochs" in diffs and isinstance(diffs["epochs"][1], int) and isinstance(
                    diffs["epochs"][0], int) and diffs["epochs"][1] > diffs["epochs"][0]:
                hint = (", or pass extend=True (--extend) to train it for more epochs (the "
                        "learning-rate schedule then differs from an uninterrupted run of that "
                        "length)")
            raise RunFolderError(
                f"fit: cannot resume {self.path}: the run was saved with other settings "
                f"({listed}). Resume with the saved settings{hint}, or pass overwrite=True "
                f"(--overwrite) to start again."
            )
        planned = manifest["fit"]["epochs"]
        if extend and settings["epochs"] < planned:
            raise RunFolderError(
                f"fit: cannot extend {self.path} to epochs={settings['epochs']}: the saved run "
                f"plans {planned} epochs; extend=True (--extend) needs at least as many."
            )

    # --------------------------------------------------------------- writing

    def start(self) -> None:
        """A new run (writer only): delete a run already in the folder (the manifest first;
        its other files stay), then commit the manifest of epoch 0. Nothing for a resumed
        run."""
        if self.resumed or not self.writer:
            return
        for name in sorted(self.present(), key=lambda n: n != MANIFEST):
            (self.path / name).unlink()
        self.path.mkdir(parents=True, exist_ok=True)
        self.commit({})

    def promote(self, names: list[str]) -> None:
        """Step 3 of a save: ``NAME.new`` -> ``NAME`` for each of ``names``."""
        for name in names:
            os.replace(self.path / (name + ".new"), self.path / name)
        if names:
            fsync_dir(self.path)

    def commit(self, blobs: dict[str, bytes]) -> None:
        """Save ``blobs`` (file name -> bytes) and the manifest in the order of the module
        docstring; files whose digest is already in the manifest are not written again. The
        committed manifest (with the new digests) becomes `manifest`."""
        files = dict(self.manifest.get("files", {}))
        changed = []
        for name, data in blobs.items():
            entry = digest(data)
            if files.get(name) != entry:
                atomic_write(self.path / (name + ".new"), data, sync_dir=False)
                files[name] = entry
                changed.append(name)
        if changed:
            fsync_dir(self.path)
        self.manifest = {**self.manifest, "files": files}
        atomic_write(self.path / MANIFEST, json_bytes(self.manifest))
        self.promote(changed)

    def save(self, results: dict, last: Any, selected: Any, opt_state: Any, *,
             finished: bool = False) -> None:
        """Checkpoint after an epoch or at the end (writer only): ``last`` + ``opt_state`` for
        resuming, ``selected`` as ``model.eqx``, the manifest (``epoch`` = the rows of
        ``results["epochs"]``), then ``results.json``."""
        if not self.writer:
            return
        last_bytes = serialise(last)
        blobs = {"last_model.eqx": last_bytes, "opt_state.eqx": serialise(opt_state),
                 "model.eqx": last_bytes if selected is last else serialise(selected)}
        rows = results["epochs"]
        self.manifest = {**self.manifest, "epoch": len(rows), "finished": finished,
                         "history": rows}
        self.commit(blobs)
        write_results(self.path, results)

    def recover(self, *, repair: bool = True) -> None:
        """Finish a save that a crash interrupted (``NAME.new`` -> ``NAME`` where the manifest
        records the new file), check every checkpoint file's digest and drop uncommitted
        leftovers; ``repair=False``: only check (the files must be in place).

        Raises:
            RunFolderError: a checkpoint file is missing, truncated or replaced.
        """
        for name, entry in self.manifest["files"].items():
            path, new = self.path / name, self.path / (name + ".new")
            if matches(path, entry):
                continue
            if repair and matches(new, entry):
                os.replace(new, path)
                continue
            state = "is missing" if not path.exists() else (
                f"has {path.stat().st_size} bytes where {MANIFEST} records {entry['bytes']}"
                if path.stat().st_size != entry["bytes"] else
                f"does not have the SHA-256 that {MANIFEST} records")
            raise RunFolderError(
                f"fit: cannot resume {self.path}: the checkpoint file {path} {state} "
                f"(truncated, replaced or deleted after the run saved it). Restore it, or pass "
                f"overwrite=True (--overwrite) to start again."
            )
        if not repair:
            return
        for name in self.present():
            if name.endswith((".new", ".tmp")):
                (self.path / name).unlink()
        fsync_dir(self.path)

    def load(self, name: str, like: Any) -> Any:
        """The checkpoint file ``name`` read into the structure of ``like``.

        Raises:
            RunFolderError: the file does not fit ``like``.
        """
        path = self.path / name
        try:
            return eqx.tree_deserialise_leaves(path, like)
        except Exception as err:  # noqa: BLE001 - any failure here means a foreign file
            raise RunFolderError(
                f"fit: cannot resume {self.path}: {path} does not fit the given model and "
                f"optimizer ({type(err).__name__}: "
                f"{str(err).splitlines()[0] if str(err) else ''}). Resume with the network and "
                f"optimizer of the saved run, or pass overwrite=True (--overwrite) to start "
                f"again."
            ) from None


# ----------------------------------------------------------------------------- public helpers


def write_results(out: str | Path, results: dict) -> None:
    """Write ``results`` to ``out/results.json`` atomically (a reader, or a crash, never leaves
    half a file). With several processes only process 0 writes (the others return)."""
    if not is_writer():
        return
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "results.json", json_bytes(results))


def load_results(run_dir: str | Path) -> dict:
    """Read ``results.json`` of a run folder.

    Raises:
        FileNotFoundError: the folder holds no ``results.json``.
    """
    path = Path(run_dir) / "results.json"
    if not path.exists():
        raise FileNotFoundError(f"no results.json in {run_dir!s}")
    return json.loads(path.read_text())


def load_model(run_dir: str | Path, like: Any) -> Any:
    """Load ``model.eqx`` of a run folder into a model of the same structure as ``like``.

    Raises:
        FileNotFoundError: the folder holds no ``model.eqx``.
        ValueError: the file does not fit ``like`` (another network, or a truncated file).
    """
    path = Path(run_dir) / "model.eqx"
    if not path.exists():
        raise FileNotFoundError(f"load_model: no model.eqx in {run_dir!s}")
    try:
        return eqx.tree_deserialise_leaves(path, like)
    except Exception as err:  # noqa: BLE001 - any failure here means a foreign or broken file
        raise ValueError(
            f"load_model: {path} does not fit `like` ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}); pass a model built with the "
            f"run's settings (see its results.json), or the file is truncated."
        ) from None
