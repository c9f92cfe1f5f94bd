"""Synaptic delays: a spike of input ``i`` at ``t`` arrives at neuron ``j`` at ``t + d[i, j]``.

The arrival times are computed before the event kernel (differentiable JAX, so the gradients of
the delays and input times follow from those of the arrival times by autodiff) and the kernel
runs on them unchanged (`arrivals`):

* a delay per input (shape ``(n_in, 1)`` or ``()``) shifts the input spikes: one re-sorted list;
* a delay per neuron or per connection in a feed-forward layer gives each neuron its own
  sorted arrival list ``(K, n)``: the vmapped lanes (event loop and all-at-once path) take one
  column each, and the input-time cotangent of a lane is the delay cotangent of its column;
* per neuron or per connection in a recurrent population (one loop over all neurons): every
  input spike becomes ``n`` events, one per neuron (virtual inputs ``i n + j`` with weight
  ``w[i, j]`` into neuron ``j`` only).
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .merge import sorted_along

__all__ = ["check_delay", "arrivals"]


def check_delay(delay: Any, in_size: int, out_size: int, where: str, *, name: str = "delay",
                values: bool = True, dtype=None) -> Array:
    """``delay`` (s) as a floating array of shape ``()``, ``(in_size, 1)`` (per input),
    ``(1, out_size)`` (per neuron) or ``(in_size, out_size)`` (per connection).

    A 1-d array is refused (``(n,)`` would broadcast as per neuron, silently, where a delay per
    input was meant). With ``values`` (construction), concrete entries must be finite and
    ``>= 0``; traced ones are not checked. Raises ``ValueError``/``TypeError`` naming ``name``.
    """
    d = jnp.asarray(delay)
    if not (jnp.issubdtype(d.dtype, jnp.floating) or jnp.issubdtype(d.dtype, jnp.integer)):
        raise TypeError(f"{where}: `{name}` must be a real array (seconds), got dtype {d.dtype}.")
    if not jnp.issubdtype(d.dtype, jnp.floating):
        d = d.astype(jnp.result_type(float))
    if dtype is not None:
        d = d.astype(dtype)
    ok = d.ndim == 0 or (d.ndim == 2 and d.shape[0] in (1, in_size)
                         and d.shape[1] in (1, out_size))
    if not ok:
        raise ValueError(
            f"{where}: `{name}` must have shape () (one delay), ({in_size}, 1) (per input), "
            f"(1, {out_size}) (per neuron) or ({in_size}, {out_size}) (per connection), got "
            f"{d.shape}.")
    if values and not isinstance(d, jax.core.Tracer):
        arr = np.asarray(d)
        bad = ~np.isfinite(arr) | (arr < 0)
        if bad.any():
            pos = tuple(int(p) for p in np.argwhere(bad)[0]) if arr.ndim else ()
            raise ValueError(f"{where}: `{name}` must be finite and >= 0 (seconds), got "
                             f"{float(arr[pos])!r} at {pos}.")
    return d


def arrivals(in_time, in_idx, delay, weight, recurrent: bool):
    """The arrival times of the input spikes (see the module docstring): ``(in_time, in_idx,
    weight)`` for the kernel, differentiable with respect to ``in_time``, ``delay`` and
    ``weight``."""
    n_in, n = weight.shape
    d = jnp.where(delay >= 0, delay, 0.0)  # negative: 0, zero gradient (see `kernel.simulate`)
    d = d.reshape((1, 1) if d.ndim == 0 else d.shape)
    row = jnp.clip(in_idx, 0, n_in - 1)
    per_input = d.shape[1] == 1
    if per_input:  # a shift of the input spikes: one list
        arrival = in_time + (d[0, 0] if d.shape[0] == 1 else d[row, 0])
        if d.shape[0] == 1:  # the same shift for every input: still sorted
            return arrival, in_idx, weight
        return sorted_along(arrival, in_idx) + (weight,)
    arrival = in_time[:, None] + (d if d.shape[0] == 1 else d[row])  # (K, n)
    idx = jnp.broadcast_to(in_idx[:, None], arrival.shape)
    if not recurrent:  # one sorted arrival list per neuron (per neuron: already sorted)
        if d.shape[0] == 1:
            return arrival, idx, weight
        return sorted_along(arrival, idx) + (weight,)
    # one loop over the population: every input spike becomes n events, one per neuron, from
    # the virtual input i n + j that reaches neuron j only
    j = jnp.arange(n, dtype=idx.dtype)
    virtual = jnp.where(idx >= 0, idx * n + j, -1)
    w_virtual = (weight[:, :, None] * jnp.eye(n, dtype=weight.dtype)).reshape(n_in * n, n)
    time, virtual = sorted_along(arrival.reshape(-1), virtual.reshape(-1))
    return time, virtual, w_virtual
