"""The event kernel: one `jax.lax.while_loop` over input spikes and threshold crossings.

`simulate` runs a population of `EventNeuron`s from ``t = 0`` to ``t_max``. Each iteration of
the loop is one call of `_step`, which handles exactly one event, whichever comes first:

* an output spike: the earliest threshold crossing (``neuron.next_threshold_crossing``) if it is
  not later than the next input spike. The population is integrated to it, the neuron is reset
  (``neuron.transition`` with ``fired``), and in a recurrent population its spike arrives at the
  others through ``weight_rec[k]`` at the same instant;
* otherwise the next input spike: integrate to its time, jump by ``weight[idx]``.

So every input spike is processed (inputs and outputs never share a budget), equal input times
are simply consecutive events with ``dt = 0`` (exact, no jitter), and a population can emit at
most ``max_spikes`` spikes: one more raises (`eqx.error_if`), nothing is dropped.

Feed-forward layers (``weight_rec is None``) ``vmap`` the kernel over output neurons: each runs
its own loop over ``n_in`` inputs plus its own spikes (buffer ``max_spikes_per_neuron``); the
outputs are then merged into one sorted list of ``max_spikes``. Recurrent layers run one loop for
the whole population. It is the same `_step` and the same loop in both cases.

Single-spike feed-forward populations whose neuron provides `EventNeuron.first_spike_times`
(the LIF does: `lif.first_spike_times`) skip the loop: their first spikes are solved for every
neuron and every input interval at once, with an implicit-function derivative (``method=``).

Synaptic delays (``simulate(..., delay=d)``, ``d`` broadcastable to ``(n_in, n)``): a spike of
input ``i`` at ``t`` arrives at neuron ``j`` at ``t + d[i, j]``. The arrival times are computed
before the kernel (differentiable JAX, so the gradients of the delays and input times follow
from those of the arrival times by autodiff) and the kernel runs on them unchanged:

* a delay per input (shape ``(n_in, 1)`` or ``()``) shifts the input spikes: one re-sorted list;
* a delay per neuron or per connection in a feed-forward layer gives each neuron its own
  sorted arrival list ``(K, n)``: the vmapped lanes (event loop and all-at-once path) take one
  column each, and the input-time cotangent of a lane is the delay cotangent of its column;
* per neuron or per connection in a recurrent population (one loop over all neurons): every
  input spike becomes ``n`` events, one per neuron (virtual inputs ``i n + j`` with weight
  ``w[i, j]`` into neuron ``j`` only).

Gradients (`jax.custom_vjp` via `eqx.filter_custom_vjp`). The forward pass records the event
sequence (for each step: input ``-1``, spike of neuron ``k >= 0``, or nothing ``-2``). The
default backward pass *replays* the same `_step` under `jax.lax.scan` for the fixed
``n_in + max_out`` steps (the exact bound, one event per step), following the recorded sequence,
and differentiates that replay: every spike time is then differentiated exactly by the implicit
function theorem (the neuron's crossing carries an IFT custom JVP, e.g. `solvers.implicit_root`).
Integer and boolean state leaves are constants of each step (no cotangent), and ``+-inf`` state
entries are sentinels without a tangent (see `EventNeuron` for the rule and `_reverse`).
A different backward pass (EventProp) can be plugged in with ``backward=`` (see `Backward`).
"""


from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ..checks import check_finite, check_spikes, check_weight, trust
from ..spikes import Spikes
from .neuron import EventNeuron, Transition

__all__ = ["simulate", "Backward", "AbstractEventLayer", "EventLayer", "check_delay"]

Backward = Callable[..., tuple[Any, Any, Any, Any]]
"""A pluggable backward pass for `simulate` (e.g. EventProp). Called as::

    backward(neuron, weight, weight_rec, spikes_in, spikes_out, grad_time, *, t_max)
        -> (grad_neuron, grad_weight, grad_weight_rec, grad_in_time)

with ``spikes_in``/``spikes_out`` the layer's input and (forward) output `Spikes`, ``grad_time``
the cotangent of ``spikes_out.time`` (shape ``(max_spikes,)``, zero at unused slots) and
``weight_rec`` ``None`` for a feed-forward layer. Return ``None`` for a zero gradient (e.g.
``grad_neuron`` if the parameters are not trained, ``grad_weight_rec`` when feed-forward); a
``grad_neuron`` pytree may have ``None`` leaves. Must be a hashable (e.g. module-level) function.

With per-neuron arrival lists (a feed-forward layer with per-neuron or per-connection delays)
the backward pass is vmapped over the neurons: each call then sees one neuron (``weight``
``(n_in, 1)``, parameters of shape ``(1,)``), its own sorted arrival times as ``spikes_in``
and its own spikes as ``spikes_out`` (indices 0, unused slots ``inf``/``-1``), so any backward
pass written for a population works unchanged.
"""


METHODS = ("auto", "kernel", "parallel")  # see `simulate`


class _Config(NamedTuple):
    t_max: float
    max_spikes: int
    max_per_neuron: int
    recurrent: bool
    backward: Backward | None
    parallel: bool = False
    where: str = "event.simulate"  # names the population in error messages


# ----------------------------------------------------------------------------- one event
def _step(neuron: EventNeuron, weight, weight_rec, in_time, in_idx, t_max, carry, kind=None):
    """Advance a population by one event; ``kind`` forces the event (replay), else it is chosen.

    ``carry = (t, state, ptr)`` (``ptr``: next unprocessed input). Returns the new carry and the
    event kind (``-1`` input, ``k >= 0`` spike of neuron ``k``, ``-2`` nothing left before t_max).
    """
    t, state, ptr = carry
    n_in = in_time.shape[0]
    n = weight.shape[1]
    p = jnp.minimum(ptr, n_in - 1)
    t_in = jnp.where(ptr < n_in, in_time[p], jnp.inf)
    i_in = jnp.clip(in_idx[p], 0, weight.shape[0] - 1)
    horizon = jnp.minimum(t_in, t_max) - t
    dt_cross = neuron.next_threshold_crossing(state, jnp.full((n,), horizon))
    if kind is None:
        k = jnp.argmin(dt_cross)
        is_sp = dt_cross[k] <= horizon
        is_in = ~is_sp & (t_in < t_max)
        kind = jnp.where(is_sp, k, jnp.where(is_in, -1, -2)).astype(jnp.int32)
    else:
        k = jnp.maximum(kind, 0)
        is_sp = kind >= 0
        is_in = kind == -1
    dt_k = dt_cross[k]
    dt_sp = jnp.where(is_sp & jnp.isfinite(dt_k), dt_k, 0.0)
    dt_in = jnp.where(is_in, t_in, t) - t  # double-where: no inf - t off the input branch
    dt = jnp.where(is_sp, dt_sp, dt_in)
    state = neuron.integrate(state, jnp.full((n,), dt))
    zero = jnp.zeros((n,), weight.dtype)
    w_sp = zero if weight_rec is None else weight_rec[k].astype(weight.dtype)
    jump = jnp.where(is_sp, w_sp, jnp.where(is_in, weight[i_in], zero))
    fired = is_sp & (jnp.arange(n) == k)
    state = neuron.transition(state, Transition(weight=jump, fired=fired))
    return (t + dt, state, ptr + is_in.astype(ptr.dtype)), kind


def _init_carry(neuron, n, dtype):
    return (jnp.zeros((), dtype), neuron.init_state(n, dtype), jnp.zeros((), jnp.int32))


# ----------------------------------------------------------------------------- the two drivers
def _forward(neuron, weight, weight_rec, in_time, in_idx, t_max, max_out, record=False):
    """The while_loop over one population.

    Returns ``(out_time, out_idx, kinds, overflow, history)``; ``history`` (only with
    ``record``) holds the carry before every step (the initial carry for steps never run).

    Batching (`jax.vmap` over samples, or over the lanes of a feed-forward layer) follows
    `LOOP_BATCHING` (see there): on a CPU the loop runs sample by sample (`jax.lax.map`), else
    JAX's own rule batches the loop. The results are the same either way.
    """
    n_steps = in_time.shape[0] + max_out
    dtype = in_time.dtype
    dyn, static = eqx.partition(neuron, eqx.is_array)

    def init(dyn, weight):
        carry0 = _init_carry(eqx.combine(dyn, static), weight.shape[1], dtype)
        hist0 = (jax.tree.map(lambda x: jnp.broadcast_to(x, (n_steps,) + x.shape), carry0)
                 if record else None)
        return (
            carry0,
            jnp.zeros((), jnp.int32),  # spikes written
            jnp.full((max_out,), jnp.inf, dtype),
            jnp.full((max_out,), -1, jnp.int32),
            jnp.full((n_steps,), -2, jnp.int32),  # event kinds
            hist0,
            jnp.zeros((), jnp.int32),  # step
            jnp.zeros((), bool),  # done
            jnp.zeros((), bool),  # overflow
        )

    def cond(c):
        # n_steps events fill every slot; one more step is needed to see an overflow
        *_, step, done, overflow = c
        return ~done & ~overflow & (step <= n_steps)

    def loop(dyn, weight, weight_rec, in_time, in_idx):
        def body(c):
            carry, count, out_t, out_i, kinds, hist, step, _, _ = c
            new, kind = _step(eqx.combine(dyn, static), weight, weight_rec, in_time, in_idx,
                              t_max, carry)
            is_sp = kind >= 0
            overflow = is_sp & (count >= max_out)
            write = is_sp & ~overflow
            slot = jnp.minimum(count, max_out - 1)
            out_t = out_t.at[slot].set(jnp.where(write, new[0], out_t[slot]))
            out_i = out_i.at[slot].set(jnp.where(write, kind, out_i[slot]))
            s = jnp.minimum(step, n_steps - 1)
            keep = overflow | (step >= n_steps)
            kinds = kinds.at[s].set(jnp.where(keep, kinds[s], kind))
            if record:
                hist = jax.tree.map(lambda h, x: h.at[s].set(jnp.where(keep, h[s], x)), hist,
                                    carry)
            carry = jax.tree.map(lambda a, b: jnp.where(overflow, b, a), new, carry)
            return (carry, count + write, out_t, out_i, kinds, hist, step + 1, kind == -2,
                    overflow)

        _, _, out_t, out_i, kinds, hist, _, _, overflow = jax.lax.while_loop(
            cond, body, init(dyn, weight))
        return out_t, out_i, kinds, overflow, hist

    mode = _loop_batching(n_steps, weight.shape[1])
    return _batched_by_samples(loop, mode)(dyn, weight, weight_rec, in_time, in_idx)


LOOP_BATCHING = "auto"
"""How a vmapped event loop is batched: ``"map"`` runs the samples one after another
(`jax.lax.map`), ``"vmap"`` uses JAX's own batching of `jax.lax.while_loop`, ``"auto"`` (the
default) picks ``"map"`` on a CPU for a long loop of a population (at least `MAP_MIN_STEPS`
events: input spikes plus the spike budget, and more than one neuron) and ``"vmap"`` otherwise.
Read when a function is traced (set it before `jax.jit` compiles). Under JAX's rule a batch
runs until its longest sample is done, every iteration selects between the new and the old
value of every carry leaf (state, output buffers, event record) for every sample, and the
batched gathers of a CPU step cost more than one sample's; sample by sample, each loop stops at
its own last event, but a short loop pays more for starting than it saves.
`benchmarks/event_batching.py` measures both (CPU, forward and backward: recurrent
populations 1.6-2.8x faster sample by sample for loops of 700-9000 events; 1.2x slower for the
128 events of the Yin-Yang population; one-neuron lanes 7-10x slower, short or long). The
results are the same up to float rounding (XLA's vectorised and scalar code may differ in the
last bit; tested)."""

MAP_MIN_STEPS = 256
"""The shortest loop (input spikes + spike budget) that `LOOP_BATCHING` ``"auto"`` runs
sample by sample on a CPU."""


def _loop_batching(n_steps: int, n: int) -> str:
    """The batching `LOOP_BATCHING` asks for, for a loop of at most ``n_steps`` events over
    ``n`` neurons: ``"map"`` or ``"vmap"``."""
    if LOOP_BATCHING not in ("auto", "map", "vmap"):
        raise ValueError(f"event.kernel.LOOP_BATCHING must be 'auto', 'map' or 'vmap', got "
                         f"{LOOP_BATCHING!r}.")
    if LOOP_BATCHING != "auto":
        return LOOP_BATCHING
    long_loop = n_steps >= MAP_MIN_STEPS and n > 1
    return "map" if long_loop and jax.default_backend() == "cpu" else "vmap"


def _batched_by_samples(fn, mode: str):
    """``fn`` (arrays in, arrays out) whose `jax.vmap` runs the samples one after another
    (``mode="map"``, `jax.lax.map`), or ``fn`` itself (``"vmap"``: JAX's own rules)."""
    if mode == "vmap":
        return fn
    fn_batched = jax.custom_batching.custom_vmap(fn)

    @fn_batched.def_vmap
    def _rule(axis_size, in_batched, *args):
        leaves, treedef = jax.tree.flatten(args)
        flags = jax.tree.leaves(in_batched)
        xs = [x for x, b in zip(leaves, flags, strict=True) if b]

        def one(f, x_i):  # one sample: its batched leaves, the shared ones as they are
            it = iter(x_i)
            full = [next(it) if b else x for x, b in zip(leaves, flags, strict=True)]
            return f(*jax.tree.unflatten(treedef, full))

        # fn_batched inside: a vmap around this map applies the rule again (nested batches)
        out = jax.lax.map(lambda x_i: one(fn_batched, x_i), xs)
        return out, jax.tree.map(lambda _: True, out)

    return fn_batched


def _stand_in(x):
    """``x`` with its ``+-inf`` entries replaced by ``+-sqrt(finfo.max)`` (finite, and large
    enough for any comparison with a time or voltage; its square does not overflow)."""
    if not jnp.issubdtype(x.dtype, jnp.floating):
        return x
    big = jnp.asarray(np.sqrt(np.finfo(x.dtype).max), x.dtype)
    return jnp.where(jnp.isinf(x), jnp.copysign(big, x), x)


def _huge(x):
    """Entries that are non-finite or of the magnitude of a `_stand_in` (``eps sqrt(max)``)."""
    if not jnp.issubdtype(x.dtype, jnp.floating):
        return jnp.zeros(x.shape, bool)
    fi = np.finfo(x.dtype)
    return ~(jnp.abs(x) < jnp.asarray(np.sqrt(fi.max) * fi.eps, x.dtype))


_SENTINEL_ERROR = (
    "event kernel backward: the neuron's state holds +-inf (a sentinel), and the state after "
    "a step differs between that sentinel and a huge finite value in its place (e.g. the "
    "neuron tests isinf/isfinite and then writes a finite value that is not the limit). The "
    "gradient replay evaluates each step with +-inf replaced by +-sqrt(finfo.max) and cannot "
    "differentiate such a neuron; use a finite sentinel (e.g. -1e9) for that state entry, or "
    "make the step's result at +-inf the limit of its result at large finite values. See "
    "EventNeuron."
)


def _reverse(diff, static, in_idx, t_max, kinds, hist, ct_time):
    """Reverse sweep over the recorded steps: cotangents of ``diff = (neuron_diff, weight,
    weight_rec, in_time)`` given the cotangents ``ct_time`` of the output spike slots.

    Each step is differentiated with `jax.vjp` at its recorded carry (so the forward is not
    replayed in a separate pass); spike times get their IFT derivatives from the neuron's
    custom JVP. Only the floating-point state leaves carry cotangents (integer and boolean
    leaves, e.g. a spike counter or a "has fired" flag, are constants of the step). An
    infinite state entry (a sentinel such as ``r = inf``) carries no tangent (a perturbed
    ``inf`` is ``inf``): its cotangent is zero, and the step is differentiated with
    ``+-sqrt(finfo.max)`` in its place, so that the discarded branches of the neuron's
    ``jnp.where``s (``membrane(dt - r)`` with ``r = -inf``) give no ``0 * inf = NaN``. That is
    exact where the neuron's step at ``+-inf`` is the limit of its step at large finite values
    (comparisons, sums, products, ``exp``): a step whose state at ``+-inf`` differs grossly
    from the stand-in's (finite versus huge) raises (`_SENTINEL_ERROR`). Steps of kind ``-2``
    (nothing happened: identities) are passed through without differentiating them.
    """
    is_sp = kinds >= 0
    slot = jnp.clip(jnp.cumsum(is_sp) - 1, 0, ct_time.shape[0] - 1)
    ct_step = jnp.where(is_sp, ct_time[slot], 0.0)
    inexact = eqx.is_inexact_array

    def step_f(carry_f, ptr, kind, d, st_const):
        nd, w, wr, it = d
        nrn = eqx.combine(nd, static)
        t, st_d = carry_f
        (t, st, _), _ = _step(nrn, w, wr, it, in_idx, t_max, (t, eqx.combine(st_d, st_const),
                                                                  ptr), kind)
        return t, eqx.filter(st, inexact)

    def body(c, xs):
        ct_carry, acc, nxt, has_nxt, bad = c
        (t_s, st_s, ptr_s), kind, ct_t = xs
        st_d, st_const = eqx.partition(st_s, inexact)
        is_inf = jax.tree.map(jnp.isinf, st_d)
        sentinel = jnp.any(jnp.stack([jnp.any(m) for m in jax.tree.leaves(is_inf)] + [False]))
        (_, st_out), vjp = jax.vjp(lambda cf, d: step_f(cf, ptr_s, kind, d, st_const),
                                   (t_s, jax.tree.map(_stand_in, st_d)), diff)
        ct_prev, ct_d = vjp((ct_carry[0] + ct_t, ct_carry[1]))
        idle = kind == -2
        ct_st = jax.tree.map(lambda c_in, c_out, m: jnp.where(m, 0.0, jnp.where(idle, c_in, c_out)),
                             ct_carry[1], ct_prev[1], is_inf)
        ct_prev = (jnp.where(idle, ct_carry[0], ct_prev[0]), ct_st)
        ct_d = jax.tree.map(lambda g: jnp.where(idle, jnp.zeros_like(g), g), ct_d)
        mismatch = [jnp.any(_huge(o) != ~jnp.isfinite(r))
                    for o, r in zip(jax.tree.leaves(st_out), jax.tree.leaves(nxt), strict=True)]
        bad = bad | (sentinel & has_nxt & ~idle & jnp.any(jnp.stack(mismatch + [False])))
        return (ct_prev, jax.tree.map(jnp.add, acc, ct_d), st_d, jnp.ones((), bool), bad), None

    t0, st0, _ = jax.tree.map(lambda h: h[0], hist)
    st0_d = eqx.filter(st0, inexact)
    init = (jax.tree.map(jnp.zeros_like, (t0, st0_d)), jax.tree.map(jnp.zeros_like, diff),
            st0_d, jnp.zeros((), bool), jnp.zeros((), bool))
    (ct0, acc, _, _, bad), _ = jax.lax.scan(body, init, (hist, kinds, ct_step), reverse=True)
    # the initial state may depend on the parameters (e.g. V = v_leak)
    n, dtype = diff[1].shape[1], t0.dtype
    _, init_vjp = jax.vjp(
        lambda nd: eqx.filter(eqx.combine(nd, static).init_state(n, dtype), inexact), diff[0])
    (g_init,) = init_vjp(ct0[1])
    grads = (jax.tree.map(jnp.add, acc[0], g_init), *acc[1:])
    return eqx.error_if(grads, bad, _SENTINEL_ERROR)


# ----------------------------------------------------------------------------- layer level
def _lanes(neuron_diff, n: int):
    """Every inexact array parameter (shape ``()`` or ``(n,)``) as ``n`` lanes of shape (1,)."""
    return jax.tree.map(lambda x: jnp.broadcast_to(x, (n,))[:, None], neuron_diff)


def _lane_axis(in_time):
    """``1`` for per-neuron arrival lists ``(K, n)`` (vmapped with the neurons), else ``None``."""
    return 1 if in_time.ndim == 2 else None


def _run_forward(vjp_arg, in_idx, cfg: _Config, record=False):
    neuron, weight, weight_rec, in_time = vjp_arg
    if cfg.parallel:  # single-spike feed-forward: the neuron's all-at-once first spikes
        if in_time.ndim == 1 or getattr(neuron, "per_neuron_arrivals", False):
            times = neuron.first_spike_times(weight, Spikes(in_time, in_idx), cfg.t_max)
        else:  # per-neuron arrival lists, one neuron at a time
            nd, static = eqx.partition(neuron, eqx.is_inexact_array)
            times = jax.vmap(
                lambda nd_j, w_j, t_j, i_j: eqx.combine(nd_j, static).first_spike_times(
                    w_j[:, None], Spikes(t_j, i_j), cfg.t_max)[0],
                in_axes=(0, 1, 1, 1))(_lanes(nd, weight.shape[1]), weight, in_time, in_idx)
        out_t, out_i, order = _merge(times[:, None], cfg.max_spikes, cfg.where)
        return (out_t, out_i), (None, None, order)
    if cfg.recurrent:
        out_t, out_i, kinds, overflow, hist = _forward(
            neuron, weight, weight_rec, in_time, in_idx, cfg.t_max, cfg.max_spikes, record
        )
        out_t = eqx.error_if(
            out_t, overflow,
            f"{cfg.where}: the recurrent population emitted more than max_spikes="
            f"{cfg.max_spikes} spikes before t_max={cfg.t_max}; increase max_spikes.",
        )
        return (out_t, out_i), (kinds, hist, None)
    n_out = weight.shape[1]
    nd, static = eqx.partition(neuron, eqx.is_inexact_array)

    def one(nd_j, w_j, t_j, i_j):
        nrn = eqx.combine(nd_j, static)
        t, _, k, ovf, hist = _forward(nrn, w_j[:, None], None, t_j, i_j, cfg.t_max,
                                      cfg.max_per_neuron, record)
        return t, k, ovf, hist

    ax = _lane_axis(in_time)  # per-neuron arrival lists (delays): one column per lane
    times, kinds, overflow, hist = jax.vmap(one, in_axes=(0, 1, ax, ax))(
        _lanes(nd, n_out), weight, in_time, in_idx)
    times = eqx.error_if(
        times, jnp.any(overflow),
        f"{cfg.where}: a neuron emitted more than {cfg.max_per_neuron} spikes before "
        f"t_max={cfg.t_max}, its per-neuron buffer (max_spikes_per_neuron, which defaults to "
        "and is capped by max_spikes); increase max_spikes_per_neuron if set below max_spikes, "
        "else max_spikes.",
    )
    out_t, out_i, order = _merge(times, cfg.max_spikes, cfg.where)
    return (out_t, out_i), (kinds, hist, order)


_RANK_SORT_MAX = 256  # up to this many slots, sort by counting (O(L^2), vectorised) instead


def _sort_order(flat):
    """Indices that sort ``flat`` (stable). Short vectors are ranked by counting, which beats a
    comparison sort on CPU for a few hundred slots; longer ones use `jnp.argsort`."""
    n = flat.shape[0]
    if n > _RANK_SORT_MAX:
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


def _merge(times, max_spikes, where="event.simulate"):
    """Per-neuron spike buffers ``(n, per)`` -> one sorted list ``(max_spikes,)`` of times and
    neuron indices (unused slots ``inf``/``-1``), and the sorting order into the flattened
    buffers; more than ``max_spikes`` spikes raise."""
    per = times.shape[1]
    flat = times.reshape(-1)
    if flat.shape[0] < max_spikes:
        flat = jnp.concatenate([flat, jnp.full((max_spikes - flat.shape[0],), jnp.inf,
                                               flat.dtype)])
    flat = eqx.error_if(
        flat, jnp.sum(jnp.isfinite(flat)) > max_spikes,
        f"{where}: the layer emitted more than max_spikes={max_spikes} spikes before "
        "t_max; increase max_spikes.",
    )
    order = _sort_order(jax.lax.stop_gradient(flat))[:max_spikes]
    out_t = flat[order]
    out_i = jnp.where(jnp.isfinite(out_t), (order // per).astype(jnp.int32), -1)
    return out_t, out_i, order


def _autodiff_backward(vjp_arg, in_idx, cfg, kinds, hist, order, g_time):
    """The default backward pass: exact reverse-mode along the recorded event sequence."""
    neuron, weight, weight_rec, in_time = vjp_arg
    nd, static = eqx.partition(neuron, eqx.is_inexact_array)
    if cfg.recurrent:
        g_nd, g_w, g_wr, g_t = _reverse((nd, weight, weight_rec, in_time), static, in_idx,
                                        cfg.t_max, kinds, hist, g_time)
    else:
        n_out, per = weight.shape[1], cfg.max_per_neuron
        lanes, lanes_vjp = jax.vjp(lambda x: _lanes(x, n_out), nd)
        g_flat = jnp.zeros((max(n_out * per, cfg.max_spikes),), g_time.dtype)
        g_lane = g_flat.at[order].add(g_time)[: n_out * per].reshape(n_out, per)

        def one(nd_j, w_j, t_j, i_j, kinds_j, hist_j, g_j):
            g_nd, g_w, _, g_t = _reverse((nd_j, w_j[:, None], None, t_j), static, i_j,
                                         cfg.t_max, kinds_j, hist_j, g_j)
            return g_nd, g_w[:, 0], g_t

        ax = _lane_axis(in_time)
        g_lanes, g_w, g_t = jax.vmap(one, in_axes=(0, 1, ax, ax, 0, 0, 0),
                                     out_axes=(0, 1, 0 if ax is None else 1))(
            lanes, weight, in_time, in_idx, kinds, hist, g_lane)
        (g_nd,) = lanes_vjp(g_lanes)
        if ax is None:  # one input list shared by the lanes
            g_t = g_t.sum(0)
        g_wr = None
    g_neuron = jax.tree.map(lambda _: None, neuron)
    g_neuron = eqx.combine(g_nd, g_neuron) if g_nd is not None else g_neuron
    return g_neuron, g_w, g_wr, g_t


def _lane_backward(vjp_arg, in_idx, cfg, out_t, order, g_time):
    """A pluggable backward pass (`Backward`) of a feed-forward layer with per-neuron arrival
    lists: vmapped over the neurons, each with its arrivals, its spikes and their cotangents."""
    neuron, weight, _, in_time = vjp_arg
    n_out = weight.shape[1]
    per = 1 if cfg.parallel else cfg.max_per_neuron
    nd, static = eqx.partition(neuron, eqx.is_inexact_array)
    lanes, lanes_vjp = jax.vjp(lambda x: _lanes(x, n_out), nd)
    # the merged output back into the per-neuron buffers (n_out, per) it was sorted from
    size = max(n_out * per, cfg.max_spikes)
    t_lane = jnp.full((size,), jnp.inf, out_t.dtype).at[order].set(out_t)
    g_lane = jnp.zeros((size,), g_time.dtype).at[order].add(g_time)
    t_lane, g_lane = (x[: n_out * per].reshape(n_out, per) for x in (t_lane, g_lane))

    def one(nd_j, w_j, t_j, i_j, out_j, g_j):
        spikes_out = Spikes(out_j, jnp.where(jnp.isfinite(out_j), 0, -1).astype(jnp.int32))
        g_n, g_w, _, g_t = cfg.backward(eqx.combine(nd_j, static), w_j[:, None], None,
                                        Spikes(t_j, i_j), spikes_out, g_j, t_max=cfg.t_max)
        g_nd = jax.tree.map(
            lambda x, g: None if x is None else (jnp.zeros_like(x) if g is None
                                                 else jnp.asarray(g, x.dtype).reshape(x.shape)),
            nd_j, jax.tree.map(lambda _: None, nd_j) if g_n is None else g_n,
            is_leaf=lambda x: x is None)
        g_w = jnp.zeros_like(w_j) if g_w is None else g_w[:, 0]
        g_t = jnp.zeros_like(t_j) if g_t is None else g_t
        return g_nd, g_w, g_t

    g_lanes, g_w, g_t = jax.vmap(one, in_axes=(0, 1, 1, 1, 0, 0), out_axes=(0, 1, 1))(
        lanes, weight, in_time, in_idx, t_lane, g_lane)
    (g_nd,) = lanes_vjp(g_lanes)
    g_neuron = eqx.combine(g_nd, jax.tree.map(lambda _: None, neuron))
    return g_neuron, g_w, None, g_t


@eqx.filter_custom_vjp
def _simulate(vjp_arg, in_idx, cfg):
    out, _ = _run_forward(vjp_arg, in_idx, cfg)
    return out


@_simulate.def_fwd
def _simulate_fwd(perturbed, vjp_arg, in_idx, cfg):
    del perturbed
    record = cfg.backward is None
    out, res = _run_forward(vjp_arg, in_idx, cfg, record=record)
    return out, (out, res)


@_simulate.def_bwd
def _simulate_bwd(residuals, grad_obj, perturbed, vjp_arg, in_idx, cfg):
    del perturbed
    (out_t, out_i), (kinds, hist, order) = residuals
    g_time = grad_obj[0]
    if g_time is None:
        g_time = jnp.zeros_like(out_t)
    g_time = jnp.where(jnp.isfinite(out_t), g_time, 0.0)
    neuron, weight, weight_rec, in_time = vjp_arg
    if cfg.backward is None:
        return _autodiff_backward(vjp_arg, in_idx, cfg, kinds, hist, order, g_time)
    if _lane_axis(in_time) is not None:
        return _lane_backward(vjp_arg, in_idx, cfg, out_t, order, g_time)
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
        max_spikes_per_neuron: feed-forward only, the per-neuron buffer (default
            ``max_spikes``); the backward replay costs ``n_in + max_spikes_per_neuron`` steps,
            so set it as low as the dynamics allow. More spikes in a neuron raise an error.
        backward: a pluggable backward pass (see `Backward`); default: exact autodiff (IFT)
            of the replayed event sequence.
        method: ``"auto"`` (default) solves feed-forward populations of single-spike neurons
            that provide `EventNeuron.first_spike_times` (e.g. ``LIFNeuron(single_spike=True)``)
            all at once, in parallel over neurons and input intervals, and differentiates that
            by autodiff (or by ``backward``); everything else runs the event loop.
            ``"kernel"`` always runs the event loop; ``"parallel"`` insists on the fast path.
            Both give the same spike times and gradients (to rounding).
        where: how error messages name the population (layers pass e.g. ``"LIF(5->120)"``).
        delay: synaptic delays (s), shape ``()``, ``(n_in, 1)`` (per input), ``(1, n)`` (per
            neuron) or ``(n_in, n)`` (per connection); a spike of input ``i`` at ``t`` arrives
            at neuron ``j`` at ``t + delay[i, j]`` (`check_delay`). ``None``: no delay (the
            computation is exactly that without the argument). A negative entry (e.g. after a
            training step) acts as ``0`` with zero gradient: ``max(delay, 0)``, with the
            derivative of the ``delay >= 0`` side at ``0``. Gradients with respect to the
            delays are exact (those of the arrival times, see the module docstring).

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
    cfg = _Config(float(t_max), int(max_spikes), per, weight_rec is not None, backward, parallel,
                  where)
    weight = check_finite(
        weight, dict(neuron=neuron, weight=weight, weight_rec=weight_rec, delay=delay), where)
    in_idx = jax.lax.stop_gradient(spikes.idx)  # integer; never carries a tangent
    if delay is not None:
        delay = check_delay(delay, weight.shape[0], n, where, values=False).astype(dtype)
        in_time, in_idx, weight = _delayed(in_time, in_idx, delay, weight, weight_rec is not None)
    vjp_arg = (neuron, weight, weight_rec, in_time)
    if parallel and backward is None:  # plain autodiff of the all-at-once solution
        (out_t, out_i), _ = _run_forward(vjp_arg, in_idx, cfg)
    else:
        out_t, out_i = _simulate(vjp_arg, in_idx, cfg)
    return trust(Spikes(out_t, out_i))


# ----------------------------------------------------------------------------- delays
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


def _delayed(in_time, in_idx, delay, weight, recurrent: bool):
    """The arrival times of the input spikes (see the module docstring): ``(in_time, in_idx,
    weight)`` for the kernel, differentiable with respect to ``in_time``, ``delay`` and
    ``weight``."""
    n_in, n = weight.shape
    d = jnp.where(delay >= 0, delay, 0.0)  # negative: 0, zero gradient (see `simulate`)
    d = d.reshape((1, 1) if d.ndim == 0 else d.shape)
    row = jnp.clip(in_idx, 0, n_in - 1)
    per_input = d.shape[1] == 1
    if per_input:  # a shift of the input spikes: one list
        arrival = in_time + (d[0, 0] if d.shape[0] == 1 else d[row, 0])
        if d.shape[0] == 1:  # the same shift for every input: still sorted
            return arrival, in_idx, weight
        return _sorted_along(arrival, in_idx) + (weight,)
    arrival = in_time[:, None] + (d if d.shape[0] == 1 else d[row])  # (K, n)
    idx = jnp.broadcast_to(in_idx[:, None], arrival.shape)
    if not recurrent:  # one sorted arrival list per neuron (per neuron: already sorted)
        if d.shape[0] == 1:
            return arrival, idx, weight
        return _sorted_along(arrival, idx) + (weight,)
    # one loop over the population: every input spike becomes n events, one per neuron, from
    # the virtual input i n + j that reaches neuron j only
    j = jnp.arange(n, dtype=idx.dtype)
    virtual = jnp.where(idx >= 0, idx * n + j, -1)
    w_virtual = (weight[:, :, None] * jnp.eye(n, dtype=weight.dtype)).reshape(n_in * n, n)
    time, virtual = _sorted_along(arrival.reshape(-1), virtual.reshape(-1))
    return time, virtual, w_virtual


def _sorted_along(time, idx):
    """``(time, idx)`` sorted by time along the first axis (stable; padding ``inf`` last)."""
    order = jnp.argsort(jax.lax.stop_gradient(time), axis=0, stable=True)
    return jnp.take_along_axis(time, order, axis=0), jnp.take_along_axis(idx, order, axis=0)


# ----------------------------------------------------------------------------- layers
def layer_weight(
    weight: Float[ArrayLike, "in_size out_size"] | None,
    key: Any,
    in_size: int,
    out_size: int,
    *,
    scale: Callable[[], Any],
    init_mean: float,
    init_std: float,
    dtype: Any,
    where: str,
) -> Float[Array, "in_size out_size"]:
    """A feed-forward event layer's ``(in_size, out_size)`` weight (V s): ``weight`` checked
    (and cast to ``dtype`` when given), or drawn from ``key`` as ``scale() (init_mean + init_std
    z) / in_size`` with ``z ~ N(0, 1)`` in ``dtype`` (default: the default float); ``scale()``
    is the model's threshold-reaching weight (e.g. `lif_weight_scale`)."""
    if weight is None:
        if key is None:
            raise ValueError(f"{where}: pass `key` (for the weight init) or `weight`.")
        dtype = jnp.result_type(float) if dtype is None else dtype
        z = jax.random.normal(key, (in_size, out_size), dtype)
        weight = scale() * (init_mean + init_std * z) / in_size
    weight = check_weight(weight, (in_size, out_size), where)
    return weight if dtype is None else weight.astype(dtype)


class AbstractEventLayer(eqx.Module):
    """A population of event neurons with input weights; ``layer(spikes) -> Spikes``.

    Subclasses provide the fields below (``neuron`` may be a property). ``layer(x, weight_rec=w)``
    runs the population recurrently (this is what `jaxsnn_eqx.Recurrent` calls).

    Arrays (weights, parameters) are leaves: edit them with `equinox.tree_at`. Settings such as
    ``method``, ``t_max`` and ``max_spikes`` are static fields, not leaves (``tree_at`` says
    "... is not a leaf"): change them with ``dataclasses.replace(layer, method="kernel")``,
    which re-runs the constructor's checks.
    """

    neuron: eqx.AbstractVar[EventNeuron]
    weight: eqx.AbstractVar[Float[Array, "in_size out_size"]]
    in_size: eqx.AbstractVar[int]
    out_size: eqx.AbstractVar[int]
    t_max: eqx.AbstractVar[float]
    max_spikes: eqx.AbstractVar[int]
    max_spikes_per_neuron: eqx.AbstractVar[int | None]
    backward: eqx.AbstractVar[Backward | None]
    method: eqx.AbstractVar[str]

    def _check_sizes(self):
        if self.method not in METHODS:
            raise ValueError(f"{type(self).__name__}: method must be one of {METHODS} (see "
                             f"event.simulate), got {self.method!r}.")
        if self.max_spikes < 1:
            raise ValueError(f"{type(self).__name__}: max_spikes must be >= 1, "
                             f"got {self.max_spikes}.")
        if not self.t_max > 0:
            raise ValueError(f"{type(self).__name__}: t_max must be positive, got {self.t_max}.")
        m = self.max_spikes_per_neuron
        if m is not None and m < 1:
            raise ValueError(f"{type(self).__name__}: max_spikes_per_neuron must be >= 1, "
                             f"got {m}.")

    def _per_neuron(self) -> int | None:
        if self.max_spikes_per_neuron is not None:
            return self.max_spikes_per_neuron
        return 1 if getattr(self.neuron, "single_spike", False) else None

    def __call__(
        self, spikes: Spikes, *, weight_rec: Float[Array, "n n"] | None = None, key=None
    ) -> Spikes:
        del key
        return simulate(
            self.neuron, self.weight, spikes, t_max=self.t_max, max_spikes=self.max_spikes,
            weight_rec=weight_rec, max_spikes_per_neuron=self._per_neuron(),
            backward=self.backward, method=self.method, where=self.describe(),
            delay=getattr(self, "delay", None),
        )

    def describe(self) -> str:
        """``"LIF(5->120)"``: the layer's type and sizes, as error messages name it."""
        return f"{type(self).__name__}({self.in_size}->{self.out_size})"


class EventLayer(AbstractEventLayer):
    """An event layer for any `EventNeuron` (e.g. a user-defined model).

    Attributes:
        neuron: the `EventNeuron` (its array parameters: shape ``()`` or ``(out_size,)``).
        weight: ``(in_size, out_size)``.
        method: ``"auto"``, ``"kernel"`` or ``"parallel"`` (see `simulate`).
    """

    neuron: EventNeuron
    weight: Float[Array, "in_size out_size"]
    in_size: int = eqx.field(static=True)
    out_size: int = eqx.field(static=True)
    t_max: float = eqx.field(static=True)
    max_spikes: int = eqx.field(static=True)
    max_spikes_per_neuron: int | None = eqx.field(static=True)
    backward: Backward | None = eqx.field(static=True)
    method: str = eqx.field(static=True)

    def __init__(
        self,
        neuron: EventNeuron,
        weight: Float[Array, "in_size out_size"],
        *,
        t_max: float,
        max_spikes: int,
        max_spikes_per_neuron: int | None = None,
        backward: Backward | None = None,
        method: str = "auto",
    ):
        if not isinstance(neuron, EventNeuron):
            raise TypeError(f"EventLayer: `neuron` must be an event.EventNeuron, got "
                            f"{type(neuron).__name__}.")
        weight = jnp.asarray(weight)
        if weight.ndim != 2 or 0 in weight.shape:
            raise ValueError(f"EventLayer: `weight` must be (in_size, out_size) with both >= 1, "
                             f"got shape {weight.shape}.")
        weight = check_weight(weight, weight.shape, "EventLayer")
        self.neuron = neuron
        self.weight = weight
        self.in_size, self.out_size = weight.shape
        self.t_max = float(t_max)
        self.max_spikes = int(max_spikes)
        self.max_spikes_per_neuron = max_spikes_per_neuron
        self.backward = backward
        self.method = method
        self._check_sizes()

