"""The `Spikes` pytree: a fixed-size, time-sorted list of (time, neuron index) events.

Unused slots hold ``time = +inf`` and ``idx = -1`` so that every array has a static shape and
sorting keeps the real events first. A batch of spike lists is a `Spikes` whose arrays carry a
leading batch axis (as produced by ``jax.vmap``).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

__all__ = ["Spikes"]


class Spikes(eqx.Module):
    """Spike events sorted by time.

    Attributes:
        time: spike times in seconds, shape ``(*batch, n)``; ``+inf`` marks an unused slot.
        idx: index of the neuron that fired, shape ``(*batch, n)``; ``-1`` marks an unused slot.
    """

    time: Float[Array, "*batch n"]
    idx: Int[Array, "*batch n"]

    def __init__(self, time: ArrayLike, idx: ArrayLike):
        time = jnp.asarray(time)
        idx = _integer_idx(idx, "Spikes")
        if not jnp.issubdtype(time.dtype, jnp.floating):
            time = time.astype(jnp.result_type(float))
        if time.shape != idx.shape:
            raise ValueError(
                f"Spikes.time and Spikes.idx must have the same shape, got {time.shape} "
                f"and {idx.shape}."
            )
        self.time = time
        self.idx = idx

    # ------------------------------------------------------------------ constructors
    @classmethod
    def empty(cls, n: int, dtype=None) -> Spikes:
        """A spike list with ``n`` unused slots."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise ValueError(f"Spikes.empty: `n` must be a non-negative integer, got {n!r}.")
        dtype = jnp.result_type(float) if dtype is None else dtype
        return cls(jnp.full((n,), jnp.inf, dtype), jnp.full((n,), -1, jnp.int32))

    @classmethod
    def from_arrays(
        cls, time: ArrayLike, idx: ArrayLike, size: int | None = None
    ) -> Spikes:
        """Build sorted spikes from unsorted ``time``/``idx`` arrays, padded to ``size`` slots.

        Events with non-finite time are treated as unused slots. Raises if more than ``size``
        real events are given (concretely, outside of ``jit``). ``idx`` must have an integer
        dtype, as in `Spikes` (a float index is refused, not truncated).
        """
        time = jnp.asarray(time)
        idx = _integer_idx(idx, "Spikes.from_arrays").astype(jnp.int32)
        if not jnp.issubdtype(time.dtype, jnp.floating):
            time = time.astype(jnp.result_type(float))
        n = time.shape[-1]
        size = n if size is None else size
        if size < n:
            n_real = jnp.sum(jnp.isfinite(time), axis=-1)
            if not isinstance(n_real, jax.core.Tracer) and np.any(np.asarray(n_real) > size):
                raise ValueError(f"Spikes.from_arrays: {int(np.max(np.asarray(n_real)))} finite "
                                 f"spike times given, more than size={size}.")
            time = eqx.error_if(
                time,
                jnp.any(n_real > size),
                f"Spikes.from_arrays: more than size={size} finite spike times given.",
            )
        out = cls(time, jnp.where(jnp.isfinite(time), idx, -1)).sort()
        return out.pad(size) if size >= n else cls(out.time[..., :size], out.idx[..., :size])

    # ------------------------------------------------------------------ helpers
    @property
    def size(self) -> int:
        """Number of slots (static)."""
        return self.time.shape[-1]

    @property
    def count(self) -> Int[Array, "*batch"]:
        """Number of real (finite-time) events."""
        return jnp.sum(jnp.isfinite(self.time), axis=-1)

    @property
    def valid(self) -> jax.Array:
        """Boolean mask of the real events."""
        return jnp.isfinite(self.time)

    def sort(self) -> Spikes:
        """Sort by time (stable: equal times keep their order); unused slots go last."""
        order = jnp.argsort(self.time, axis=-1, stable=True)
        return Spikes(
            jnp.take_along_axis(self.time, order, axis=-1),
            jnp.take_along_axis(self.idx, order, axis=-1),
        )

    def pad(self, size: int) -> Spikes:
        """Append unused slots up to ``size`` (must be >= current size)."""
        n = self.size
        if size < n:
            raise ValueError(f"Spikes.pad: size={size} is smaller than the current size {n}.")
        widths = [(0, 0)] * (self.time.ndim - 1) + [(0, size - n)]
        return Spikes(
            jnp.pad(self.time, widths, constant_values=jnp.inf),
            jnp.pad(self.idx, widths, constant_values=-1),
        )

    def first_times(self, n_neurons: int) -> Float[Array, "*batch n_neurons"]:
        """First spike time of each neuron (``inf`` for a neuron that never fired)."""
        _check_n_neurons(n_neurons, "first_times")

        def one(time, idx):
            seg = jnp.where(idx >= 0, idx, n_neurons)  # unused slots go to a dropped segment
            return jax.ops.segment_min(time, seg, num_segments=n_neurons + 1)[:n_neurons]

        fn = one
        for _ in range(self.time.ndim - 1):
            fn = jax.vmap(fn)
        return fn(self.time, self.idx)

    def counts(self, n_neurons: int) -> Int[Array, "*batch n_neurons"]:
        """Number of spikes of each neuron."""
        _check_n_neurons(n_neurons, "counts")

        def one(valid, idx):
            seg = jnp.where(valid, idx, n_neurons)  # unused slots go to a dropped segment
            ones = valid.astype(jnp.int32)
            return jax.ops.segment_sum(ones, seg, num_segments=n_neurons + 1)[:n_neurons]

        fn = one
        for _ in range(self.time.ndim - 1):
            fn = jax.vmap(fn)
        return fn(self.valid, self.idx)

    def to_dense(
        self, n_neurons: int, t_max: float, dt: float
    ) -> Float[Array, "*batch steps n_neurons"]:
        """Bin into a dense ``(steps, n_neurons)`` count raster with bins of width ``dt``.

        ``steps = ceil(t_max / dt)``; the bin of a spike at time ``t`` is ``floor(t / dt)``.
        Spikes at or after ``t_max`` are dropped.
        """
        _check_n_neurons(n_neurons, "to_dense")
        if not (t_max > 0 and dt > 0):
            raise ValueError(f"Spikes.to_dense: need t_max > 0 and dt > 0 (s), got t_max={t_max}, "
                             f"dt={dt}.")
        steps = int(np.ceil(t_max / dt - 1e-9))
        valid = self.valid & (self.time < t_max) & (self.time >= 0)
        b = jnp.where(valid, jnp.floor(self.time / dt), steps).astype(jnp.int32)
        b = jnp.clip(b, 0, steps)
        i = jnp.where(valid, self.idx, n_neurons)
        flat = b * (n_neurons + 1) + i

        def one(flat):
            out = jnp.zeros(((steps + 1) * (n_neurons + 1),), self.time.dtype).at[flat].add(1.0)
            return out.reshape(steps + 1, n_neurons + 1)[:steps, :n_neurons]

        fn = one
        for _ in range(self.time.ndim - 1):
            fn = jax.vmap(fn)
        return fn(flat)

    def concatenate(self, other: Spikes, offset: int = 0) -> Spikes:
        """Merge with ``other`` (whose indices are shifted by ``offset``), sorted by time."""
        idx = jnp.where(other.idx >= 0, other.idx + offset, -1)
        return Spikes(
            jnp.concatenate([self.time, other.time], axis=-1),
            jnp.concatenate([self.idx, idx], axis=-1),
        ).sort()

    def __getitem__(self, item) -> Spikes:
        """Index the batch axes (e.g. ``spikes[0]`` is the first sample of a batch)."""
        if self.time.ndim < 2:
            raise IndexError("Spikes[...] indexes batch axes; this Spikes has none.")
        return Spikes(self.time[item], self.idx[item])


def _check_n_neurons(n: int, where: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"Spikes.{where}: `n_neurons` must be a positive integer, got {n!r}.")


def _integer_idx(idx: ArrayLike, where: str) -> Int[Array, "..."]:
    """``idx`` as an array; a ``TypeError`` unless its dtype is an integer (bool and float
    indices are refused, never truncated)."""
    idx = jnp.asarray(idx)
    if not jnp.issubdtype(idx.dtype, jnp.integer):
        raise TypeError(
            f"{where}: idx (Spikes.idx) must be an integer array, got dtype {idx.dtype}; "
            "neuron indices are whole numbers (cast with .astype(int) if the values are)."
        )
    return idx
