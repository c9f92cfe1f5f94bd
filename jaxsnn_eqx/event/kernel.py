"""The event kernel: `simulate`, exact event-driven simulation with exact gradients.

`simulate` runs a population of `EventNeuron`s from ``t = 0`` to ``t_max`` and returns its
output spikes; it is where the pieces meet:

* the forward pass: the event loop (`loop`: one `jax.lax.while_loop`, one event per iteration);
  feed-forward layers (``weight_rec is None``) run one loop per output neuron (vmapped), whose
  buffers are merged into one sorted list (`merge`); recurrent layers run one loop for the
  whole population. A population can emit at most ``max_spikes`` spikes: one more raises
  (`eqx.error_if`), nothing is dropped;
* single-spike feed-forward populations whose neuron provides `EventNeuron.first_spike_times`
  (the LIF does: `lif.first_spike_times`) skip the loop: their first spikes are solved for every
  neuron and every input interval at once, with an implicit-function derivative (``method=``);
* synaptic delays (``delay=``) become arrival times before the kernel runs (`delays`);
* gradients (`jax.custom_vjp` via `eqx.filter_custom_vjp`) by the ``backward=`` strategy
  (`backward`): by default the recorded event sequence is replayed and differentiated
  (`replay`); an adjoint such as EventProp (`eventprop`) needs only the spikes.
"""

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ..checks import check_finite, check_spikes, trust, warn_if_all_late
from ..spikes import Spikes
from .backward import Backward, adjoint_lanes, is_replay
from .delays import arrivals, check_delay
from .feedforward import forward_lanes, lane_sizes, lane_slots, lanes_backward
from .loop import LOOP_BATCHINGS, event_loop, lane_axis, lanes
from .merge import merge_lanes
from .neuron import EventNeuron, cast_floats
from .replay import replay_backward

__all__ = ["simulate", "run_forward", "check_overflow", "Config", "METHODS"]


METHODS = ("auto", "kernel", "parallel")
"""The ``method``s of `simulate`."""


class Config(NamedTuple):
    """The static configuration of one `simulate` call (part of its custom VJP)."""

    t_max: float
    max_spikes: int
    max_per_neuron: int
    recurrent: bool
    backward: Backward | None
    parallel: bool = False
    batching: tuple[str | None, int | None] = (None, None)  # (loop_batching, map_min_steps)
    lane_sizes: tuple[int, ...] = ()  # feed-forward: per-neuron buffer rungs (`feedforward`)


def run_forward(vjp_arg, in_idx, cfg: Config, record=False):
    """The forward pass of `simulate` (inside its custom VJP): ``((out_time, out_idx),
    (kinds, history, slots, rung), overflow)``, with the residuals as the backward passes need
    them (see `feedforward.forward_lanes`) and ``overflow`` the flags that `check_overflow`
    turns into errors."""
    neuron, weight, weight_rec, in_time = vjp_arg
    if cfg.parallel:  # single-spike feed-forward: the neuron's all-at-once first spikes
        if in_time.ndim == 1 or getattr(neuron, "per_neuron_arrivals", False):
            times = neuron.first_spike_times(weight, Spikes(in_time, in_idx), cfg.t_max)
        else:  # per-neuron arrival lists, one neuron at a time
            nd, static = eqx.partition(neuron, eqx.is_inexact_array)
            times = jax.vmap(
                lambda nd_j, w_j, t_j, i_j: eqx.combine(nd_j, static).first_spike_times(
                    w_j[:, None], Spikes(t_j, i_j), cfg.t_max)[0],
                in_axes=(0, 1, 1, 1))(lanes(nd, weight.shape[1]), weight, in_time, in_idx)
        out_t, out_i, order, too_many = merge_lanes(times[:, None], cfg.max_spikes)
        return (out_t, out_i), (None, None, lane_slots(order, 1), None), (None, None, too_many)
    if cfg.recurrent:
        out_t, out_i, kinds, overflow, hist = event_loop(
            neuron, weight, weight_rec, in_time, in_idx, cfg.t_max, cfg.max_spikes, record,
            batching=cfg.batching)
        return (out_t, out_i), (kinds, hist, None, None), (overflow, None, None)
    out, res, (lane_overflow, too_many) = forward_lanes(vjp_arg, in_idx, cfg, record)
    return out, res, (None, lane_overflow, too_many)


def check_overflow(out_time, overflow, cfg: Config, where: str):
    """``out_time``, raising (`eqx.error_if`) where `run_forward` reported an overflow:
    ``overflow = (population, lane, merged)`` (``None``: not checked on this path)."""
    population, lane, merged = jax.lax.stop_gradient(overflow)  # flags: no tangents
    if population is not None:
        out_time = eqx.error_if(
            out_time, population,
            f"{where}: the recurrent population emitted more than max_spikes="
            f"{cfg.max_spikes} spikes before t_max={cfg.t_max}; increase max_spikes.",
        )
    if lane is not None:
        out_time = eqx.error_if(
            out_time, lane,
            f"{where}: a neuron emitted more than {cfg.max_per_neuron} spikes before "
            f"t_max={cfg.t_max}, its per-neuron buffer (max_spikes_per_neuron, which defaults to "
            "and is capped by max_spikes); increase max_spikes_per_neuron if set below "
            "max_spikes, else max_spikes.",
        )
    if merged is not None:
        out_time = eqx.error_if(
            out_time, merged,
            f"{where}: the layer emitted more than max_spikes={cfg.max_spikes} spikes before "
            "t_max; increase max_spikes.",
        )
    return out_time


@eqx.filter_custom_vjp
def _simulate(vjp_arg, in_idx, cfg):
    (out_t, out_i), _, overflow = run_forward(vjp_arg, in_idx, cfg)
    return out_t, out_i, overflow


@_simulate.def_fwd
def _simulate_fwd(perturbed, vjp_arg, in_idx, cfg):
    del perturbed
    record = is_replay(cfg.backward)
    (out_t, out_i), res, overflow = run_forward(vjp_arg, in_idx, cfg, record=record)
    return (out_t, out_i, overflow), ((out_t, out_i), res)


@_simulate.def_bwd
def _simulate_bwd(residuals, grad_obj, perturbed, vjp_arg, in_idx, cfg):
    del perturbed
    (out_t, out_i), (kinds, hist, slots, rung) = residuals
    g_time = grad_obj[0]
    if g_time is None:
        g_time = jnp.zeros_like(out_t)
    g_time = jnp.where(jnp.isfinite(out_t), g_time, 0.0)
    neuron, weight, weight_rec, in_time = vjp_arg
    if is_replay(cfg.backward):
        if cfg.recurrent:
            return replay_backward(vjp_arg, in_idx, cfg, kinds, hist, None, g_time)
        return lanes_backward(
            vjp_arg, in_idx, cfg, (kinds, hist, slots, rung),
            lambda k, h, s, per: replay_backward(vjp_arg, in_idx, cfg, k, h, s, g_time, per),
            record=True)
    if lane_axis(in_time) is not None:
        if cfg.parallel:
            return adjoint_lanes(vjp_arg, in_idx, cfg, out_t, slots, g_time, per=1)
        return lanes_backward(
            vjp_arg, in_idx, cfg, (kinds, hist, slots, rung),
            lambda k, h, s, per: adjoint_lanes(vjp_arg, in_idx, cfg, out_t, s, g_time, per),
            record=False)
    g_n, g_w, g_wr, g_t = cfg.backward(
        neuron, weight, weight_rec, Spikes(in_time, in_idx), Spikes(out_t, out_i), g_time,
        t_max=cfg.t_max,
    )
    if g_n is None:
        g_n = jax.tree.map(lambda _: None, neuron)
    return (g_n, g_w, g_wr, g_t)


def simulate(
    neuron: EventNeuron,
    weight: Float[Array, "n_in n"],
    spikes: Spikes,
    *,
    t_max: float,
    max_spikes: int,
    weight_rec: Float[Array, "n n"] | None = None,
    max_spikes_per_neuron: int | None = None,
    backward: Backward | None = None,
    method: str = "auto",
    where: str = "event.simulate",
    delay: Float[ArrayLike, "n_in n"] | None = None,
    loop_batching: str | None = None,
    map_min_steps: int | None = None,
) -> Spikes:
    """Exact event-driven simulation of a population of ``n`` neurons, ``t`` in ``[0, t_max]``.

    Args:
        neuron: the model and its parameters (array fields: shape ``()`` or ``(n,)``).
        weight: input weights ``weight[pre, post]``.
        spikes: input `Spikes` (unbatched, sorted, times ``>= 0``; indices in ``[0, n_in)``).
        t_max: end of the simulation (s); crossings after it are not emitted.
        max_spikes: length of the output buffer; more spikes raise an error.
        weight_rec: recurrent weights ``(n, n)``, ``weight_rec[pre, post]``; ``None`` for a
            feed-forward layer (then the kernel is vmapped over neurons).
        max_spikes_per_neuron: feed-forward only, the most spikes one neuron may emit (more
            raise an error), a memory option. ``None`` (default): up to ``max_spikes``, with
            per-neuron buffers that start small and grow only if a neuron of the (vmapped)
            batch fills them (`feedforward`), so the cost follows the spikes emitted, not the
            budget. Set, the buffers have this size from the start.
        backward: the backward pass, a `Backward` strategy (e.g. `EventProp()`) or a function
            with the signature of `AbstractAdjoint.__call__`; ``None`` (default) or `Replay()`:
            exact autodiff (IFT) of the replayed event sequence.
        method: ``"auto"`` (default) solves feed-forward populations of single-spike neurons
            that provide `EventNeuron.first_spike_times` (e.g. ``LIFNeuron(single_spike=True)``)
            all at once, in parallel over neurons and input intervals, and differentiates that
            by autodiff (or by ``backward``); everything else runs the event loop.
            ``"kernel"`` always runs the event loop; ``"parallel"`` insists on the fast path.
            Both give the same spike times and gradients (to rounding).
        where: how error messages name the population (layers pass e.g. ``"LIF(5->120)"``);
            used by the checks only, not by the differentiated computation.
        delay: synaptic delays (s), shape ``()``, ``(n_in, 1)`` (per input), ``(1, n)`` (per
            neuron) or ``(n_in, n)`` (per connection); a spike of input ``i`` at ``t`` arrives
            at neuron ``j`` at ``t + delay[i, j]`` (`check_delay`). ``None``: no delay (the
            computation is exactly that without the argument). A negative entry (e.g. after a
            training step) acts as ``0`` with zero gradient: ``max(delay, 0)``, with the
            derivative of the ``delay >= 0`` side at ``0``. Gradients with respect to the
            delays are exact (those of the arrival times, see `delays`).
        loop_batching: how a `jax.vmap` of this call batches the event loop: ``"auto"``,
            ``"map"`` (sample by sample) or ``"vmap"`` (see `loop.LOOP_BATCHING`); ``None``:
            `loop.LOOP_BATCHING` as it is when the call is traced. Same results either way.
        map_min_steps: the shortest loop that ``"auto"`` runs sample by sample on a CPU;
            ``None``: `loop.MAP_MIN_STEPS`.

    The input is checked (`jaxsnn_eqx.checks.check_spikes`: no NaN or negative times, indices
    in ``[0, n_in)``, consistent padding, sorted); a bad input raises instead of returning
    plausible spikes.

    Returns:
        Output `Spikes` of length ``max_spikes``, sorted by time (unused: ``inf``/``-1``).
    """
    if weight.ndim != 2:
        raise ValueError(f"{where}: weight must be 2-d (n_in, n), got shape {weight.shape}.")
    spikes = check_spikes(spikes, weight.shape[0], where)
    if spikes.time.ndim != 1:
        raise ValueError(
            f"{where}: expected unbatched Spikes (1-d arrays), got shape {spikes.time.shape}; "
            "batch with jax.vmap (e.g. jax.vmap(layer)(spikes))."
        )
    if spikes.time.shape[0] == 0:  # no input slot at all: one unused slot, a silent input
        spikes = spikes.pad(1)
    warn_if_all_late(spikes, t_max, where)
    n = weight.shape[1]
    if weight_rec is not None and weight_rec.shape != (n, n):
        raise ValueError(f"{where}: weight_rec must have shape {(n, n)}, got {weight_rec.shape}.")
    if max_spikes < 1:
        raise ValueError(f"{where}: max_spikes must be >= 1, got {max_spikes}.")
    if not t_max > 0:
        raise ValueError(f"{where}: t_max must be positive (s), got {t_max}.")
    per = max_spikes if max_spikes_per_neuron is None else int(max_spikes_per_neuron)
    per = min(per, max_spikes)
    if per < 1:
        raise ValueError(f"{where}: max_spikes_per_neuron must be >= 1, got {per}.")
    if method not in METHODS:
        raise ValueError(f"{where}: method must be one of {METHODS}, got {method!r}.")
    parallel = (
        weight_rec is None
        and bool(getattr(neuron, "single_spike", False))
        and type(neuron).first_spike_times is not EventNeuron.first_spike_times
    )
    if method == "parallel" and not parallel:
        raise ValueError(
            "simulate: method='parallel' needs a feed-forward population (weight_rec=None) of "
            f"single-spike neurons that define first_spike_times; got {type(neuron).__name__}"
            f"{'' if weight_rec is None else ' with weight_rec'}."
        )
    parallel = parallel and method != "kernel"
    dtype = jnp.result_type(weight.dtype, spikes.time.dtype)
    if weight_rec is not None:
        dtype = jnp.result_type(dtype, weight_rec.dtype)
    in_time = spikes.time.astype(dtype)
    neuron = cast_floats(neuron, dtype)  # the parameters follow the state (`cast_floats`)
    if loop_batching is not None and loop_batching not in LOOP_BATCHINGS:
        raise ValueError(f"{where}: loop_batching must be one of {LOOP_BATCHINGS} or None, got "
                         f"{loop_batching!r}.")
    grow = max_spikes_per_neuron is None and weight_rec is None and not parallel
    cfg = Config(float(t_max), int(max_spikes), per, weight_rec is not None, backward, parallel,
                 (loop_batching, map_min_steps), lane_sizes(int(max_spikes), n, per, grow))
    weight = check_finite(
        weight, dict(neuron=neuron, weight=weight, weight_rec=weight_rec, delay=delay), where)
    in_idx = jax.lax.stop_gradient(spikes.idx)  # integer; never carries a tangent
    if delay is not None:
        delay = check_delay(delay, weight.shape[0], n, where, values=False).astype(dtype)
        in_time, in_idx, weight = arrivals(in_time, in_idx, delay, weight, weight_rec is not None)
    vjp_arg = (neuron, weight, weight_rec, in_time)
    if parallel and is_replay(backward):  # plain autodiff of the all-at-once solution
        (out_t, out_i), _, overflow = run_forward(vjp_arg, in_idx, cfg)
    else:
        out_t, out_i, overflow = _simulate(vjp_arg, in_idx, cfg)
    out_t = check_overflow(out_t, overflow, cfg, where)
    return trust(Spikes(out_t, out_i), n)
