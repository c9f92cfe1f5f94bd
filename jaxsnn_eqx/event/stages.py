"""A population whose connectivity is a stack of layers, simulated one stage at a time.

A recurrent population runs one event loop: every iteration handles one event (an input spike or
the population's next threshold crossing), so its cost grows with the number of events, and
under ``jax.vmap`` every sample waits for the slowest. When the fixed connectivity ``mask`` of
``weight_rec`` has no cycle (e.g. a population masked to emulate 5-120-3: hidden -> output only),
the connectivity itself proves that most of those events are independent: a neuron's spikes
depend only on the inputs and on the neurons before it. Such a population splits into *stages*
(stage 0: neurons without recurrent input; stage ``s``: neurons whose latest recurrent input comes
from stage ``s - 1``), and each stage is a feed-forward population that receives the external
inputs and the spikes of all earlier stages. Each stage is then solved with `simulate`'s
feed-forward paths (single-spike LIF neurons: all crossings of all neurons at once), and the
stages' output lists are merged into the population's one list.

The result is the same network, not an approximation: every input and every spike is still
processed, the spike times agree with the one event loop to rounding, and gradients (autodiff
or a pluggable backward pass such as EventProp, applied per stage, with the cotangents of the
spike times passed to the stages below) agree likewise (tested against the loop and finite
differences). Simultaneous spikes of different stages are ordered by stage (cause before
effect), as the loop orders a crossing before what it delivers at the same instant.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float

from ..spikes import Spikes
from .backward import Backward
from .kernel import simulate
from .merge import sort_order
from .neuron import EventNeuron

__all__ = ["feedforward_stages", "simulate_stages", "take_neurons", "MAX_STAGES"]

MAX_STAGES = 16
"""`feedforward_stages` gives up beyond this many stages (each stage is traced and compiled
once, so a long chain is cheaper as one event loop)."""


def feedforward_stages(
    mask: Bool[ArrayLike, "size size"] | None, *, max_stages: int = MAX_STAGES
) -> tuple[tuple[int, ...], ...] | None:
    """The stages of a population with recurrent connectivity ``mask[pre, post]``, or ``None``.

    ``mask`` must be concrete (numpy or a concrete JAX array). A neuron's stage is the length of
    the longest chain of connections that ends in it (0: no recurrent input). Returns one tuple
    of neuron indices per stage (ascending), or ``None`` when the mask has a cycle (a
    self-connection included), is ``None`` (all to all), is traced, or needs more than
    ``max_stages`` stages: then the population needs its one event loop.
    """
    if mask is None or isinstance(mask, jax.core.Tracer):
        return None
    m = np.asarray(mask) != 0
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"feedforward_stages: mask must be square, got shape {m.shape}.")
    size = m.shape[0]
    depth = np.zeros(size, np.int64)
    remaining = m.sum(0)  # unresolved recurrent inputs per neuron (Kahn's algorithm)
    ready = np.flatnonzero(remaining == 0)
    done = 0
    while ready.size:
        done += ready.size
        succ = m[ready]  # (len(ready), size): the neurons each ready one feeds
        for k, p in enumerate(ready):
            depth[succ[k]] = np.maximum(depth[succ[k]], depth[p] + 1)
        remaining = remaining - succ.sum(0)
        newly = np.flatnonzero((remaining == 0) & succ.any(0))
        ready = newly
    if done < size:  # a cycle
        return None
    n_stages = int(depth.max()) + 1 if size else 0
    if n_stages > max_stages:
        return None
    return tuple(tuple(int(j) for j in np.flatnonzero(depth == s)) for s in range(n_stages))


def _allowed(stages: tuple[tuple[int, ...], ...], size: int) -> np.ndarray:
    """``allowed[pre, post]``: ``pre`` is in an earlier stage than ``post``."""
    stage = np.empty(size, np.int64)
    for s, members in enumerate(stages):
        stage[list(members)] = s
    return stage[:, None] < stage[None, :]


def take_neurons(neuron: EventNeuron, idx: np.ndarray | slice, size: int) -> EventNeuron:
    """``neuron`` restricted to the neurons ``idx`` (indices or a slice) of a population of
    ``size``: every per-neuron parameter array (shape ``(size,)``) is indexed, shared ones
    (shape ``()``) are kept."""

    def take(x):
        if eqx.is_array(x) and x.ndim == 1 and x.shape[0] == size:
            return x[idx]
        return x

    return jax.tree.map(take, neuron)


def _stage_delay(delay: Array | None, stage: np.ndarray, n_prev: int) -> Array | None:
    """The input delays of one stage from the population's, shape ``(n_in, 1)`` or ``(n_in,
    size)``: theirs for the external inputs (the stage's columns), zero for the spikes of
    earlier stages (recurrent connections have no delay)."""
    if delay is None:
        return None
    d = delay if delay.shape[1] == 1 else delay[:, stage]
    return jnp.concatenate([d, jnp.zeros((n_prev, d.shape[1]), d.dtype)], axis=0)


def simulate_stages(
    neuron: EventNeuron,
    weight: Float[Array, "n_in size"],
    weight_rec: Float[Array, "size size"],
    spikes: Spikes,
    stages: tuple[tuple[int, ...], ...],
    *,
    t_max: float,
    max_spikes: int,
    backward: Backward | None = None,
    where: str = "event.simulate_stages",
    delay: Float[ArrayLike, "n_in size"] | None = None,
    mask: Bool[Array, "size size"] | None = None,
) -> Spikes:
    """A population with acyclic connectivity, stage by stage (see the module docstring).

    Arguments as `simulate` with ``weight_rec``; ``stages`` from `feedforward_stages` of the
    population's mask. ``weight_rec`` entries from a neuron to one in the same or an earlier
    stage must be zero: with ``mask`` given, a mask that allows such a connection raises (e.g.
    a mask replaced with ``eqx.tree_at`` after the stages were computed); without it the caller
    guarantees it. Every neuron of stage ``s`` receives the external inputs and the spikes of all
    neurons of earlier stages. More than ``max_spikes`` spikes in all raise, as in `simulate`.

    Returns:
        The population's output `Spikes` (indices in ``[0, size)``), length ``max_spikes``,
        sorted by time (ties: earlier stage first).
    """
    size = weight_rec.shape[0]
    if sorted(j for s in stages for j in s) != list(range(size)):
        raise ValueError(f"{where}: the stages must partition the {size} neurons exactly once.")
    if mask is not None:
        bad = jnp.any(jnp.asarray(mask) & ~jnp.asarray(_allowed(stages, size)))
        weight_rec = eqx.error_if(
            weight_rec, bad,
            f"{where}: the mask connects a neuron to one in the same or an earlier stage, so "
            "the population is no longer a stack of layers; its stages were computed from "
            "another mask (rebuild the layer, or use method='kernel').")
    single = bool(getattr(neuron, "single_spike", False))
    n_in = weight.shape[0]
    dtype = jnp.result_type(weight.dtype, weight_rec.dtype, spikes.time.dtype)
    if delay is not None:  # as (n_in, 1) (per input) or (n_in, size)
        delay = jnp.asarray(delay)
        delay = delay.reshape(1, 1) if delay.ndim == 0 else delay
        delay = jnp.broadcast_to(delay, (n_in, delay.shape[1]))
    prev_t = jnp.zeros((0,), dtype)
    prev_i = jnp.zeros((0,), jnp.int32)  # population indices of earlier stages' spikes
    prev_neurons = np.zeros((0,), np.int64)
    out_t, out_i = [], []
    for members in stages:
        idx = np.asarray(members, np.int64)
        n_prev = prev_neurons.size
        # the stage's inputs: earlier stages' spikes first (a crossing precedes what arrives at
        # the same instant), then the external inputs; local source index: n_in + position
        local = np.full((size,), -1, np.int64)
        local[prev_neurons] = n_in + np.arange(n_prev)
        src_i = jnp.where(prev_i >= 0, jnp.asarray(local)[jnp.clip(prev_i, 0, size - 1)], -1)
        t = jnp.concatenate([prev_t, spikes.time.astype(dtype)])
        i = jnp.concatenate([src_i.astype(spikes.idx.dtype), spikes.idx])
        order = sort_order(jax.lax.stop_gradient(t))
        t, i = t[order], i[order]
        w = jnp.concatenate([weight[:, idx], weight_rec[prev_neurons][:, idx]], axis=0)
        budget = min(max_spikes, idx.size if single else max_spikes)
        out = simulate(
            take_neurons(neuron, idx, size), w, Spikes(t, i), t_max=t_max, max_spikes=budget,
            backward=backward, where=f"{where}, stage of {idx.size} neurons",
            delay=_stage_delay(delay, idx, n_prev),
        )
        pop_i = jnp.where(out.idx >= 0, jnp.asarray(idx, jnp.int32)[jnp.clip(out.idx, 0)], -1)
        out_t.append(out.time)
        out_i.append(pop_i)
        prev_t = jnp.concatenate([prev_t, out.time.astype(dtype)])
        prev_i = jnp.concatenate([prev_i, pop_i])
        prev_neurons = np.concatenate([prev_neurons, idx])
    return _merge_stages(out_t, out_i, max_spikes, where)


def _merge_stages(times: list[Array], idx: list[Array], max_spikes: int, where: str) -> Spikes:
    """The stages' sorted lists -> one list of ``max_spikes`` sorted by time (stable: earlier
    stage first on ties); more spikes than ``max_spikes`` raise."""
    t = jnp.concatenate(times)
    i = jnp.concatenate(idx)
    t = eqx.error_if(
        t, jnp.sum(jnp.isfinite(t)) > max_spikes,
        f"{where}: the population emitted more than max_spikes={max_spikes} spikes before "
        "t_max; increase max_spikes.")
    if t.shape[0] < max_spikes:
        pad = max_spikes - t.shape[0]
        t = jnp.concatenate([t, jnp.full((pad,), jnp.inf, t.dtype)])
        i = jnp.concatenate([i, jnp.full((pad,), -1, i.dtype)])
    order = sort_order(jax.lax.stop_gradient(t))[:max_spikes]
    t, i = t[order], i[order]
    return Spikes(t, jnp.where(jnp.isfinite(t), i, -1).astype(jnp.int32))

