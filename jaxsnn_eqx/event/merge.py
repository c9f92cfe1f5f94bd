"""Sorting spike lists: stable sort orders, merging per-neuron buffers into one sorted list.

Everything here sorts by time with a stable rule (equal times keep their order) and never
differentiates the sort itself (the order is computed from `jax.lax.stop_gradient` values; the
times are then gathered, so their gradients flow through the gather).
"""

import jax
import jax.numpy as jnp

__all__ = ["sort_order", "merge_lanes", "packed_slots", "sorted_along", "RANK_SORT_MAX"]


RANK_SORT_MAX = 256
"""Up to this many slots `sort_order` ranks by counting (``O(L^2)``, vectorised) instead of
calling `jnp.argsort`."""


def sort_order(flat):
    """Indices that sort ``flat`` (stable). Short vectors are ranked by counting, which beats a
    comparison sort on CPU for a few hundred slots; longer ones use `jnp.argsort`."""
    n = flat.shape[0]
    if n > RANK_SORT_MAX:
        return jnp.argsort(flat, stable=True)
    i = jnp.arange(n)
    key = _sortable_int(flat)
    # rank[i] = #{j: key_j < key_i or (key_j == key_i and j < i)}: the position of slot i in
    # the stable order; for integers the tie rule is key_j < key_i + [j < i], one comparison
    rank = jnp.sum(key[:, None] < key[None, :] + (i[:, None] < i[None, :]), axis=0)
    return jnp.zeros((n,), i.dtype).at[rank].set(i, unique_indices=True)


def _sortable_int(x):
    """Signed integers (same width) in the order of the floats ``x`` (NaN-free; ``-0.0`` and
    ``0.0`` map to the same key), so that ``key + 1`` cannot overflow for any float."""
    x = jnp.where(x == 0, jnp.zeros_like(x), x)
    bits = jax.lax.bitcast_convert_type(x, jnp.dtype(f"int{8 * x.dtype.itemsize}"))
    # negative floats: flip the magnitude bits so that larger magnitudes sort first
    return jnp.where(bits < 0, bits ^ jnp.iinfo(bits.dtype).max, bits)


def merge_lanes(times, max_spikes):
    """Per-neuron spike buffers ``(n, per)`` -> one sorted list ``(max_spikes,)`` of times and
    neuron indices (unused slots ``inf``/``-1``), the sorting order into the flattened buffers
    (index ``n * per``: an unused slot), and whether there were more than ``max_spikes`` spikes
    (the caller raises; the list then holds ``max_spikes`` of them).

    Each buffer holds its spikes first, then ``inf`` (as the event loop writes them). Only
    ``max_spikes`` slots are sorted, whatever ``per``: the spikes are packed in buffer order
    (`packed_slots`) and sorted stably, which is the order of a stable argsort of all buffers.
    """
    n, per = times.shape
    counts = jnp.sum(jnp.isfinite(jax.lax.stop_gradient(times)), axis=1)
    too_many = jnp.sum(counts) > max_spikes
    flat = jnp.concatenate([times.reshape(-1), jnp.full((1,), jnp.inf, times.dtype)])
    src = packed_slots(counts, per, max_spikes)
    order = src[sort_order(jax.lax.stop_gradient(flat)[src])]
    out_t = flat[order]
    out_i = jnp.where(jnp.isfinite(out_t), (order // per).astype(jnp.int32), -1)
    return out_t, out_i, order, too_many


def packed_slots(counts, per: int, size: int):
    """Indices into ``n`` flattened buffers of length ``per`` whose first ``counts[j]`` entries
    are used: the used entries in order (buffer by buffer), then ``n * per`` (a slot past the
    buffers) up to ``size``: ``(size,)``."""
    ends = jnp.cumsum(counts)
    q = jnp.arange(size)
    lane = jnp.minimum(jnp.searchsorted(ends, q, side="right"), counts.shape[0] - 1)
    start = ends[lane] - counts[lane]
    return jnp.where(q < ends[-1], lane * per + q - start, counts.shape[0] * per)


def sorted_along(time, idx):
    """``(time, idx)`` sorted by time along the first axis (stable; padding ``inf`` last)."""
    order = jnp.argsort(jax.lax.stop_gradient(time), axis=0, stable=True)
    return jnp.take_along_axis(time, order, axis=0), jnp.take_along_axis(idx, order, axis=0)
