"""Data parallelism and multi-host runs: the device mesh, placement of arrays on it, and the
processes of a multi-host run.

Several devices (``devices`` of `fit` and `evaluate`; the tasks' ``--devices N``): a
`jax.sharding.Mesh` with one axis ``"batch"`` spans the first ``devices`` of `jax.devices()`;
the model, the optimizer state, the data set and the shuffling are replicated on every device
(``NamedSharding(mesh, P())``), and inside the compiled step each minibatch is split along its
leading (sample) axis (``NamedSharding(mesh, P("batch"))``), so every device runs the forward
and backward pass of ``batch_size / devices`` samples and XLA inserts the all-reduce of the
gradients (the loss is a mean over the batch). ``batch_size`` must be a multiple of
``devices``; evaluation batches are rounded up to one (the padding is masked out of the count,
so accuracies do not change). ``devices=1`` (the default) compiles exactly the single-device
program. On a CPU, ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` (set before JAX is
imported) makes N host devices to try it.

Several processes (one per host, `init_distributed` first): the mesh spans every process's
devices (`jax.devices()` is global), so ``devices`` must then be ``None`` / 0 (all) or
`jax.device_count()` (or 1: each process trains alone on its first device, the same run
everywhere, process 0 writing it). Every process runs `fit` with the same arguments and the
same full data set: it is replicated, and the compiled step picks each device's share of the
batch, so no process needs to know which samples its devices take. Process 0 alone writes the
run folder (and `write_results`); to resume, every process reads it, so ``out`` must then lie
on a file system every host sees.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.tree_util as jtu
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from .arguments import FitArgumentError

__all__ = ["init_distributed", "data_mesh", "batch_splitter", "place", "replicated",
           "barrier", "is_writer"]


def batch_splitter(mesh: Mesh | None) -> Callable[[Any], Any]:
    """``tree -> tree`` that, inside a compiled function, splits every leaf along its leading
    (sample) axis over the ``"batch"`` axis of ``mesh`` (the identity for ``mesh=None``)."""
    if mesh is None:
        return lambda tree: tree
    sharding = NamedSharding(mesh, P("batch"))
    return lambda tree: jtu.tree_map(
        lambda a: jax.lax.with_sharding_constraint(a, sharding), tree)


def replicated(mesh: Mesh) -> NamedSharding:
    """The sharding that holds a full copy of an array on every device of ``mesh``."""
    return NamedSharding(mesh, P())


def data_mesh(devices: int | None, batch_size: int | None, who: str = "fit") -> Mesh | None:
    """The one-axis (``"batch"``) mesh over the first ``devices`` of `jax.devices()`
    (``None`` / 0: all of them), or ``None`` for a single device (the plain single-device
    program, on each process's default device). Checks that ``batch_size`` (when given)
    divides into them; ``who`` names the caller in the errors.

    Raises:
        ValueError: ``devices`` is not a non-negative integer or ``None``, more devices than
            exist, fewer than all with several processes, or a ``batch_size`` that is not a
            multiple of the device count.
    """
    if devices is not None and (isinstance(devices, bool) or not isinstance(devices, int)
                                or devices < 0):
        raise FitArgumentError(f"{who}: `devices` must be a positive integer, or None / 0 for all "
                         f"devices, got {devices!r}.")
    every = jax.devices()
    n = len(every) if not devices else devices
    if n > len(every):
        raise FitArgumentError(
            f"{who}: devices={n} asked for, but only {len(every)} {every[0].platform} "
            f"device(s) exist (jax.devices()); pass devices <= {len(every)}, or None / 0 for "
            f"all. To try several devices on a CPU, set "
            f"XLA_FLAGS=--xla_force_host_platform_device_count={n} before Python starts (JAX "
            f"reads it when it is imported)."
        )
    if jax.process_count() > 1 and 1 < n < len(every):
        raise FitArgumentError(
            f"{who}: with {jax.process_count()} processes the batch is split over every "
            f"device of every process ({len(every)} in all); pass devices=None / 0 (--devices "
            f"0) or devices={len(every)} (or 1: every process trains alone), got {devices!r}."
        )
    if batch_size is not None and batch_size % n:
        lower, upper = batch_size // n * n, -(-batch_size // n) * n
        hint = f"{lower} or {upper}" if lower else f"{upper}"
        raise FitArgumentError(
            f"{who}: batch_size {batch_size} does not divide into {n} devices (each device "
            f"takes an equal share of every batch); use a multiple of {n} (e.g. {hint}) or a "
            f"device count that divides {batch_size}."
        )
    if n == 1:
        return None
    return Mesh(np.asarray(every[:n]), ("batch",))


def place(tree: Any, sharding: NamedSharding) -> Any:
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


def barrier(name: str) -> None:
    """Wait until every process got here (several processes only)."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(f"jaxsnn_eqx.fit.{name}")


def is_writer() -> bool:
    """Whether this process writes run folders: the only one, or process 0 of several."""
    return jax.process_index() == 0


def init_distributed(coordinator_address: str | None = None, num_processes: int | None = None,
                     process_id: int | None = None) -> tuple[int, int]:
    """Join the processes of a multi-host run (`jax.distributed.initialize`); call it in every
    process, once, before anything else touches JAX (data, models, `jax.devices`).

    Afterwards `jax.devices` lists the devices of every process, and `fit` with
    ``devices=None`` splits each batch over all of them (see this module's docstring).
    Arguments left ``None`` come from ``JAX_COORDINATOR_ADDRESS`` or from JAX's cluster
    detection (Slurm, Open MPI, TPU pods).

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
