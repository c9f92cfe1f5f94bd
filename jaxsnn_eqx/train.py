"""The one training loop: optax, a whole epoch per compiled call, evaluation, results, checkpoints.

`fit` knows nothing about neurons: it takes a model (any Equinox module), a batched loss and a
batched predictor, and ``(X, y)`` data whose ``X`` is any pytree with a leading sample axis (an
array, or a batched `Spikes`). Every epoch is one ``lax.scan`` over minibatches compiled ahead of
time, so the printed seconds per epoch are pure run time (compilation is reported separately) and
are measured after the device finished. Each step also checks that the gradients and the updated
parameters are finite (one reduction per leaf); `fit` stops with a ``FloatingPointError`` naming
the leaf, the epoch and the step.

Run folder (``out``), rewritten after every epoch:

* ``manifest.json``: the commit record of the checkpoint: ``format`` (`MANIFEST_FORMAT`),
  ``library`` (name, version), ``epoch`` (epochs the checkpoint holds), ``finished``, ``fit``
  (``epochs``, ``batch_size``, ``n_train``, ``select``, ``with_key``, ``key``), ``config``,
  ``extended`` (earlier planned lengths, see ``extend``), ``history`` (the per-epoch metrics) and
  ``files`` (SHA-256 and size of each checkpoint file).
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

Several devices (``devices``; the tasks' ``--devices N``): data parallelism with JAX's own
sharding. A `jax.sharding.Mesh` with one axis ``"batch"`` spans the first ``devices`` of
`jax.devices()`; the model, the optimizer state, the data set and the shuffling are replicated
on every device (``NamedSharding(mesh, P())``), and inside the compiled step each minibatch is
split along its leading (sample) axis (``NamedSharding(mesh, P("batch"))``), so every device
runs the forward and backward pass of ``batch_size / devices`` samples and XLA inserts the
all-reduce of the gradients (the loss is a mean over the batch). ``batch_size`` must be a
multiple of ``devices``; evaluation batches are rounded up to one (the padding is masked out
of the count, so accuracies do not change). ``devices=1`` (the default) compiles exactly the
single-device program. On a CPU, ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` (set
before JAX is imported) makes N host devices to try it.

Several processes (one per host, `init_distributed` first): the mesh spans every process's
devices (`jax.devices()` is global), so ``devices`` must then be ``None`` / 0 (all) or
`jax.device_count()` (or 1: each process trains alone on its first device, the same run
everywhere, process 0 writing it). Every process runs `fit` with the same arguments and the
same full data set (the tasks draw it from the seed): it is replicated, and the compiled step
picks each device's share of the batch, so no process needs to know which samples its devices
take. Process 0 alone writes the run folder (and `write_results`); to resume, every process
reads it, so ``out`` must then lie on a file system every host sees.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray, Scalar

__all__ = [
    "fit", "evaluate", "make_optimizer", "load_results", "load_model", "write_results",
    "init_distributed", "RunFolderError", "IGNORED_ON_RESUME", "MANIFEST_FORMAT",
]

LossFn = Callable[[Any, Any, Int[Array, " batch"]], Scalar]
PredictFn = Callable[[Any, Any], Int[Array, " batch"]]

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
CHECKPOINTS = ("last_model.eqx", "opt_state.eqx", "model.eqx")
RUN_FILES = (MANIFEST, "results.json", *CHECKPOINTS)
#: ``config`` keys that do not change the result, so they may differ when resuming.
#: ``devices`` and the multi-host flags among them: the device count changes only the order of
#: the gradient sum (a change is recorded in ``device_history``).
IGNORED_ON_RESUME = frozenset({"out", "resume", "overwrite", "extend", "progress", "plot",
                               "devices", "coordinator", "num_processes", "process_id"})
_FIT_KEYS = ("epochs", "batch_size", "n_train", "select", "with_key", "key")


class RunFolderError(ValueError):
    """A run folder that cannot be started, resumed or overwritten as asked; the message says
    why and what to do."""


def make_optimizer(
    lr: float,
    epochs: int,
    steps_per_epoch: int,
    *,
    schedule: str = "cosine",
    final_lr_fraction: float = 0.05,
    weight_decay: float = 0.0,
    clip_norm: float | None = None,
) -> optax.GradientTransformation:
    """Adam(W) with a learning-rate schedule over ``epochs * steps_per_epoch`` steps.

    ``schedule``: ``"cosine"`` (decay to ``final_lr_fraction * lr``), ``"exponential"`` (same end
    point, geometric) or ``"constant"``.
    """
    if lr <= 0:
        raise ValueError(f"make_optimizer: `lr` must be positive, got {lr}.")
    total = max(1, epochs * steps_per_epoch)
    if schedule == "cosine":
        sched = optax.cosine_decay_schedule(lr, total, alpha=final_lr_fraction)
    elif schedule == "exponential":
        sched = optax.exponential_decay(lr, total, final_lr_fraction)
    elif schedule == "constant":
        sched = optax.constant_schedule(lr)
    else:
        raise ValueError(f"make_optimizer: unknown `schedule` {schedule!r}.")
    opt = optax.adamw(sched, weight_decay=weight_decay) if weight_decay else optax.adam(sched)
    if clip_norm is not None:
        opt = optax.chain(optax.clip_by_global_norm(clip_norm), opt)
    return opt


def _n_samples(data: tuple[Any, Array], name: str) -> int:
    if not isinstance(data, tuple | list) or len(data) != 2:
        raise TypeError(f"fit: `{name}` must be a pair (X, y), got {type(data).__name__}.")
    x, y = data
    y = jnp.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"fit: labels of `{name}` must have shape (n,), got {y.shape}.")
    n = y.shape[0]
    if n == 0:
        raise ValueError(f"fit: `{name}` is empty.")
    for leaf in jtu.tree_leaves(x):
        if jnp.shape(leaf)[:1] != (n,):
            raise ValueError(
                f"fit: every leaf of X in `{name}` needs a leading axis of {n} samples (the number "
                f"of labels), got a leaf of shape {jnp.shape(leaf)}."
            )
    return n


def evaluate(
    model: Any, predict_fn: PredictFn, data: tuple[Any, Array], batch_size: int = 1000,
    *, key: PRNGKeyArray | None = None, devices: int | None = 1,
) -> float:
    """Accuracy of ``predict_fn`` on ``data = (X, y)``, in batches of ``batch_size``; with
    ``key``, ``predict_fn(model, X, key)`` gets a key per batch (noisy forward passes).
    ``devices``: split each batch over that many devices as `fit` does (``None`` / 0: all; the
    batch is rounded up to a multiple of it, the padding does not count)."""
    mesh = _data_mesh(devices, None, "evaluate")
    return _make_evaluator(model, predict_fn, data, batch_size, key, mesh)(model)


def _make_evaluator(model, predict_fn, data, batch_size, key=None,
                    mesh: Mesh | None = None) -> Callable[[Any], float]:
    """``model -> accuracy`` on ``data``, compiled once (for ``mesh``: each batch split over
    its devices, everything else replicated)."""
    x, y = data
    n = _n_samples(data, "data")
    batch_size = min(batch_size, n)
    if mesh is not None:  # equal shares: round up, the padding is masked below
        batch_size = -(-batch_size // mesh.size) * mesh.size
    nb = -(-n // batch_size)
    pad = nb * batch_size - n
    # Pad by repeating the first samples, then mask them out of the count.
    idx = jnp.concatenate([jnp.arange(n), jnp.zeros(pad, jnp.int32)]).reshape(nb, batch_size)
    weight = jnp.concatenate([jnp.ones(n), jnp.zeros(pad)]).reshape(nb, batch_size)
    dyn0, static = eqx.partition(model, eqx.is_array)
    keys = None if key is None else jax.random.split(key, nb)
    split = _batch_splitter(mesh)

    def correct(dyn, x, y, idx, weight, keys):
        m = eqx.combine(dyn, static)

        def body(total, inp):
            bidx, w, k = inp
            xb = split(jtu.tree_map(lambda a: a[bidx], x))
            pred = predict_fn(m, xb) if k is None else predict_fn(m, xb, k)
            return total + jnp.sum(w * (pred == y[bidx])), None

        total, _ = jax.lax.scan(body, jnp.zeros(()), (idx, weight, keys))
        return total

    if mesh is None:
        compiled = jax.jit(lambda dyn, x, y: correct(dyn, x, y, idx, weight, keys)).lower(
            dyn0, x, y).compile()
        args = (x, y)
    else:
        rep = NamedSharding(mesh, P())
        dyn0, *args = _place((dyn0, x, y, idx, weight, keys), rep)
        compiled = jax.jit(correct, in_shardings=rep, out_shardings=rep).lower(
            dyn0, *args).compile()

    def run(model) -> float:
        dyn, _ = eqx.partition(model, eqx.is_array)
        if mesh is not None:
            dyn = _place(dyn, NamedSharding(mesh, P()))
        return float(compiled(dyn, *args)) / n

    return run


def _leaf_name(path) -> str:
    """``layers[0].weight`` for the path of a leaf (``<model>`` for the model itself)."""
    return jtu.keystr(path).lstrip(".") or "<model>"


def _finite_flags(tree) -> tuple[list[str], Bool[Array, " leaves"]]:
    """Names of the inexact array leaves of ``tree`` and, per leaf, whether it is all finite."""
    leaves = [(_leaf_name(p), x) for p, x in jtu.tree_flatten_with_path(tree)[0]
              if eqx.is_inexact_array(x)]
    flags = [jnp.all(jnp.isfinite(x)) for _, x in leaves]
    return [n for n, _ in leaves], (jnp.stack(flags) if flags else jnp.zeros((0,), bool))


def _epoch_fn(static, loss_fn, optimizer, batch_size, post_update, with_key=False,
              check_finite=True, mesh: Mesh | None = None):
    """Build ``(dyn, opt_state, X, y, perm, key) -> (dyn, opt_state, losses, finite)``: one
    scanned epoch (``key`` split into one key per step when ``with_key``). ``finite`` is
    ``(steps, leaves)`` bool: per step, whether each gradient leaf and then each updated
    parameter leaf is finite; their names (``("gradient" | "parameter", path)``) fill the
    returned list when the epoch is traced. With ``mesh``, every minibatch (``X`` and ``y``)
    is split along its sample axis over the mesh's ``"batch"`` axis."""
    names: list[tuple[str, str]] = []
    split = _batch_splitter(mesh)

    def epoch(dyn, opt_state, x, y, perm, key):
        nb = perm.shape[0] // batch_size
        idx = perm[: nb * batch_size].reshape(nb, batch_size)
        keys = jax.random.split(key, nb) if with_key else None

        def body(carry, step):
            bidx, k = step
            dyn, opt_state = carry
            model = eqx.combine(dyn, static)
            xb, yb = split((jtu.tree_map(lambda a: a[bidx], x), y[bidx]))
            args = (model, xb, yb) + ((k,) if with_key else ())
            loss, grads = eqx.filter_value_and_grad(loss_fn)(*args)
            params = eqx.filter(model, eqx.is_inexact_array)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            model = eqx.apply_updates(model, updates)
            if post_update is not None:
                model = post_update(model)
            dyn, _ = eqx.partition(model, eqx.is_array)
            if check_finite:
                g_names, g_ok = _finite_flags(grads)
                p_names, p_ok = _finite_flags(model)
                names[:] = ([("gradient", n) for n in g_names]
                            + [("parameter", n) for n in p_names])
                finite = jnp.concatenate([g_ok, p_ok])
            else:
                finite = jnp.zeros((0,), bool)
            return (dyn, opt_state), (loss, finite)

        (dyn, opt_state), (losses, finite) = jax.lax.scan(body, (dyn, opt_state), (idx, keys))
        return dyn, opt_state, losses, finite

    return epoch, names


def _batch_splitter(mesh: Mesh | None) -> Callable[[Any], Any]:
    """``tree -> tree`` that, inside a compiled function, splits every leaf along its leading
    (sample) axis over the ``"batch"`` axis of ``mesh`` (the identity for ``mesh=None``)."""
    if mesh is None:
        return lambda tree: tree
    sharding = NamedSharding(mesh, P("batch"))
    return lambda tree: jtu.tree_map(
        lambda a: jax.lax.with_sharding_constraint(a, sharding), tree)


def _data_mesh(devices: int | None, batch_size: int | None, who: str = "fit") -> Mesh | None:
    """The one-axis (``"batch"``) mesh over the first ``devices`` of `jax.devices()`
    (``None`` / 0: all of them), or ``None`` for a single device (the plain single-device
    program, on each process's default device). Checks that ``batch_size`` (when given)
    divides into them.

    Raises:
        ValueError: ``devices`` is not a non-negative integer or ``None``, more devices than
            exist, fewer than all with several processes, or a ``batch_size`` that is not a
            multiple of the device count.
    """
    if devices is not None and (isinstance(devices, bool) or not isinstance(devices, int)
                                or devices < 0):
        raise ValueError(f"{who}: `devices` must be a positive integer, or None / 0 for all "
                         f"devices, got {devices!r}.")
    every = jax.devices()
    n = len(every) if not devices else devices
    if n > len(every):
        raise ValueError(
            f"{who}: devices={n} asked for, but only {len(every)} {every[0].platform} "
            f"device(s) exist (jax.devices()); pass devices <= {len(every)}, or None / 0 for "
            f"all. To try several devices on a CPU, set "
            f"XLA_FLAGS=--xla_force_host_platform_device_count={n} before Python starts (JAX "
            f"reads it when it is imported)."
        )
    if jax.process_count() > 1 and 1 < n < len(every):
        raise ValueError(
            f"{who}: with {jax.process_count()} processes the batch is split over every "
            f"device of every process ({len(every)} in all); pass devices=None / 0 (--devices "
            f"0) or devices={len(every)} (or 1: every process trains alone), got {devices!r}."
        )
    if batch_size is not None and batch_size % n:
        lower, upper = batch_size // n * n, -(-batch_size // n) * n
        hint = f"{lower} or {upper}" if lower else f"{upper}"
        raise ValueError(
            f"{who}: batch_size {batch_size} does not divide into {n} devices (each device "
            f"takes an equal share of every batch); use a multiple of {n} (e.g. {hint}) or a "
            f"device count that divides {batch_size}."
        )
    if n == 1:
        return None
    return Mesh(np.asarray(every[:n]), ("batch",))


def _place(tree: Any, sharding: NamedSharding) -> Any:
    """``tree``'s arrays as global arrays with ``sharding`` (those that already have it are
    kept). With several processes every process must pass the same values (the full arrays):
    each supplies the pieces its own devices hold."""

    def put(a):
        if not isinstance(a, jax.Array | np.ndarray | np.generic):
            return a
        if isinstance(a, jax.Array) and a.sharding == sharding:
            return a
        if jax.process_count() == 1:
            return jax.device_put(a, sharding)
        if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key):
            return jax.random.wrap_key_data(put(jax.random.key_data(a)),
                                            impl=jax.random.key_impl(a))
        host = np.asarray(a)
        return jax.make_array_from_callback(host.shape, sharding, lambda i: host[i])

    return jtu.tree_map(put, tree)


def _barrier(name: str) -> None:
    """Wait until every process got here (several processes only)."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(f"jaxsnn_eqx.fit.{name}")


def _is_writer() -> bool:
    """Whether this process writes run folders: the only one, or process 0 of several."""
    return jax.process_index() == 0


def init_distributed(coordinator_address: str | None = None, num_processes: int | None = None,
                     process_id: int | None = None) -> tuple[int, int]:
    """Join the processes of a multi-host run (`jax.distributed.initialize`); call it in every
    process, once, before anything else touches JAX (data, models, `jax.devices`).

    Afterwards `jax.devices` lists the devices of every process, and `fit` with
    ``devices=None`` splits each batch over all of them (see the module docstring). Arguments
    left ``None`` come from ``JAX_COORDINATOR_ADDRESS`` or from JAX's cluster detection
    (Slurm, Open MPI, TPU pods).

    Args:
        coordinator_address: ``"HOST:PORT"`` of process 0, the same in every process (process 0
            opens the port).
        num_processes: number of processes (typically one per host).
        process_id: this process's number, ``0 .. num_processes - 1``.

    Returns:
        ``(process_index, process_count)``.

    Raises:
        RuntimeError: JAX already ran something in this process, or this was called before.
    """
    from jax._src import xla_bridge  # no public way to ask; jax raises a vaguer error

    if xla_bridge.backends_are_initialized():
        raise RuntimeError(
            "init_distributed: JAX is already running in this process (a computation, "
            "jax.devices() or a device_put happened first); call it before anything else "
            "touches JAX.")
    jax.distributed.initialize(coordinator_address=coordinator_address,
                               num_processes=num_processes, process_id=process_id)
    return jax.process_index(), jax.process_count()


def _check_finite_epoch(losses: Float[np.ndarray, " steps"], finite: Bool[np.ndarray, "steps n"],
                        names: list[tuple[str, str]], epoch: int, out: Path | None) -> None:
    """Raise a ``FloatingPointError`` naming the first step of ``epoch`` (1-based) with a
    non-finite loss, gradient or parameter, and every such leaf at that step."""
    bad = np.concatenate([~np.isfinite(losses)[:, None], ~finite], axis=1)
    if not bad.any():
        return
    step = int(np.argmax(bad.any(axis=1)))
    what = (["the loss"] if bad[step, 0] else []) + [
        f"the {kind} `{name}`" for (kind, name), b in zip(names, bad[step, 1:], strict=True) if b
    ]
    if len(what) > 6:
        what = what[:6] + [f"{len(what) - 6} more"]
    saved = (f" {out} still holds the checkpoint of epoch {epoch - 1}." if out is not None
             else "")
    raise FloatingPointError(
        f"fit: non-finite values in epoch {epoch}, step {step} (steps 0..{len(losses) - 1}): "
        f"{', '.join(what)}. Lower the learning rate, clip the gradients "
        f"(`make_optimizer(..., clip_norm=...)`) or look for log(0), 0/0 or overflow in the "
        f"loss and in `post_update`.{saved}"
    )


def _json_default(o):
    if isinstance(o, np.generic | jax.Array | np.ndarray):
        return np.asarray(o).tolist()
    if isinstance(o, Path):
        return str(o)
    return repr(o)


def _to_json(obj: Any) -> Any:
    """``obj`` as it reads back from JSON (tuples become lists, paths strings, ...)."""
    return json.loads(json.dumps(obj, default=_json_default))


def _key_data(key: PRNGKeyArray) -> list:
    """The raw bits of ``key`` (a typed key or a legacy ``uint32`` one) as a list."""
    key = jnp.asarray(key)
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return np.asarray(key).tolist()


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
        key: shuffling key; epoch ``e`` shuffles with ``fold_in(key, e)`` (so resuming is exact).
        out: run folder (see the module docstring), saved after every epoch; None: nothing saved.
        config: JSON-serialisable description of the run, saved in ``results.json`` and
            ``manifest.json`` and compared when resuming.
        resume: continue the run in ``out`` (same settings, model structure and optimizer; see
            the module docstring); a folder without a run is an error.
        progress: print one line per epoch (and show a progress bar on a terminal).
        post_update: applied to the model after every step (e.g. weight clipping).
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
            parallelism; ``None`` or 0: all of them; see the module docstring). ``batch_size``
            must be a multiple of it; evaluation batches are rounded up to one. 1: the plain
            single-device program. The result equals the single-device one up to the order of
            the gradient sums (float rounding).

    Returns:
        The trained model (with several devices its arrays are replicated on them) and the
        results dict: ``config``, ``epochs`` (per epoch: ``epoch``, ``train_loss``,
        ``val_accuracy``, ``seconds``), ``compile_seconds``, ``train_seconds``,
        ``test_accuracy``, ``val_accuracy`` (of the returned model), ``selected_epoch``,
        ``devices`` (the device count used), ``platform`` (e.g. ``"cpu"``, ``"gpu"``),
        ``processes`` and ``device_history`` (``[{"from_epoch", "devices", "platform"}]``:
        one entry per stretch of epochs run on one device count; several after resuming
        with another ``devices``).

    Raises:
        ValueError: bad arguments, among them a ``batch_size`` that is not a multiple of
            ``devices`` and more ``devices`` than exist (each error names the fix).
        RunFolderError: ``out`` cannot be started or resumed as asked (see the module docstring).
        FloatingPointError: a non-finite loss, gradient or parameter.
    """
    if select not in ("last", "best_val"):
        raise ValueError(f"fit: `select` must be 'last' or 'best_val', got {select!r}.")
    if select == "best_val" and val is None:
        raise ValueError("fit: `select='best_val'` needs a validation set `val`.")
    if not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"fit: `epochs` must be a non-negative integer, got {epochs!r}.")
    n_train = _n_samples(train, "train")
    if not isinstance(batch_size, int) or not 0 < batch_size <= n_train:
        raise ValueError(
            f"fit: `batch_size` must be an integer in [1, {n_train}] (the training set size), "
            f"got {batch_size!r}."
        )
    if val is not None:
        _n_samples(val, "val")
    if test is not None:
        _n_samples(test, "test")
    out = Path(out) if out is not None else None
    if resume and out is None:
        raise ValueError("fit: `resume=True` needs `out`, the folder of the run to resume.")
    if resume and overwrite:
        raise ValueError("fit: `resume=True` and `overwrite=True` exclude each other; pick one.")
    if extend and not resume:
        raise ValueError("fit: `extend=True` lengthens a saved run, so it needs `resume=True`.")
    mesh = _data_mesh(devices, batch_size)
    n_devices = 1 if mesh is None else mesh.size
    platform = (jax.devices()[0] if mesh is None else mesh.devices.flat[0]).platform
    writer = _is_writer()

    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    config = _to_json(dict(config or {}))
    results: dict = {"config": config, "epochs": []}
    settings = {"epochs": epochs, "batch_size": batch_size, "n_train": n_train,
                "select": select, "with_key": with_key, "key": _key_data(key),
                "devices": n_devices}
    manifest = None
    best = None
    history = [{"from_epoch": 0, "devices": n_devices, "platform": platform}]
    if out is not None:
        if not writer:  # process 0 checks (and after a crash repairs) the folder first
            _barrier("open")
        try:
            manifest = _open_run(out, resume=resume, overwrite=overwrite, extend=extend,
                                 settings=settings, config=config, writer=writer)
        finally:
            if writer:
                _barrier("open")
        results["epochs"] = list(manifest["history"])
        history = _device_history(manifest, len(results["epochs"]), n_devices, platform)
        manifest["device_history"] = history
        if manifest["files"]:
            model = _load_checkpoint(out, "last_model.eqx", model)
            opt_state = _load_checkpoint(out, "opt_state.eqx", opt_state)
            row = _best_so_far(results["epochs"]) if select == "best_val" else None
            if row is not None:
                best = (row, _load_checkpoint(out, "model.eqx", model))
    start = len(results["epochs"])
    results.update(devices=n_devices, platform=platform, processes=jax.process_count(),
                   device_history=history)

    dyn, static = eqx.partition(model, eqx.is_array)
    x_train, y_train = train
    y_train = jnp.asarray(y_train)
    epoch, leaf_names = _epoch_fn(static, loss_fn, optimizer, batch_size, post_update, with_key,
                                  check_finite, mesh)
    t0 = time.perf_counter()
    perm0 = jnp.arange(n_train)
    if mesh is None:
        run_epoch = jax.jit(epoch, donate_argnums=()).lower(
            dyn, opt_state, x_train, y_train, perm0, key
        ).compile()
    else:  # replicated in and out; only the minibatches inside are split (see _epoch_fn)
        replicated = NamedSharding(mesh, P())
        dyn, opt_state, x_train, y_train, perm0, key0 = _place(
            (dyn, opt_state, x_train, y_train, perm0, key), replicated)
        run_epoch = jax.jit(epoch, in_shardings=replicated, out_shardings=replicated).lower(
            dyn, opt_state, x_train, y_train, perm0, key0
        ).compile()
    k_val, k_test = (jax.random.split(jax.random.fold_in(key, 0x7FFFFFFF)) if with_key
                     else (None, None))
    eval_val = (_make_evaluator(model, predict_fn, val, eval_batch_size, k_val, mesh) if val
                else None)
    eval_test = (_make_evaluator(model, predict_fn, test, eval_batch_size, k_test, mesh) if test
                 else None)
    results["compile_seconds"] = time.perf_counter() - t0
    if out is not None and not resume and writer:
        manifest = _start_run(out, manifest)

    bar = None
    if progress and epochs > start:
        from tqdm.auto import tqdm

        # disable=None: a live bar on a terminal only; the per-epoch lines are printed always.
        bar = tqdm(
            total=epochs, initial=start, desc="train", unit="epoch", dynamic_ncols=True,
            disable=None,
        )
        if start:
            bar.write(f"resuming {out} after epoch {start}")
        bar.write(f"compiled in {results['compile_seconds']:.1f} s")
    for e in range(start, epochs):
        k_epoch = jax.random.fold_in(key, e)
        perm = jax.random.permutation(k_epoch, n_train)
        k_steps = jax.random.fold_in(k_epoch, 1)
        if mesh is not None:
            perm, k_steps = _place((perm, k_steps), replicated)
        t = time.perf_counter()
        dyn, opt_state, losses, finite = run_epoch(dyn, opt_state, x_train, y_train, perm,
                                                   k_steps)
        losses = np.asarray(jax.block_until_ready(losses))
        seconds = time.perf_counter() - t
        _check_finite_epoch(losses, np.asarray(finite), leaf_names, e + 1, out)
        model = eqx.combine(dyn, static)
        row = {"epoch": e + 1, "train_loss": float(losses.mean()), "seconds": seconds}
        if eval_val is not None:
            row["val_accuracy"] = eval_val(model)
        results["epochs"].append(row)
        if select == "best_val" and (best is None or row["val_accuracy"] > best[0]["val_accuracy"]):
            best = (row, model)
        if bar is not None:
            bar.update(1)
            post = {"loss": f"{row['train_loss']:.4f}"}
            if "val_accuracy" in row:
                post["val_accuracy"] = f"{row['val_accuracy']:.4f}"
            bar.set_postfix(post)
            bar.write(
                f"epoch {e + 1:4d}/{epochs}  loss {row['train_loss']:.4f}"
                + (f"  val_acc {row['val_accuracy']:.4f}" if "val_accuracy" in row else "")
                + f"  {seconds:.2f} s"
            )
        if out is not None and writer:
            manifest = _save(out, manifest, results, model,
                             best[1] if best is not None else model, opt_state)
    if bar is not None:
        bar.close()

    last = model
    results["train_seconds"] = float(sum(r["seconds"] for r in results["epochs"]))
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
    if out is not None and writer:
        _save(out, manifest, results, last, model, opt_state, finished=True)
    return model, results


def _device_history(manifest: dict, start: int, devices: int, platform: str) -> list[dict]:
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


def _best_so_far(rows: list[dict]) -> dict | None:
    best = None
    for row in rows:
        if "val_accuracy" in row and (best is None or row["val_accuracy"] > best["val_accuracy"]):
            best = row
    return best


# ----------------------------------------------------------------------------- run folder


def _fsync_dir(folder: Path) -> None:
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


def _atomic_write(path: Path, data: bytes, *, sync_dir: bool = True) -> None:
    """Write ``data`` to ``path`` atomically: ``path.tmp`` in the same folder, flush + fsync,
    ``os.replace``; a crash leaves the old file or the new one, never a mix."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    if sync_dir:
        _fsync_dir(path.parent)


def _promote(out: Path, names: list[str]) -> None:
    """Step 3 of a save: ``NAME.new`` -> ``NAME``."""
    for name in names:
        os.replace(out / (name + ".new"), out / name)
    if names:
        _fsync_dir(out)


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, indent=2, default=_json_default).encode()


def _serialise(tree: Any) -> bytes:
    buf = io.BytesIO()
    eqx.tree_serialise_leaves(buf, tree)
    return buf.getvalue()


def _digest(data: bytes) -> dict:
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _commit(out: Path, manifest: dict, blobs: dict[str, bytes]) -> dict:
    """Save ``blobs`` (file name -> bytes) and ``manifest`` in the order of the module docstring;
    files whose digest is already in the manifest are not written again. Returns the manifest
    that was committed."""
    files = dict(manifest.get("files", {}))
    changed = []
    for name, data in blobs.items():
        entry = _digest(data)
        if files.get(name) != entry:
            _atomic_write(out / (name + ".new"), data, sync_dir=False)
            files[name] = entry
            changed.append(name)
    if changed:
        _fsync_dir(out)
    manifest = {**manifest, "files": files}
    _atomic_write(out / MANIFEST, _json_bytes(manifest))
    _promote(out, changed)
    return manifest


def _save(out: Path, manifest: dict, results: dict, last, selected, opt_state, *,
          finished: bool = False) -> dict:
    """Checkpoint after an epoch (or at the end): ``last`` + ``opt_state`` for resuming,
    ``selected`` as ``model.eqx``, then ``results.json``. Returns the committed manifest."""
    last_bytes = _serialise(last)
    blobs = {"last_model.eqx": last_bytes, "opt_state.eqx": _serialise(opt_state),
             "model.eqx": last_bytes if selected is last else _serialise(selected)}
    rows = results["epochs"]
    manifest = _commit(out, {**manifest, "epoch": len(rows), "finished": finished,
                             "history": rows}, blobs)
    write_results(out, results)
    return manifest


def _present(out: Path) -> list[str]:
    """The run files (and their ``.new`` / ``.tmp`` leftovers) in ``out``."""
    if not out.is_dir():
        return []
    names = [n + s for n in RUN_FILES for s in ("", ".new", ".tmp", ".new.tmp")]
    return [n for n in names if (out / n).exists()]


def _read_manifest(out: Path) -> dict:
    path = out / MANIFEST
    try:
        manifest = json.loads(path.read_text())
        fmt = manifest["format"]
        for k in ("epoch", "history", "files", "fit", "config"):
            manifest[k]  # noqa: B018
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
        raise RunFolderError(
            f"fit: {path} is not a readable run manifest ({type(err).__name__}: {err}); it was "
            f"edited or not written by jaxsnn_eqx. Pass overwrite=True (--overwrite) to delete "
            f"the run and start again."
        ) from None
    if not isinstance(fmt, int) or fmt > MANIFEST_FORMAT:
        raise RunFolderError(
            f"fit: {path} has format {fmt!r}; this version of jaxsnn_eqx reads format "
            f"{MANIFEST_FORMAT} and older. Resume with a newer jaxsnn_eqx."
        )
    return manifest


def _library() -> dict:
    from . import __version__  # the package is imported before this module is

    return {"name": "jaxsnn_eqx", "version": __version__}


def _describe(value: Any) -> str:
    return "(missing)" if value is _MISSING else json.dumps(value, default=_json_default)


_MISSING = object()


def _differences(manifest: dict, settings: dict, config: dict, extend: bool) -> dict:
    """``name -> (saved, now)`` for the settings and config keys that must match to resume."""
    ignored = IGNORED_ON_RESUME | ({"epochs"} if extend else set())
    saved_cfg, saved_fit = manifest["config"], manifest["fit"]
    diffs = {}
    for k in sorted(set(saved_cfg) | set(config)):
        a, b = saved_cfg.get(k, _MISSING), config.get(k, _MISSING)
        if k not in ignored and _describe(a) != _describe(b):
            diffs[k] = (a, b)
    for k in _FIT_KEYS:
        a, b = saved_fit.get(k, _MISSING), _to_json(settings[k])
        if k not in ignored and k not in diffs and _describe(a) != _describe(b):
            diffs[k] = (a, b)
    return diffs


def _open_run(out: Path, *, resume: bool, overwrite: bool, extend: bool, settings: dict,
              config: dict, writer: bool = True) -> dict:
    """Check ``out`` for a new or a resumed run (before anything is compiled). Resuming: finish
    an interrupted save (only the ``writer``; another process just checks the files) and return
    the saved manifest. A new run: return the manifest to start with (uncommitted:
    `_start_run` writes it once the epoch compiled)."""
    present = _present(out)
    if not resume:
        if present and not overwrite and not _is_empty_run(out, present):
            raise RunFolderError(_existing_run_message(out, present))
        return {"format": MANIFEST_FORMAT, "library": _library(), "epoch": 0,
                "finished": False, "fit": settings, "config": config, "extended": [],
                "history": [], "files": {}}
    if MANIFEST not in present:
        if present:
            raise RunFolderError(
                f"fit: cannot resume {out}: it holds {', '.join(present)} but no {MANIFEST} (a "
                f"run folder of an older jaxsnn_eqx, or not a run folder). Pass overwrite=True "
                f"(--overwrite) to delete these files and start again."
            )
        raise RunFolderError(
            f"fit: nothing to resume in {out}: "
            + ("the folder does not exist" if not out.exists() else f"it holds no {MANIFEST}")
            + ". Start the run without resume=True (--resume)."
        )
    manifest = _read_manifest(out)
    if manifest["library"] != _library():
        warnings.warn(f"fit: resuming {out}, saved by {manifest['library']} with "
                      f"{_library()}; numbers may differ from an uninterrupted run.",
                      stacklevel=3)
    diffs = _differences(manifest, settings, config, extend)
    if diffs:
        listed = "; ".join(f"{k}: saved {_describe(a)}, now {_describe(b)}"
                           for k, (a, b) in diffs.items())
        hint = ""
        if "epochs" in diffs and isinstance(diffs["epochs"][1], int) and isinstance(
                diffs["epochs"][0], int) and diffs["epochs"][1] > diffs["epochs"][0]:
            hint = (", or pass extend=True (--extend) to train it for more epochs (the "
                    "learning-rate schedule then differs from an uninterrupted run of that "
                    "length)")
        raise RunFolderError(
            f"fit: cannot resume {out}: the run was saved with other settings ({listed}). "
            f"Resume with the saved settings{hint}, or pass overwrite=True (--overwrite) to "
            f"start again."
        )
    planned = manifest["fit"]["epochs"]
    if extend and settings["epochs"] < planned:
        raise RunFolderError(
            f"fit: cannot extend {out} to epochs={settings['epochs']}: the saved run plans "
            f"{planned} epochs; extend=True (--extend) needs at least as many."
        )
    _recover(out, manifest, repair=writer)
    extended = list(manifest["extended"])
    if settings["epochs"] != planned:
        extended.append({"epoch": manifest["epoch"], "epochs": planned})
    manifest = {**manifest, "library": _library(), "fit": settings, "config": config,
                "extended": extended}
    if manifest["epoch"] != len(manifest["history"]):
        raise RunFolderError(f"fit: {out / MANIFEST} is inconsistent (epoch "
                             f"{manifest['epoch']}, {len(manifest['history'])} history rows).")
    return manifest


def _is_empty_run(out: Path, present: list[str]) -> bool:
    """Whether ``out`` holds only the manifest of a run that has not finished an epoch (a run
    that failed to start: nothing to lose)."""
    if present != [MANIFEST]:
        return False
    try:
        m = _read_manifest(out)
    except RunFolderError:
        return False
    return m["epoch"] == 0 and not m["files"]


def _start_run(out: Path, manifest: dict) -> dict:
    """Delete a run already in ``out`` (the manifest first; its other files stay), then commit
    ``manifest`` (epoch 0)."""
    present = _present(out)
    for name in sorted(present, key=lambda n: n != MANIFEST):
        (out / name).unlink()
    out.mkdir(parents=True, exist_ok=True)
    return _commit(out, manifest, {})


def _epochs(n: int) -> str:
    return f"{n} epoch" + ("" if n == 1 else "s")


def _existing_run_message(out: Path, present: list[str]) -> str:
    what = f"files of a run ({', '.join(present)}) without a readable {MANIFEST}"
    if MANIFEST in present:
        try:
            m = _read_manifest(out)
            what = (f"a finished run ({_epochs(m['epoch'])})" if m["finished"] else
                    f"an unfinished run ({m['epoch']} of {m['fit']['epochs']} epochs done)")
        except RunFolderError:
            pass
    return (f"fit: {out} already holds {what}. Pass resume=True (--resume) to continue it "
            f"(with extend=True / --extend for more epochs), or overwrite=True (--overwrite) to "
            f"delete it and start again, or choose another out (--out).")


def _matches(path: Path, entry: dict) -> bool:
    if not path.is_file() or path.stat().st_size != entry["bytes"]:
        return False
    return hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]


def _recover(out: Path, manifest: dict, *, repair: bool = True) -> None:
    """Finish a save that a crash interrupted (``NAME.new`` -> ``NAME`` where the manifest
    records the new file), check every checkpoint file's digest and drop uncommitted
    leftovers; ``repair=False``: only check (the files must be in place)."""
    for name, entry in manifest["files"].items():
        path, new = out / name, out / (name + ".new")
        if _matches(path, entry):
            continue
        if repair and _matches(new, entry):
            os.replace(new, path)
            continue
        state = "is missing" if not path.exists() else (
            f"has {path.stat().st_size} bytes where {MANIFEST} records {entry['bytes']}"
            if path.stat().st_size != entry["bytes"] else
            f"does not have the SHA-256 that {MANIFEST} records")
        raise RunFolderError(
            f"fit: cannot resume {out}: the checkpoint file {path} {state} (truncated, "
            f"replaced or deleted after the run saved it). Restore it, or pass overwrite=True "
            f"(--overwrite) to start again."
        )
    if not repair:
        return
    for name in _present(out):
        if name.endswith((".new", ".tmp")):
            (out / name).unlink()
    _fsync_dir(out)


def _load_checkpoint(out: Path, name: str, like: Any) -> Any:
    path = out / name
    try:
        return eqx.tree_deserialise_leaves(path, like)
    except Exception as err:  # noqa: BLE001 - any failure here means a foreign file
        raise RunFolderError(
            f"fit: cannot resume {out}: {path} does not fit the given model and optimizer "
            f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}). Resume "
            f"with the network and optimizer of the saved run, or pass overwrite=True "
            f"(--overwrite) to start again."
        ) from None


def write_results(out: str | Path, results: dict) -> None:
    """Write ``results`` to ``out/results.json`` atomically (a reader, or a crash, never leaves
    half a file). With several processes only process 0 writes (the others return)."""
    if not _is_writer():
        return
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _atomic_write(out / "results.json", _json_bytes(results))


def load_results(run_dir: str | Path) -> dict:
    """Read ``results.json`` of a run folder."""
    path = Path(run_dir) / "results.json"
    if not path.exists():
        raise FileNotFoundError(f"no results.json in {run_dir!s}")
    return json.loads(path.read_text())


def load_model(run_dir: str | Path, like: Any) -> Any:
    """Load ``model.eqx`` of a run folder into a model of the same structure as ``like``."""
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
