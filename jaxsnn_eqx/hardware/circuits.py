"""The emulated chip's forward pass for feed-forward blocks of single-spike neurons whose
circuits have their own time constants.

With per-circuit ``tau_mem`` and ``tau_syn`` (fixed-pattern variation) the ratio
``tau_mem / tau_syn`` is no longer 2, the threshold crossing has no closed form, and
`event.lif.first_spike_times` solves it by bracketed Newton in *every* interval between two
inputs of every neuron (``K x n`` solves). The chip's forward pass needs no derivative (the
backward pass is the software model's), so here each neuron's first interval that reaches
threshold is found first, from the exact peak of the membrane in each interval (closed form,
`event.lif.peak_time`), and only that interval (and the next one that reaches it, in case
rounding disagrees) is solved by `event.lif.threshold_crossing`: ``2 n`` solves. The spike
times are the exact model's, to rounding.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..event.backend import block_neuron
from ..event.lif import LIFNeuron, LIFParams, membrane, peak_time, threshold_crossing
from ..spikes import Spikes

__all__ = ["block_first_spikes", "chain_first_spikes"]


def _states(t, q, tm, ts):
    """``(u_k, i_k)``, each ``(K, n)``: the state just after input ``k`` (inputs sorted; equal
    times in slot order), by one scan of the exact free flow between inputs and their jumps."""

    def step(carry, x):
        u, i, t_prev = carry
        t_k, q_k = x
        dt = t_k - t_prev
        u = membrane(dt, u, i, tm, ts)
        i = i * jnp.exp(-dt / ts) + q_k
        return (u, i, t_k), (u, i)

    zero = jnp.zeros(q.shape[1:], q.dtype)
    _, (u, i) = jax.lax.scan(step, (zero, zero, jnp.zeros((), t.dtype)), (t, q))
    return u, i


def block_first_spikes(
    params: LIFParams,
    weight: Float[Array, "n_in n"],
    spikes: Spikes,
    t_max: float,
) -> Float[Array, " n"]:
    """First spike time (s) of each neuron of a feed-forward block at rest at ``t = 0``
    (``inf``: none before ``t_max``), for any (per-neuron) ``tau_mem / tau_syn``; not
    differentiated. ``spikes``: unbatched, any slot order."""
    order = jnp.argsort(spikes.time, stable=True)
    t_in, idx = spikes.time[order], spikes.idx[order]
    n_in, n = weight.shape
    dtype = jnp.result_type(weight.dtype, t_in.dtype)
    valid = (idx >= 0) & (t_in < t_max)
    t = jnp.where(valid, t_in, t_max).astype(dtype)
    w = jnp.where(valid[:, None], weight[jnp.clip(idx, 0, n_in - 1)], 0.0).astype(dtype)
    vec = lambda x: jnp.broadcast_to(jnp.asarray(x, dtype), (n,))  # noqa: E731
    tm, ts = vec(params.tau_mem), vec(params.tau_syn)
    theta = vec(params.v_th) - vec(params.v_leak)
    u, i = _states(t, w / ts, tm, ts)
    horizon = jnp.maximum(jnp.concatenate([t[1:], jnp.full((1,), t_max, dtype)]) - t, 0.0)
    h = jnp.broadcast_to(horizon[:, None], u.shape)
    rising = (i > 0) & (i > u)
    t_peak = jnp.minimum(peak_time(u, i, tm, ts), h)
    t_peak = jnp.where(rising & jnp.isfinite(t_peak), t_peak, 0.0)
    reaches = (u >= theta) | (rising & (membrane(t_peak, u, i, tm, ts) >= theta))
    # the first two intervals per neuron that reach threshold (K: none)
    k_all = jnp.arange(t.shape[0])[:, None]
    first = jnp.min(jnp.where(reaches, k_all, t.shape[0]), axis=0)
    second = jnp.min(jnp.where(reaches & (k_all > first), k_all, t.shape[0]), axis=0)
    cand = jnp.stack([first, second])  # (2, n)
    ok = cand < t.shape[0]
    at = jnp.clip(cand, 0, t.shape[0] - 1)
    pick = lambda a: jnp.take_along_axis(a, at, axis=0)  # noqa: E731
    dt = threshold_crossing(pick(u), pick(i), tm, ts, theta, pick(h))
    t_cross = jnp.where(ok & jnp.isfinite(dt), t[at] + dt, jnp.inf)
    return jax.lax.stop_gradient(jnp.min(t_cross, axis=0))


def chain_first_spikes(
    params: LIFParams,
    weights: tuple[Float[Array, "pre post"], ...],
    edges: tuple[int, ...],
    spikes: Spikes,
    t_max: float,
    max_spikes: int,
) -> Spikes:
    """A chain of blocks (``weights[b]``: inputs -> block 0, then block ``b - 1`` -> ``b``;
    ``edges`` as `event.block_edges`) of single-spike neurons with per-neuron ``params``
    (shape ``()`` or ``(size,)``): the population's sorted output `Spikes` (length
    ``max_spikes``; ties: earlier block, then lower index, first)."""
    size = edges[-1]
    times, prev = [], spikes
    for b, w in enumerate(weights):
        lo, hi = edges[b], edges[b + 1]
        p_b = block_neuron(LIFNeuron(params), lo, hi, size).params
        t_b = block_first_spikes(p_b, w, prev, t_max)
        times.append(t_b)
        prev = Spikes(t_b, jnp.where(jnp.isfinite(t_b), jnp.arange(hi - lo), -1))
    t = jnp.concatenate(times)
    t = eqx.error_if(t, jnp.sum(jnp.isfinite(t)) > max_spikes,
                     f"hardware.Emulator: the population emitted more than max_spikes="
                     f"{max_spikes} spikes before t_max; increase max_spikes.")
    order = jnp.argsort(t, stable=True)[:max_spikes]
    t = t[order]
    pad = max_spikes - t.shape[0]
    idx = jnp.where(jnp.isfinite(t), jnp.arange(size)[order], -1).astype(jnp.int32)
    if pad > 0:
        t = jnp.concatenate([t, jnp.full((pad,), jnp.inf, t.dtype)])
        idx = jnp.concatenate([idx, jnp.full((pad,), -1, jnp.int32)])
    return Spikes(t, idx)
