"""EventProp (Wunderlich & Pehle, 2021): exact gradients of LIF spike times by an adjoint system.

The forward pass is the exact event-based simulation of `event.LIF` (the same kernel); only the
backward pass differs. Instead of differentiating through the simulator, the adjoint variables
``(lambda_V, lambda_I)`` of every neuron are integrated backward in time from ``t_max`` over the
merged, time-sorted list of events (output spikes, input spikes, ends of refractory periods):
between events in closed form, at events by jumps. Memory is linear in the number of events and
independent of the simulated time; nothing of the forward while-loop is stored.

The maths (per neuron, ``u = V - v_leak``, ``theta = v_th - v_leak``, ``u_r = v_reset - v_leak``)::

    free flow over dt:  I <- a I,  u <- b u + c I     a = e^{-dt/ts}, b = e^{-dt/tm},
                                                c = ts/(tm - ts) (b - a)   (dt/tm b if tm = ts)
    adjoint flow:       lambda_u <- b lambda_u,  lambda_I <- a lambda_I + c lambda_u   (backward)
    input spike (pre i at t_k into every post j, I_j jumps by w_ij / ts):  lambda continuous,
        dL/dw_ij  += lambda_I,j / ts
        dL/dt_k   += sum_j (w_ij / ts) (lambda_I,j / ts - lambda_u,j / tm)
    end of refractoriness of j at t_e = t* + t_refrac (u restarts from u_r):
        P_j = dL/dt_e = -lambda_u,j(t_e+) (I_j(t_e) - u_r) / tm,   dL/du_r += lambda_u,j(t_e+),
        lambda_u,j <- 0        (V is clamped while refractory)
    output spike of j at t* (u reaches theta with slope du/dt = (I_j(t*) - theta) / tm > 0):
        G = dL/dt* (loss or layer above) + P_j
            + sum_k (w_rec_jk / ts)(lambda_I,k / ts - lambda_u,k / tm)      (recurrent spike)
        dL/dw_rec_jk += lambda_I,k / ts,   lambda_u,j(t*-) = -G / (du/dt),   lambda_I,j continuous,
        dL/dtheta_j += -lambda_u,j(t*-)

``lambda_u`` is zero while a neuron is refractory, so one flow formula serves both regimes, and
``t_refrac = 0`` (the flow restarts at once) and single-spike mode (the refractory period never
ends) are the two limits of the same rule.

Feed-forward single-spike layers need no sweep: each neuron's adjoint is zero after its only
spike and the free backward flow from its jump before it, so the adjoint at every input is a
closed form of ``t* - t_k`` and all (input, neuron) pairs are evaluated at once (the same numbers
as the sweep; see `single_spike_feedforward`).

Simultaneous events. Events at exactly the same time are processed in the order in which the
forward kernel processes them: output spikes first (a threshold crossing is handled before an input
that arrives at the same instant; several spikes in the order of the output list), then input
spikes, then ends of refractory periods (an input arriving exactly when a neuron leaves its
refractory period is felt by the restarted membrane). Input jumps commute, so equal input times
need no rule at all: each gets its exact gradient. Only where an input arrives at exactly the time a
neuron crosses threshold does the spike time have a kink; there we return the one-sided derivative
of that processing order, which is also what autodiff through the analytical forward computes.
A crossing closer to its cause than the time resolution (float32 with a strong drive, or spikes
observed on a clock) carries the time stamp of that cause; the order is then the causal one: a
spike whose membrane is below threshold before the inputs of its instant comes after them, and a
spike at exactly the end of its neuron's refractory period comes after that end.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from ..spikes import Spikes
from .backward import AbstractAdjoint
from .lif import LIF, LIFNeuron, LIFParams

__all__ = [
    "EventPropLIF",
    "EventPropGrads",
    "eventprop_backward",
    "eventprop_lif_backward",
    "EventProp",
    "check_lif_dynamics",
    "adjoint_flow_coefficients",
    "lif_param_grads",
    "min_slope",
    "adjoint_sweep",
    "single_spike_feedforward",
]

# event kinds; the concatenation order below is the processing order of simultaneous events
_SPIKE, _INPUT, _REFRAC_END = 0, 1, 2


def adjoint_flow_coefficients(
    dt: Float[Array, "*n"], tau_mem: Any, tau_syn: Any
) -> tuple[Float[Array, "*n"], Float[Array, "*n"], Float[Array, "*n"]]:
    """Coefficients ``(a, b, c)`` of the LIF free flow over ``dt >= 0`` seconds.

    ``I(dt) = a I0`` and ``u(dt) = b u0 + c I0``; stable for ``tau_mem`` close or equal to
    ``tau_syn``, and without overflow for long ``dt``.
    """
    a = jnp.exp(-dt / tau_syn)
    b = jnp.exp(-dt / tau_mem)
    eps = 1.0 / tau_syn - 1.0 / tau_mem  # (tm - ts) / (tm ts); ts / (tm - ts) = 1 / (tm eps)
    x = dt * eps
    small = jnp.abs(x) < 0.5
    safe_eps = jnp.where(eps == 0, 1.0, eps)
    # b - a = a expm1(dt eps): no cancellation when the two time constants are close
    c_small = a * jnp.where(eps == 0, dt, jnp.expm1(jnp.where(small, x, 0.0)) / safe_eps) / tau_mem
    c_large = (b - a) / (tau_mem * safe_eps)
    return a, b, jnp.where(small, c_small, c_large)


class EventPropGrads(NamedTuple):
    """Result of `eventprop_backward` (``size`` = number of neurons of the layer).

    Attributes:
        weight: ``dL/dweight``, ``(in_size, size)``.
        weight_rec: ``dL/dweight_rec``, ``(size, size)``, or ``None`` (feed-forward).
        in_time: ``dL/d in_spikes.time`` (zero at unused slots).
        v_th, v_reset, t_refrac: per-neuron parameter gradients, ``(size,)``
            (``dL/dv_leak = -(dL/dv_th + dL/dv_reset)``).
    """

    weight: Float[Array, "in_size size"]
    weight_rec: Float[Array, "size size"] | None
    in_time: Float[Array, " n_in"]
    v_th: Float[Array, " size"]
    v_reset: Float[Array, " size"]
    t_refrac: Float[Array, " size"]


def _merged_events(in_spikes: Spikes, out_spikes: Spikes, t_end: Float[Array, " m"] | None,
                   after_inputs: Bool[Array, " m"] | None = None):
    """All events in forward processing order (see the module docstring); ``t_end`` (ends of
    refractory periods) may be ``None`` when there are none; ``after_inputs`` marks output
    spikes that come after the input spikes of the same instant (caused by them)."""
    k, m = in_spikes.size, out_spikes.size
    m_end = 0 if t_end is None else m
    out_ok = jnp.isfinite(out_spikes.time) & (out_spikes.idx >= 0)
    times = [out_spikes.time, in_spikes.time]
    neurons = [out_spikes.idx, in_spikes.idx]
    slots = [jnp.arange(m), jnp.arange(k)]
    valids = [out_ok, jnp.isfinite(in_spikes.time) & (in_spikes.idx >= 0)]
    if t_end is not None:
        times.append(t_end)
        neurons.append(out_spikes.idx)
        slots.append(jnp.arange(m))
        valids.append(out_ok & jnp.isfinite(t_end))
    time = jnp.concatenate(times)
    kind = jnp.repeat(jnp.array([_SPIKE, _INPUT, _REFRAC_END], jnp.int32),
                      np.array([m, k, m_end]), total_repeat_length=m + k + m_end)
    neuron = jnp.concatenate(neurons).astype(jnp.int32)
    slot = jnp.concatenate(slots).astype(jnp.int32)
    valid = jnp.concatenate(valids)
    # Simultaneous events keep the concatenation order (spikes, inputs, ends; output spikes in
    # the kernel's order), except for crossings closer to their cause than the time resolution
    # (float32 with a strong drive, time-stamped observed spikes): spikes marked `after_inputs`
    # go after the inputs of their instant, and the end of a neuron's refractory period at
    # exactly the time of its next spike goes just before that spike (which follows the
    # restart). Sort keys: time, rank (spike 0, input 1, end 2), position within the rank.
    rank, sub = kind, 2 * slot + 1
    if after_inputs is not None:
        rank = rank.at[:m].set(jnp.where(after_inputs, _INPUT, _SPIKE).astype(rank.dtype))
        sub = sub.at[:m].set((2 * (jnp.arange(m) + jnp.where(after_inputs, k, 0)) + 1)
                             .astype(sub.dtype))
    if t_end is not None:
        early, spike = _next_spike_at(out_spikes, out_ok, t_end)
        rank = rank.at[m + k:].set(jnp.where(early, rank[spike], _REFRAC_END))
        sub = sub.at[m + k:].set(jnp.where(early, sub[spike] - 1, sub[m + k:]))
    order = jnp.lexsort((sub, rank, jnp.where(valid, time, jnp.inf)))
    return time[order], kind[order], neuron[order], slot[order], valid[order], order


def _next_spike_at(out_spikes: Spikes, out_ok: Bool[Array, " m"],
                   t_end: Float[Array, " m"]) -> tuple[Bool[Array, " m"], Int[Array, " m"]]:
    """For each output spike slot ``s``: is there a later valid slot ``j > s`` of the same neuron
    at exactly ``t_end[s]`` (``found``), and the first such ``j`` (``spike``; 0 where none).

    The valid spikes are sorted by (neuron, time, slot) and each query ``(idx[s], t_end[s],
    s + 1)`` is a vectorised lower-bound binary search in that order: ``O(m log m)`` time and
    ``O(m)`` memory (an all-pairs comparison would hold ``m x m`` booleans per sample)."""
    m = out_spikes.size
    slots = jnp.arange(m, dtype=jnp.int32)
    idx = out_spikes.idx.astype(jnp.int32)
    time = out_spikes.time
    # invalid slots sort last (group key 1) and can never match a query (group key 0)
    group = jnp.where(out_ok, 0, 1).astype(jnp.int32)
    order = jnp.lexsort((slots, time, idx, group))
    keys = (group[order], idx[order], time[order], slots[order])
    query = (jnp.zeros(m, jnp.int32), idx, t_end, slots + 1)

    def less(a, b):  # lexicographic a < b over the four keys, elementwise
        lt, eq = jnp.zeros(a[0].shape, bool), jnp.ones(a[0].shape, bool)
        for x, y in zip(a, b, strict=True):
            lt = lt | (eq & (x < y))
            eq = eq & (x == y)
        return lt

    def step(_, bounds):
        lo, hi = bounds
        mid = (lo + hi) // 2
        go_right = (lo < hi) & less(tuple(k[jnp.minimum(mid, m - 1)] for k in keys), query)
        return jnp.where(go_right, mid + 1, lo), jnp.where(go_right | (lo >= hi), hi, mid)

    lo, _ = jax.lax.fori_loop(0, max(1, int(m).bit_length()), step,
                              (jnp.zeros(m, jnp.int32), jnp.full(m, m, jnp.int32)))
    pos = jnp.minimum(lo, m - 1)
    j = order[pos]
    found = ((lo < m) & (group[j] == 0) & (idx[j] == idx) & (time[j] == t_end) & (j > slots)
             & jnp.isfinite(t_end))
    return found, jnp.where(found, j, 0)


def eventprop_backward(
    params: LIFParams,
    weight: Float[Array, "in_size size"],
    weight_rec: Float[Array, "size size"] | None,
    in_spikes: Spikes,
    out_spikes: Spikes,
    ct_out_time: Float[Array, " max_spikes"],
    t_max: float,
    *,
    single_spike: bool = False,
    slope_floor: float | None = None,
) -> EventPropGrads:
    """EventProp backward pass of one LIF population (single sample; ``jax.vmap`` to batch).

    Arguments:
        params: `LIFParams` (fields of shape ``()`` or ``(size,)``).
        weight: input weights ``weight[pre, post]``, ``(in_size, size)``.
        weight_rec: recurrent weights ``weight_rec[pre, post]``, ``(size, size)``, or ``None``.
        in_spikes: the input `Spikes` of the forward pass (indices into ``in_size``).
        out_spikes: the output `Spikes` of the forward pass (indices into ``size``), sorted, in
            the kernel's processing order.
        ct_out_time: ``dL/d out_spikes.time``, ``(max_spikes,)``; unused slots are ignored.
        t_max: end of the simulation (s); the adjoint is zero at ``t_max``.
        single_spike: infinite refractoriness (``t_refrac`` unused).
        slope_floor: ``None`` (exact), or a lower bound on the membrane slope ``du/dt`` at the
            spikes, as a fraction of ``theta / tau_mem`` (see `min_slope`): for spike times that
            were observed (e.g. on hardware) rather than simulated, where the software model's
            slope can be tiny or negative.

    Returns:
        `EventPropGrads`.

    A feed-forward population of single-spike neurons takes the closed form of the adjoint
    (`single_spike_feedforward`, every input-neuron pair at once); everything else runs the
    backward sweep over the merged events.
    """
    if single_spike and weight_rec is None:
        return single_spike_feedforward(params, weight, in_spikes, out_spikes, ct_out_time,
                                         slope_floor=slope_floor)
    return adjoint_sweep(params, weight, weight_rec, in_spikes, out_spikes, ct_out_time, t_max,
                          single_spike=single_spike, slope_floor=slope_floor)


def min_slope(u_dot, theta, tau_mem, slope_floor: float | None):
    """``du/dt`` at a spike, bounded below by ``slope_floor theta / tau_mem`` (no bound for
    ``None``). A spike simulated by the software model crosses with ``du/dt > 0``; a spike
    observed elsewhere (a chip, an emulator with perturbed parameters) may not match the model's
    membrane, whose slope there can be near zero or negative. The adjoint jump ``-G / (du/dt)``
    would then be huge or of the wrong sign; the floor keeps it bounded and of the right sign."""
    if slope_floor is None:
        return u_dot
    return jnp.maximum(u_dot, slope_floor * theta / tau_mem)


def single_spike_feedforward(params, weight, in_spikes, out_spikes, ct_out_time, *,
                              slope_floor=None):
    """EventProp of a feed-forward population of single-spike neurons, without a sweep.

    After its only spike at ``t*`` a neuron's adjoint is zero (it never fires again, and
    nothing reads its state). Before it, the adjoint is the free backward flow from the jump
    ``lambda_u(t*-) = -G / (du/dt)`` with ``lambda_I(t*) = 0``, and input spikes leave it
    continuous, so at an input ``t_k < t*``: ``lambda_u = b lambda_u(t*-)``, ``lambda_I = c
    lambda_u(t*-)`` (`adjoint_flow_coefficients` over ``t* - t_k``). Every (input, neuron) pair
    then contributes to the weight and input-time gradients at once, exactly as the sweep
    would. An input at exactly ``t*`` comes after the spike (the kernel's order): not felt.
    """
    dtype = jnp.result_type(weight, in_spikes.time, out_spikes.time)
    in_size, size = weight.shape
    vec = lambda x: jnp.broadcast_to(jnp.asarray(x, dtype), (size,))
    tm, ts = vec(params.tau_mem), vec(params.tau_syn)
    theta = vec(params.v_th) - vec(params.v_leak)
    # per neuron: its spike time and dL/dt* (at most one spike each)
    fired_slot = jnp.isfinite(out_spikes.time) & (out_spikes.idx >= 0)
    j = jnp.where(fired_slot, out_spikes.idx, size)  # size: dropped
    t_star = jnp.full((size,), jnp.inf, dtype).at[j].set(out_spikes.time.astype(dtype),
                                                         mode="drop")
    g_star = jnp.zeros((size,), dtype).at[j].add(
        jnp.where(fired_slot, ct_out_time.astype(dtype), 0.0), mode="drop")
    fired = jnp.isfinite(t_star)
    # every (input k, neuron j) pair
    t_in = in_spikes.time.astype(dtype)
    valid = jnp.isfinite(t_in) & (in_spikes.idx >= 0)
    pre = jnp.clip(in_spikes.idx, 0, in_size - 1)
    w = jnp.where(valid[:, None], weight[pre].astype(dtype), 0.0)  # (K, size)
    lag = t_star[None, :] - jnp.where(valid, t_in, jnp.inf)[:, None]
    felt = valid[:, None] & fired[None, :] & (lag > 0)
    a, b, c = adjoint_flow_coefficients(jnp.where(felt, lag, 0.0), tm, ts)
    i_star = jnp.sum(jnp.where(felt, w / ts * a, 0.0), axis=0)  # synaptic current at t*
    # unless the membrane is below threshold before the inputs at t*: then they caused the
    # spike (a crossing closer to them than the time resolution) and are felt
    u_star = jnp.sum(jnp.where(felt, w / ts * c, 0.0), axis=0)  # membrane before them
    below = u_star < theta - jnp.sqrt(jnp.finfo(dtype).eps) * jnp.abs(theta)
    tied = valid[:, None] & fired[None, :] & (lag == 0) & below[None, :]
    felt = felt | tied
    i_star = i_star + jnp.sum(jnp.where(tied, w / ts, 0.0), axis=0)
    u_dot = min_slope((i_star - theta) / tm, theta, tm, slope_floor)
    lam_star = jnp.where(fired, -g_star / jnp.where(fired, u_dot, 1.0), 0.0)  # lambda_u(t*-)
    lam_u = jnp.where(felt, b * lam_star, 0.0)
    lam_i = jnp.where(felt, c * lam_star, 0.0)
    g_w = jnp.zeros((in_size, size), dtype).at[pre].add(lam_i / ts)
    ct_in = jnp.sum(w / ts * (lam_i / ts - lam_u / tm), axis=1)
    zeros = jnp.zeros((size,), dtype)
    return EventPropGrads(weight=g_w, weight_rec=None, in_time=ct_in, v_th=-lam_star,
                          v_reset=zeros, t_refrac=zeros)


class _LIFVectors(NamedTuple):
    """The LIF parameters as per-neuron vectors ``(size,)`` of one dtype (``u = V - v_leak``)."""

    tm: Array
    ts: Array
    theta: Array  # v_th - v_leak
    u_r: Array  # v_reset - v_leak
    t_ref: Array  # inf in single-spike mode


def _lif_vectors(params, size: int, dtype, single_spike: bool) -> _LIFVectors:
    vec = lambda x: jnp.broadcast_to(jnp.asarray(x, dtype), (size,))
    tm, ts = vec(params.tau_mem), vec(params.tau_syn)
    theta = vec(params.v_th) - vec(params.v_leak)
    u_r = vec(params.v_reset) - vec(params.v_leak)
    t_ref = jnp.full((size,), jnp.inf, dtype) if single_spike else vec(params.t_refrac)
    return _LIFVectors(tm, ts, theta, u_r, t_ref)


def adjoint_sweep(params, weight, weight_rec, in_spikes, out_spikes, ct_out_time, t_max, *,
                  single_spike, slope_floor=None) -> EventPropGrads:
    """The general EventProp backward pass (see `eventprop_backward`): a forward sweep over the
    merged events for the synaptic currents at the spikes, then the adjoint swept backward."""
    dtype = jnp.result_type(weight, in_spikes.time, out_spikes.time)
    in_size, size = weight.shape
    weight = weight.astype(dtype)
    recurrent = weight_rec is not None
    if recurrent:
        weight_rec = weight_rec.astype(dtype)
    lif = _lif_vectors(params, size, dtype, single_spike)

    in_spikes = Spikes(in_spikes.time.astype(dtype), in_spikes.idx)
    out_spikes = Spikes(out_spikes.time.astype(dtype), out_spikes.idx)
    # single-spike mode: no refractory period ever ends, so those events are left out
    t_end = (None if single_spike
             else out_spikes.time + lif.t_ref[jnp.clip(out_spikes.idx, 0, size - 1)])
    ct_out = jnp.where(jnp.isfinite(out_spikes.time), ct_out_time.astype(dtype), 0.0)

    # a spike whose membrane is below threshold before the inputs of the same instant was
    # caused by them (a crossing closer to them than the time resolution, e.g. float32 with a
    # strong input, or time-stamped observed spikes): it comes after them
    ev = _forward_sweep(in_spikes, out_spikes, t_end, None, weight, weight_rec, lif)
    slot, is_spike, post, u_event = ev[2], ev[6], ev[9], ev[11]
    theta = lif.theta
    below = u_event < theta[post] - jnp.sqrt(jnp.finfo(dtype).eps) * jnp.abs(theta[post])
    caused = is_spike & below
    after = jnp.zeros((out_spikes.size,), bool).at[jnp.where(caused, slot, out_spikes.size)].set(
        True, mode="drop")
    ev = _forward_sweep(in_spikes, out_spikes, t_end, after, weight, weight_rec, lif)
    slot, is_spike = ev[2], ev[6]
    ct_spike = jnp.where(is_spike, ct_out[jnp.where(is_spike, slot, 0)], 0.0)
    (g_w, g_wr, g_th, g_ur, g_tr), ct_in_sorted = _backward_sweep(
        ev, ct_spike, weight, weight_rec, lif, t_max, slope_floor)
    m = out_spikes.size
    order = ev[4]
    ct_in_time = jnp.zeros_like(ct_in_sorted).at[order].set(ct_in_sorted)[m : m + in_spikes.size]
    return EventPropGrads(
        weight=g_w,
        weight_rec=g_wr if recurrent else None,
        in_time=ct_in_time,
        v_th=g_th,
        v_reset=g_ur,
        t_refrac=jnp.zeros_like(g_tr) if single_spike else g_tr,
    )


def _forward_sweep(in_spikes, out_spikes, t_end, after_inputs, weight, weight_rec,
                   lif: _LIFVectors):
    """The merged events (`_merged_events`) and, at each, the synaptic current and membrane of
    the neuron concerned (before a spike's reset and recurrent delivery): ``(time, kind,
    slot, valid, order, is_in, is_spike, is_end, pre, post, i_event, u_event)``."""
    tm, ts, _, u_r, _ = lif
    size, dtype = tm.shape[0], tm.dtype
    recurrent = weight_rec is not None

    def forward_step(carry, ev):
        t_cur, cur, u, refr = carry
        t, e_in, e_spike, e_end, i_pre, j, ok = ev
        dt = jnp.where(ok, t - t_cur, 0.0)
        a, b, c = adjoint_flow_coefficients(dt, tm, ts)
        u = jnp.where(refr, u, b * u + c * cur)  # V is clamped while refractory
        cur = a * cur
        t_cur = jnp.where(ok, t, t_cur)
        i_at, u_at = cur[j], u[j]  # before a spike's reset and recurrent delivery
        cur = cur + jnp.where(e_in, weight[i_pre], 0.0) / ts
        if recurrent:
            cur = cur + jnp.where(e_spike, weight_rec[j], 0.0) / ts
        u = u.at[j].set(jnp.where(e_spike, u_r[j], u[j]))
        refr = refr.at[j].set(jnp.where(e_spike, True, jnp.where(e_end, False, refr[j])))
        return (t_cur, cur, u, refr), (i_at, u_at)

    zero, vzero = jnp.zeros((), dtype), jnp.zeros((size,), dtype)
    time, kind, neuron, slot, valid, order = _merged_events(in_spikes, out_spikes, t_end,
                                                            after_inputs)
    is_in = valid & (kind == _INPUT)
    is_spike = valid & (kind == _SPIKE)
    is_end = valid & (kind == _REFRAC_END)
    pre = jnp.where(is_in, neuron, 0)  # row of `weight`
    post = jnp.where(is_spike | is_end, neuron, 0)  # neuron concerned (row of `weight_rec`)
    _, (i_event, u_event) = jax.lax.scan(
        forward_step, (zero, vzero, vzero, jnp.zeros((size,), bool)),
        (time, is_in, is_spike, is_end, pre, post, valid))
    return (time, kind, slot, valid, order, is_in, is_spike, is_end, pre, post, i_event,
            u_event)


def _backward_sweep(ev, ct_spike, weight, weight_rec, lif: _LIFVectors, t_max, slope_floor):
    """The adjoint from ``t_max`` down to 0 over the events of `_forward_sweep`: ``((g_w,
    g_wr, g_th, g_ur, g_tr), ct_in_sorted)`` (input-time cotangents in event order)."""
    tm, ts, theta, u_r, _ = lif
    time, _, _, valid, _, is_in, is_spike, is_end, pre, post, i_event, _ = ev
    (in_size, size), dtype = weight.shape, tm.dtype
    recurrent = weight_rec is not None

    def backward_step(carry, ev):
        t_cur, lam_u, lam_i, pend, g_w, g_wr, g_th, g_ur, g_tr = carry
        t, e_in, e_spike, e_end, i_pre, j, ok, i_at, ct = ev
        dt = jnp.where(ok, jnp.maximum(t_cur - t, 0.0), 0.0)  # events after t_max: no flow
        a, b, c = adjoint_flow_coefficients(dt, tm, ts)
        lam_i = a * lam_i + c * lam_u
        lam_u = b * lam_u
        t_cur = jnp.where(ok, jnp.minimum(t_cur, t), t_cur)
        # dL/d(time of a unit-weight jump into each neuron)
        dl_dt_unit = (lam_i / ts - lam_u / tm) / ts

        # input spike: weight gradient and gradient of its time
        g_w = g_w.at[i_pre].add(jnp.where(e_in, lam_i / ts, 0.0))
        ct_in = jnp.where(e_in, jnp.dot(weight[i_pre], dl_dt_unit), 0.0)

        # output spike of j; its recurrent delivery happened after the reset, so undo it first
        g_time = ct + pend[j]
        if recurrent:
            g_wr = g_wr.at[j].add(jnp.where(e_spike, lam_i / ts, 0.0))
            g_time = g_time + jnp.where(e_spike, jnp.dot(weight_rec[j], dl_dt_unit), 0.0)
        u_dot = min_slope((i_at - theta[j]) / tm[j], theta[j], tm[j], slope_floor)
        lam_u_spike = -g_time / jnp.where(e_spike, u_dot, 1.0)

        # end of the refractory period of j: the free flow restarts from u_r
        lam_u_j = lam_u[j]
        p_end = -lam_u_j * (i_at - u_r[j]) / tm[j]

        g_th = g_th.at[j].add(jnp.where(e_spike, -lam_u_spike, 0.0))
        g_ur = g_ur.at[j].add(jnp.where(e_end, lam_u_j, 0.0))
        g_tr = g_tr.at[j].add(jnp.where(e_end, p_end, 0.0))
        lam_u = lam_u.at[j].set(jnp.where(e_spike, lam_u_spike, jnp.where(e_end, 0.0, lam_u_j)))
        pend = pend.at[j].set(jnp.where(e_spike, 0.0, jnp.where(e_end, p_end, pend[j])))
        return (t_cur, lam_u, lam_i, pend, g_w, g_wr, g_th, g_ur, g_tr), ct_in

    zero, vzero = jnp.zeros((), dtype), jnp.zeros((size,), dtype)
    init = (
        jnp.asarray(t_max, dtype), vzero, vzero, vzero,
        jnp.zeros((in_size, size), dtype),
        jnp.zeros((size, size), dtype) if recurrent else zero,
        vzero, vzero, vzero,
    )
    carry, ct_in_sorted = jax.lax.scan(
        backward_step,
        init,
        (time, is_in, is_spike, is_end, pre, post, valid, i_event, ct_spike),
        reverse=True,
    )
    return carry[4:], ct_in_sorted


def _reduce_to(g: Array, like: Any) -> Array | None:
    """Sum a per-neuron gradient down to the shape of the parameter ``like`` (None if static)."""
    if not eqx.is_inexact_array(like):
        return None
    if like.size == 1:  # a shared (scalar-like) parameter: sum over the neurons
        return jnp.sum(g).reshape(like.shape).astype(like.dtype)
    return g.reshape(like.shape).astype(like.dtype)  # per-neuron, shape (size,)


_LIF_DYNAMICS = ("init_state", "next_threshold_crossing", "integrate", "transition")


def check_lif_dynamics(neuron) -> None:
    """Raise ``TypeError`` unless ``neuron`` has the built-in LIF dynamics."""
    if isinstance(neuron, LIFNeuron):
        changed = [m for m in _LIF_DYNAMICS
                   if getattr(type(neuron), m) is not getattr(LIFNeuron, m)]
        if not changed:
            return
        what = f"{type(neuron).__name__} (a LIFNeuron subclass that overrides {', '.join(changed)})"
    else:
        what = type(neuron).__name__
    raise TypeError(
        f"EventProp computes the adjoint of the built-in LIF dynamics (LIFNeuron) only, got "
        f"{what}. For any other EventNeuron use the default backward pass (no backward=; "
        "e.g. event.EventLayer(neuron, weight, ...)): exact autodiff through the spike times."
    )


class EventProp(AbstractAdjoint):
    """EventProp as the backward pass of `event.simulate` (``backward=EventProp()``): the
    adjoint of the LIF equations (`eventprop_backward`), memory ``O(spikes)``.

    Returns gradients for the weights, the input spike times and the array-valued ``v_th``,
    ``v_reset``, ``v_leak`` and ``t_refrac``. The time constants are not differentiated by this
    backward pass: their gradient is returned as zero (``None``).

    EventProp is the adjoint of the LIF equations, so it takes an `LIFNeuron` only (a subclass
    must not change the dynamics): any other `EventNeuron` raises ``TypeError``; such neurons
    get exact gradients from the kernel's default backward pass (no ``backward=``).

    Attributes:
        slope_floor: ``None`` (exact), or a lower bound on the membrane slope at the spikes as a
            fraction of ``theta / tau_mem`` (see `min_slope`).
    """

    slope_floor: float | None = eqx.field(static=True, default=None)

    def __call__(self, neuron, weight, weight_rec, spikes_in, spikes_out, grad_time, *, t_max):
        check_lif_dynamics(neuron)
        g = eventprop_backward(
            neuron.params, weight, weight_rec, spikes_in, spikes_out, grad_time, t_max,
            single_spike=neuron.single_spike, slope_floor=self.slope_floor,
        )
        return lif_param_grads(neuron, g), g.weight, g.weight_rec, g.in_time


eventprop_lif_backward = EventProp()
"""`EventProp` without a slope floor: the backward pass of `EventPropLIF` and
`RecurrentEventPropLIF`, callable as ``eventprop_lif_backward(neuron, weight, weight_rec,
spikes_in, spikes_out, grad_time, t_max=...)``."""


def lif_param_grads(neuron: LIFNeuron, g: EventPropGrads) -> LIFNeuron:
    """The cotangent of ``neuron`` (an `LIFNeuron`-shaped tree) from `EventPropGrads`: the
    array-valued ``v_th``, ``v_reset``, ``v_leak`` and ``t_refrac`` get theirs, summed to the
    parameter's shape; everything else (time constants, floats) ``None``."""
    p = neuron.params
    g_params = LIFParams.__new__(LIFParams)
    fields = {
        "tau_mem": None,
        "tau_syn": None,
        "v_th": _reduce_to(g.v_th, p.v_th),
        "v_reset": _reduce_to(g.v_reset, p.v_reset),
        "v_leak": _reduce_to(-(g.v_th + g.v_reset), p.v_leak),
        "t_refrac": None if neuron.single_spike else _reduce_to(g.t_refrac, p.t_refrac),
    }
    for name, value in fields.items():
        object.__setattr__(g_params, name, value)
    return eqx.tree_at(lambda n: n.params, neuron, g_params)


# ----------------------------------------------------------------------------- layers
class EventPropLIF(LIF):
    """`event.LIF` with EventProp gradients: the same fields, init and forward; the backward pass
    is `eventprop_backward` (adjoint integrated backward over the events, memory O(spikes)).

    Stack freely: ``snn.Sequential([EventPropLIF(...), EventPropLIF(...)])`` passes the gradient
    of every input spike time down to the layer below.

    Attributes: as `event.LIF`; ``v_th``, ``v_reset``, ``v_leak``, ``t_refrac`` get EventProp
    gradients when they are arrays; ``tau_mem`` and ``tau_syn`` are treated as constants.
    """

    def __init__(self, in_size: int, out_size: int, **kwargs):
        """Arguments as `event.LIF` (same weight initialisation), without ``backward``."""
        backward = kwargs.pop("backward", eventprop_lif_backward)
        if not isinstance(backward, EventProp):  # (accepted so that dataclasses.replace works)
            raise TypeError("EventPropLIF: the backward pass is EventProp; use event.LIF for "
                            "another one.")
        super().__init__(in_size, out_size, backward=backward, **kwargs)

    @classmethod
    def from_lif(cls, lif: LIF) -> EventPropLIF:
        """The EventProp twin of an `event.LIF` (same weights and parameters)."""
        return cls(
            lif.in_size, lif.out_size, params=lif.params, t_max=lif.t_max,
            max_spikes=lif.max_spikes, weight=lif.weight, single_spike=lif.single_spike,
            max_spikes_per_neuron=lif.max_spikes_per_neuron, method=lif.method,
            delay=lif.delay,
        )
