"""Feed-forward populations: one event loop per neuron (a lane), buffers sized by what fires.

A feed-forward population runs one `loop.event_loop` per output neuron (vmapped over the
neurons) and merges the lanes' spike buffers into one sorted list (`merge.merge_lanes`). A lane
steps through every input spike and its own spikes, so its loop is short; but its buffers (its
output slots, and for the replayed backward pass the carry before every step) have one slot per
possible spike, and a buffer costs memory and time (filling it, merging it, and the cache
misses of every step that writes one slot of it) whether it is used or not.

So with ``max_spikes_per_neuron=None`` the lanes' buffers grow in rungs (`lane_sizes`): the
population first runs with small buffers (twice an even share of the layer's ``max_spikes``);
only if some neuron of the batch fills its buffer does it run again with buffers `GROWTH` times
larger, up to ``max_spikes``. The choice is made for the whole vmapped batch at once
(`loop.batch_max`), so it stays a branch (`jax.lax.cond`), and the spikes are those of a run that
did not overflow: the same whatever the rung. The replayed backward pass differentiates the run
that was kept: the first rung's recorded steps, or a larger rung's steps recorded again in the
backward pass (`lanes_backward`). A ``max_spikes_per_neuron`` set by the user is one rung.
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from .loop import batch_max, event_loop, lane_axis, lanes
from .merge import merge_lanes

__all__ = ["GROWTH", "lane_sizes", "run_lanes", "forward_lanes", "lanes_backward", "lane_slots"]

GROWTH = 4
"""How much larger each rung's per-neuron buffers are than the last (`lane_sizes`)."""


def lane_sizes(max_spikes: int, n: int, per: int, grow: bool) -> tuple[int, ...]:
    """The per-neuron buffer sizes that a population of ``n`` lanes tries in turn, the last one
    ``per`` (the most spikes a neuron may emit). Without ``grow``: ``(per,)``. With it, the
    first is twice an even share of ``max_spikes`` (at least 8, a multiple of 8), then each
    `GROWTH` times the last."""
    if not grow:
        return (per,)
    first = -(-max(8, -(-2 * max_spikes // n)) // 8) * 8
    return (first, per) if first * GROWTH <= per else (per,)


def lane_slots(order, per: int):
    """``(lane, k)``: where each merged output slot came from (`merge.merge_lanes`' ``order``
    into ``n`` buffers of length ``per``); an unused slot has ``lane = n``, past the lanes."""
    return order // per, order % per


def run_lanes(vjp_arg, in_idx, cfg, per: int, record: bool):
    """One forward pass of a feed-forward population with per-neuron buffers of ``per`` slots:
    ``((out_time, out_idx), (kinds, history, slots), (lane_overflow, too_many))`` (``kinds``,
    ``history``: each lane's recorded steps, see `loop.event_loop`; ``slots``: `lane_slots`)."""
    neuron, weight, _, in_time = vjp_arg
    nd, static = eqx.partition(neuron, eqx.is_inexact_array)

    def one(nd_j, w_j, t_j, i_j):
        t, _, k, ovf, hist = event_loop(eqx.combine(nd_j, static), w_j[:, None], None, t_j, i_j,
                                        cfg.t_max, per, record, batching=cfg.batching)
        return t, k, ovf, hist

    ax = lane_axis(in_time)  # per-neuron arrival lists (delays): one column per lane
    times, kinds, overflow, hist = jax.vmap(one, in_axes=(0, 1, ax, ax))(
        lanes(nd, weight.shape[1]), weight, in_time, in_idx)
    out_t, out_i, order, too_many = merge_lanes(times, cfg.max_spikes)
    return (out_t, out_i), (kinds, hist, lane_slots(order, per)), (jnp.any(overflow), too_many)


def forward_lanes(vjp_arg, in_idx, cfg, record: bool):
    """The forward pass of a feed-forward population over the rungs ``cfg.lane_sizes``:
    ``((out_time, out_idx), (kinds, history, slots, rung), (lane_overflow, too_many))``, with
    ``kinds`` and ``history`` those of the first rung (recorded if ``record``), and ``rung`` the
    index of the rung whose run is returned."""
    sizes = cfg.lane_sizes
    out, (kinds, hist, slots), flags = run_lanes(vjp_arg, in_idx, cfg, sizes[0], record)

    def kept(out, slots, flags, r):
        return out, slots, flags, jnp.asarray(r, jnp.int32)

    def from_rung(r):
        out, (_, _, slots), flags = run_lanes(vjp_arg, in_idx, cfg, sizes[r], False)
        if r + 1 == len(sizes):
            return kept(out, slots, flags, r)
        return jax.lax.cond(batch_max(flags[0]), lambda: from_rung(r + 1),
                            lambda: kept(out, slots, flags, r))

    if len(sizes) == 1:
        return out, (kinds, hist, slots, jnp.zeros((), jnp.int32)), flags
    out, slots, flags, rung = jax.lax.cond(batch_max(flags[0]), lambda: from_rung(1),
                                           lambda: kept(out, slots, flags, 0))
    return out, (kinds, hist, slots, rung), flags


def lanes_backward(vjp_arg, in_idx, cfg, residuals, backward: Callable, record: bool):
    """``backward(kinds, history, slots, per)`` at the rung the forward pass kept, chosen for
    the whole vmapped batch: with the first rung's recorded steps, or at a larger rung with its
    steps recorded again (if ``record``: the replay needs them). The first rung's pass runs
    outside the branch (its recorded steps are large and would be copied into it) and is
    discarded where a larger rung was kept."""
    kinds, hist, slots, rung = residuals
    sizes = cfg.lane_sizes
    grads = backward(kinds, hist, slots, sizes[0])
    if len(sizes) == 1:
        return grads

    def at(r):
        def branch():
            k = h = None  # an adjoint needs no recorded steps
            if record:
                _, (k, h, _), _ = run_lanes(vjp_arg, in_idx, cfg, sizes[r], True)
            return backward(k, h, slots, sizes[r])
        return branch

    rung = batch_max(rung)
    zero = jax.tree.map(jnp.zeros_like, grads)
    larger = jax.lax.switch(rung, [lambda: zero] + [at(r) for r in range(1, len(sizes))])
    return jax.tree.map(lambda a, b: jnp.where(rung > 0, b, a), grads, larger)
