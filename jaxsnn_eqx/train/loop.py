"""`fit`: the training pipeline over the pieces of this package: check the arguments, open the
run folder (`run_folder`), compile the epoch and the evaluators (`compiled`), train epoch by
epoch with checkpoints and progress callbacks (`progress`), select and test the model."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh
from jaxtyping import Array, PRNGKeyArray

from .arguments import FitArgumentError
from .compiled import CompiledEpoch, LossFn, PredictFn, fit_keys, make_evaluator, n_samples
from .keys import named_keys
from .progress import FitCallback, ProgressPrinter
from .run_folder import RunFolder, to_json
from .sharding import barrier, data_mesh, is_writer

__all__ = ["fit"]


def fit(
    model: Any,
    loss_fn: LossFn,
    predict_fn: PredictFn,
    train: tuple[Any, Array],
    val: tuple[Any, Array] | None = None,
    test: tuple[Any, Array] | None = None,
    *,
    optimizer: optax.GradientTransformation,
    epochs: int,
    batch_size: int,
    key: PRNGKeyArray,
    out: str | Path | None = None,
    config: dict | None = None,
    resume: bool = False,
    progress: bool = True,
    post_update: Callable[[Any], Any] | None = None,
    eval_batch_size: int = 1000,
    select: str = "last",
    with_key: bool = False,
    overwrite: bool = False,
    extend: bool = False,
    check_finite: bool = True,
    devices: int | None = 1,
) -> tuple[Any, dict]:
    """Train ``model`` with ``optimizer`` and return ``(model, results)``.

    Every epoch is one ``lax.scan`` over minibatches compiled ahead of time, so the seconds per
    epoch are pure run time (compilation is reported separately), measured after the device
    finished. Each step also checks that the gradients and the updated parameters are finite.

    Args:
        model: any Equinox module; its inexact arrays are trained.
        loss_fn: ``loss_fn(model, X_batch, y_batch) -> scalar`` (batched: vmap inside).
        predict_fn: ``predict_fn(model, X_batch) -> labels (batch,)``.
        train: ``(X, y)``: ``X`` a pytree with a leading sample axis, ``y`` the labels.
        val: ``(X, y)`` for the per-epoch validation accuracy, or None.
        test: ``(X, y)`` for the final test accuracy, or None.
        optimizer: an optax transformation (see `make_optimizer`).
        epochs: number of passes over ``train``; each drops the last incomplete batch.
        batch_size: samples per step.
        key: the run's key, split once into its roles (`train.keys`; ``shuffle``, ``steps``,
            ``eval``): epoch ``e`` shuffles with ``indexed_key(shuffle, e)`` (so resuming is
            exact).
        out: run folder (see `jaxsnn_eqx.train.run_folder`), saved after every epoch; None:
            nothing saved.
        config: JSON-serialisable description of the run, saved in ``results.json`` and
            ``manifest.json`` and compared when resuming.
        resume: continue the run in ``out`` (same settings, model structure and optimizer; see
            `jaxsnn_eqx.train.run_folder`); a folder without a run is an error.
        progress: print one line per epoch (and show a progress bar on a terminal).
        post_update: applied to the model after every step (e.g. weight clipping).
        eval_batch_size: samples per evaluation batch (validation and test).
        select: which model is returned, tested and saved as ``model.eqx``: ``"last"``, or
            ``"best_val"`` (the epoch with the highest validation accuracy, earliest on ties;
            needs ``val``). Training itself always continues from the last epoch.
        with_key: call ``loss_fn(model, X, y, key)`` and ``predict_fn(model, X, key)`` with a
            fresh PRNG key per step and per evaluation batch (for noisy forward passes, e.g. an
            emulated chip). Step keys derive from ``key`` and the epoch (resuming is exact);
            evaluation uses the same keys every epoch, so accuracies stay comparable.
        overwrite: delete a run already in ``out`` and start afresh (without it, a folder
            holding a run is an error).
        extend: with ``resume``, accept a larger ``epochs`` than the saved run's (the remaining
            steps follow the new learning-rate schedule, so the result differs from an
            uninterrupted run of the new length).
        check_finite: stop with a ``FloatingPointError`` naming the leaf, epoch and step when a
            gradient or an updated parameter is not finite (the loss is always checked).
        devices: split every batch over the first ``devices`` of `jax.devices()` (data
            parallelism; ``None`` or 0: all of them; see `jaxsnn_eqx.train.sharding`).
            ``batch_size`` must be a multiple of it; evaluation batches are rounded up to one.
            1: the plain single-device program. The result equals the single-device one up to
            the order of the gradient sums (float rounding).

    Returns:
        The trained model (with several devices its arrays are replicated on them) and the
        results dict: ``config``, ``epochs`` (per epoch: ``epoch``, ``train_loss``,
        ``val_accuracy``, ``seconds``), ``compile_seconds``, ``train_seconds``,
        ``test_accuracy``, ``val_accuracy`` (of the returned model), ``selected_epoch``,
        ``devices`` (the device count used), ``platform`` (e.g. ``"cpu"``, ``"gpu"``),
        ``timing_seconds`` (seconds of this call by stage: ``compile``, ``train`` (the
        epochs run now), ``validation``, ``test``, ``checkpoints``), ``processes`` and
        ``device_history`` (``[{"from_epoch", "devices", "platform"}]``:
        one entry per stretch of epochs run on one device count; several after resuming
        with another ``devices``).

    Raises:
        ValueError: bad arguments, among them a ``batch_size`` that is not a multiple of
            ``devices`` and more ``devices`` than exist (each error names the fix).
        RunFolderError: ``out`` cannot be started or resumed as asked (see
            `jaxsnn_eqx.train.run_folder`).
        FloatingPointError: a non-finite loss, gradient or parameter.
        ModelCheckError: a check inside the model (`equinox.error_if`, e.g. a spike buffer
            too small) failed; the message is the check's, one line.
    """
    n_train = check_arguments(train, val, test, epochs=epochs, batch_size=batch_size,
                              select=select, out=out, resume=resume, overwrite=overwrite,
                              extend=extend)
    out = Path(out) if out is not None else None
    mesh = data_mesh(devices, batch_size)
    n_devices = 1 if mesh is None else mesh.size
    platform = (jax.devices()[0] if mesh is None else mesh.devices.flat[0]).platform
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    config = to_json(dict(config or {}))
    results: dict = {"config": config, "epochs": []}
    settings = {"epochs": epochs, "batch_size": batch_size, "n_train": n_train,
                "select": select, "with_key": with_key, "key": key_data(key),
                "devices": n_devices}
    results.update(devices=n_devices, platform=platform, processes=jax.process_count(),
                   device_history=[{"from_epoch": 0, "devices": n_devices, "platform": platform}])
    folder, best = None, None
    if out is not None:
        folder = open_run_folder(out, resume=resume, overwrite=overwrite, extend=extend,
                                 settings=settings, config=config)
        model, opt_state, best = restore(folder, model, opt_state, select, results)
    start = len(results["epochs"])

    t0 = time.perf_counter()
    dyn, static = eqx.partition(model, eqx.is_array)
    run_epoch = CompiledEpoch(static, dyn, opt_state, train, key, loss_fn=loss_fn,
                              optimizer=optimizer, batch_size=batch_size,
                              post_update=post_update, with_key=with_key,
                              check_finite=check_finite, mesh=mesh, out=out)
    dyn, opt_state = run_epoch.dyn, run_epoch.opt_state
    eval_val, eval_test = evaluators(model, predict_fn, val, test, eval_batch_size,
                                     key if with_key else None, mesh)
    results["compile_seconds"] = time.perf_counter() - t0
    timing = {"compile": results["compile_seconds"], "train": 0.0, "validation": 0.0,
              "test": 0.0, "checkpoints": 0.0}
    if folder is not None:
        t = time.perf_counter()
        folder.start()
        timing["checkpoints"] += time.perf_counter() - t

    callbacks: list[FitCallback] = [ProgressPrinter()] if progress else []
    for cb in callbacks:
        cb.on_start(start, epochs, out, results["compile_seconds"])
    try:  # the callbacks end also on an error or Ctrl-C (a live progress bar is closed)
        model, opt_state, best = train_epochs(
            run_epoch, model, dyn, opt_state, range(start, epochs), results=results, best=best,
            eval_val=eval_val, select=select, folder=folder, callbacks=callbacks,
            timing=timing)
    finally:
        for cb in callbacks:
            cb.on_end()

    t = time.perf_counter()
    selected = select_and_test(results, model, best, eval_test)
    timing["test"] = time.perf_counter() - t
    results["timing_seconds"] = timing
    if folder is not None:
        t = time.perf_counter()
        folder.save(results, model, selected, opt_state, finished=True)
        timing["checkpoints"] += time.perf_counter() - t
    return selected, results


def check_arguments(train, val, test, *, epochs: int, batch_size: int, select: str, out,
                    resume: bool, overwrite: bool, extend: bool) -> int:
    """Check the arguments of `fit` that need no device or folder; returns the number of
    training samples.

    Raises:
        ValueError, TypeError: naming the argument and what it must be.
    """
    if select not in ("last", "best_val"):
        raise FitArgumentError(f"fit: `select` must be 'last' or 'best_val', got {select!r}.")
    if select == "best_val" and val is None:
        raise FitArgumentError("fit: `select='best_val'` needs a validation set `val`.")
    if not isinstance(epochs, int) or epochs < 0:
        raise FitArgumentError(f"fit: `epochs` must be a non-negative integer, got {epochs!r}.")
    n_train = n_samples(train, "train")
    if not isinstance(batch_size, int) or not 0 < batch_size <= n_train:
        raise FitArgumentError(
            f"fit: `batch_size` must be an integer in [1, {n_train}] (the training set size), "
            f"got {batch_size!r}."
        )
    if val is not None:
        n_samples(val, "val")
    if test is not None:
        n_samples(test, "test")
    if resume and out is None:
        raise FitArgumentError("fit: `resume=True` needs `out`, the folder of the run to resume.")
    if resume and overwrite:
        raise FitArgumentError(
            "fit: `resume=True` and `overwrite=True` exclude each other; pick one.")
    if extend and not resume:
        raise FitArgumentError(
            "fit: `extend=True` lengthens a saved run, so it needs `resume=True`.")
    return n_train


def key_data(key: PRNGKeyArray) -> list:
    """The raw bits of ``key`` (a typed key or a legacy ``uint32`` one) as a list."""
    key = jnp.asarray(key)
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return np.asarray(key).tolist()


def open_run_folder(out: Path, **kw) -> RunFolder:
    """`RunFolder.open` in every process: process 0 (the writer) checks, and after a crash
    repairs, the folder first; the others then only check it."""
    writer = is_writer()
    if not writer:
        barrier("open")
    try:
        return RunFolder.open(out, writer=writer, **kw)
    finally:
        if writer:
            barrier("open")


def device_history(manifest: dict, start: int, devices: int, platform: str) -> list[dict]:
    """The saved run's ``device_history`` (a manifest without one was written before fit had
    ``devices``: one device, platform unknown) plus ``{"from_epoch": start, "devices",
    "platform"}`` when this run's device count or platform differs from the last entry."""
    saved = manifest.get("device_history") or [
        {"from_epoch": 0, "devices": 1, "platform": None}]
    last = saved[-1]
    if start == 0:
        return [{"from_epoch": 0, "devices": devices, "platform": platform}]
    if last["devices"] == devices and last["platform"] in (None, platform):
        return [*saved[:-1], {**last, "platform": platform}]
    return [*saved, {"from_epoch": start, "devices": devices, "platform": platform}]


def best_so_far(rows: list[dict]) -> dict | None:
    """The first row with the highest ``val_accuracy`` (None without one)."""
    best = None
    for row in rows:
        if "val_accuracy" in row and (best is None or row["val_accuracy"] > best["val_accuracy"]):
            best = row
    return best


def restore(folder: RunFolder, model, opt_state, select: str,
            results: dict) -> tuple[Any, Any, tuple[dict, Any] | None]:
    """``(model, opt_state, best)`` to start from in ``folder``: for a resumed run the last
    checkpoint and, for ``select="best_val"``, ``(row, model)`` of the best epoch so far
    (``best`` None without one); the given ones for a folder without checkpoint files.
    Fills ``results["epochs"]`` with the saved history and ``results["device_history"]`` (also
    recorded in the folder's manifest) with this run's devices appended."""
    results["epochs"] = list(folder.manifest["history"])
    now = results["device_history"][-1]
    history = device_history(folder.manifest, len(results["epochs"]), now["devices"],
                             now["platform"])
    results["device_history"] = folder.manifest["device_history"] = history
    if not folder.manifest["files"]:
        return model, opt_state, None
    model = folder.load("last_model.eqx", model)
    opt_state = folder.load("opt_state.eqx", opt_state)
    row = best_so_far(results["epochs"]) if select == "best_val" else None
    return model, opt_state, None if row is None else (row, folder.load("model.eqx", model))


def train_epochs(run_epoch: CompiledEpoch, model, dyn, opt_state, epochs: range, *,
                 results: dict, best: tuple[dict, Any] | None, eval_val, select: str,
                 folder: RunFolder | None, callbacks: list[FitCallback],
                 timing: dict | None = None):
    """Train ``epochs`` (0-based indices) from ``dyn`` / ``opt_state``: per epoch, validate,
    append the row to ``results["epochs"]``, track the best epoch (``select="best_val"``),
    report to ``callbacks`` and checkpoint to ``folder``. Returns ``(model, opt_state, best)``
    after the last epoch (``model`` as given when there is none). ``timing``: seconds of
    ``train``, ``validation`` and ``checkpoints`` are added to its entries."""
    timing = {} if timing is None else timing
    for e in epochs:
        dyn, opt_state, row = run_epoch(e, dyn, opt_state)
        timing["train"] = timing.get("train", 0.0) + row["seconds"]
        model = eqx.combine(dyn, run_epoch.static)
        if eval_val is not None:
            t = time.perf_counter()
            row["val_accuracy"] = eval_val(model)
            timing["validation"] = timing.get("validation", 0.0) + time.perf_counter() - t
        results["epochs"].append(row)
        if select == "best_val" and (best is None or row["val_accuracy"] > best[0]["val_accuracy"]):
            best = (row, model)
        for cb in callbacks:
            cb.on_epoch(row, epochs.stop)
        if folder is not None:
            t = time.perf_counter()
            folder.save(results, model, best[1] if best is not None else model, opt_state)
            timing["checkpoints"] = timing.get("checkpoints", 0.0) + time.perf_counter() - t
    return model, opt_state, best


def evaluators(model, predict_fn: PredictFn, val, test, batch_size: int,
               key: PRNGKeyArray | None, mesh: Mesh | None):
    """``(eval_val, eval_test)``: compiled ``model -> accuracy`` on ``val`` and ``test`` (None
    for a set not given). With ``key`` (``with_key``; `fit`'s key), the two draw their batch
    keys from the ``val`` and ``test`` parts of its ``eval`` role (`fit_keys`), the same every
    epoch."""
    if key is not None:
        k = named_keys(fit_keys(key)["eval"], ("val", "test"))
        k_val, k_test = k["val"], k["test"]
    else:
        k_val = k_test = None
    eval_val = make_evaluator(model, predict_fn, val, batch_size, k_val, mesh) if val else None
    eval_test = (make_evaluator(model, predict_fn, test, batch_size, k_test, mesh) if test
                 else None)
    return eval_val, eval_test


def select_and_test(results: dict, last, best: tuple[dict, Any] | None,
                    eval_test: Callable[[Any], float] | None) -> Any:
    """The model `fit` returns (``best``'s, or ``last``), with ``train_seconds``,
    ``selected_epoch``, ``val_accuracy`` and ``test_accuracy`` added to ``results``."""
    results["train_seconds"] = float(sum(r["seconds"] for r in results["epochs"]))
    model = last
    if best is not None:
        row, model = best
        results["selected_epoch"] = row["epoch"]
    elif results["epochs"]:
        row = results["epochs"][-1]
        results["selected_epoch"] = row["epoch"]
    else:
        row = {}
    if "val_accuracy" in row:
        results["val_accuracy"] = row["val_accuracy"]
    if eval_test is not None:
        results["test_accuracy"] = eval_test(model)
    return model
