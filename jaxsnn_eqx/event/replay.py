"""The default backward pass: replay the recorded event sequence and differentiate it.

The forward pass records the event sequence (for each step: input ``-1``, spike of neuron
``k >= 0``, or nothing ``-2``) and the carry before every step. The backward pass runs the same
`loop.event_step` again under a reverse `jax.lax.scan` over the fixed ``n_in + max_out`` steps (the
exact bound, one event per step), forcing the recorded event of each step, and differentiates
each step with `jax.vjp` at its recorded carry: every spike time is then differentiated exactly
by the implicit function theorem (the neuron's crossing carries an IFT custom JVP, e.g.
`solvers.implicit_root`). Integer and boolean state leaves are constants of each step (no
cotangent), and ``+-inf`` state entries are sentinels without a tangent (see `EventNeuron` for
the rule and `reverse_sweep`).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .loop import batch_max, event_step, lane_axis, lanes, take

__all__ = ["reverse_sweep", "replay_backward"]


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


def reverse_sweep(diff, static, in_idx, t_max, kinds, hist, ct_time):
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
        carry = (t, eqx.combine(st_d, st_const), ptr)
        (t, st, _), _ = event_step(nrn, w, wr, it, in_idx, t_max, carry, kind)
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

    def step_back(c):  # one recorded step, from the last one run back to the first
        s, inner = c
        inner, _ = body(inner, jax.tree.map(lambda x: take(x, s), (hist, kinds, ct_step)))
        return s - 1, inner

    # kinds: one slot per step + one; the steps that did something are a prefix. A vmapped
    # batch goes back from the longest record: the others' extra steps are idle (identities)
    n_steps = kinds.shape[0] - 1
    top = batch_max(jnp.sum(kinds != -2))
    t0, st0, _ = jax.tree.map(lambda h: h[0], hist)
    nxt = eqx.filter(jax.tree.map(lambda h: take(h, top), hist[1]), inexact)  # after the last
    init = (jax.tree.map(jnp.zeros_like, (t0, eqx.filter(st0, inexact))),
            jax.tree.map(jnp.zeros_like, diff), nxt, top < n_steps, jnp.zeros((), bool))
    _, (ct0, acc, _, _, bad) = jax.lax.while_loop(lambda c: c[0] >= 0, step_back, (top - 1, init))
    # the initial state may depend on the parameters (e.g. V = v_leak)
    n, dtype = diff[1].shape[1], t0.dtype
    _, init_vjp = jax.vjp(
        lambda nd: eqx.filter(eqx.combine(nd, static).init_state(n, dtype), inexact), diff[0])
    (g_init,) = init_vjp(ct0[1])
    grads = (jax.tree.map(jnp.add, acc[0], g_init), *acc[1:])
    return eqx.error_if(grads, bad, _SENTINEL_ERROR)


def replay_backward(vjp_arg, in_idx, cfg, kinds, hist, slots, g_time, per=None):
    """The default backward pass (`Replay`): exact reverse-mode along the recorded event
    sequence. ``cfg``: the kernel's configuration; ``kinds``, ``hist``: the recorded steps;
    ``slots``: where each output slot came from (feed-forward lanes of ``per`` slots,
    `feedforward.lane_slots`); ``g_time``: the cotangent of the output spike times."""
    neuron, weight, weight_rec, in_time = vjp_arg
    nd, static = eqx.partition(neuron, eqx.is_inexact_array)
    if cfg.recurrent:
        g_nd, g_w, g_wr, g_t = reverse_sweep((nd, weight, weight_rec, in_time), static, in_idx,
                                        cfg.t_max, kinds, hist, g_time)
    else:
        n_out = weight.shape[1]
        nd_lanes, lanes_vjp = jax.vjp(lambda x: lanes(x, n_out), nd)
        lane, k = slots
        g_lane = jnp.zeros((n_out, per), g_time.dtype).at[lane, k].add(g_time, mode="drop")

        def one(nd_j, w_j, t_j, i_j, kinds_j, hist_j, g_j):
            g_nd, g_w, _, g_t = reverse_sweep((nd_j, w_j[:, None], None, t_j), static, i_j,
                                         cfg.t_max, kinds_j, hist_j, g_j)
            return g_nd, g_w[:, 0], g_t

        ax = lane_axis(in_time)
        g_lanes, g_w, g_t = jax.vmap(one, in_axes=(0, 1, ax, ax, 0, 0, 0),
                                     out_axes=(0, 1, 0 if ax is None else 1))(
            nd_lanes, weight, in_time, in_idx, kinds, hist, g_lane)
        (g_nd,) = lanes_vjp(g_lanes)
        if ax is None:  # one input list shared by the lanes
            g_t = g_t.sum(0)
        g_wr = None
    g_neuron = jax.tree.map(lambda _: None, neuron)
    g_neuron = eqx.combine(g_nd, g_neuron) if g_nd is not None else g_neuron
    return g_neuron, g_w, g_wr, g_t
