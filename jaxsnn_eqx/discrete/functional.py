"""Functional dynamics of the Euler-stepped current-based LIF and LI neurons.

Continuous-time model (per neuron, the same conventions as `jaxsnn_eqx.event`)::

    tau_syn dI/dt = -I + sum_k w_k delta(t - t_k)   (a spike of weight w: I += w / tau_syn)
    tau_mem dV/dt = -(V - v_leak) + I                (spike when V >= v_th, then reset)

Forward-Euler discretisation with step ``dt``. Time bin ``n`` is ``[n dt, (n + 1) dt)``; ``x[n]``
counts the input spikes in bin ``n`` and ``s[n] = x[n] @ weight`` (+ ``z[n - 1] @ weight_rec`` for a
recurrent layer) is the summed weight that arrives in it. One step maps the state at ``n dt`` to
the state at ``(n + 1) dt``::

    V' = V + dt / tau_mem * (v_leak - V + I)
    I' = I - dt / tau_syn * I + s[n] / tau_syn
    z[n] = H(V' - v_th)                  (a surrogate gradient in the backward pass)
    V' <- v_reset          where z       (reset="value")
    V' <- V' - (v_th - v_reset)  where z (reset="subtract")

and, with a refractory period ``t_refrac`` (``round(t_refrac / dt)`` steps), V is held at v_reset
for that many steps after a spike (I keeps decaying and integrating input) and no spike is emitted.

This module holds the parameters and states, the pure step functions (`lif_step`, `li_step`), their
scans over time (`lif_integrate`, `li_integrate`) and the fused LIF scan with a hand-written adjoint
(`jax.custom_vjp`). The `eqx.Module` layers that own the weights (`LIF`, `LI`) are in
`jaxsnn_eqx.discrete.lif`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from .surrogate import SuperSpike

__all__ = ["LIFParams", "LIParams", "LIFState", "LIState", "lif_step", "li_step",
           "lif_integrate", "li_integrate", "refractory_steps", "concrete_float"]


_RESETS = ("value", "subtract")
_DEFAULT_SURROGATE = SuperSpike()


# ---------------------------------------------------------------------------------- validation
def _concrete_reduced(value, reduce) -> float | None:
    """``reduce`` of a concrete value as a float, else None (traced: not checked)."""
    try:
        arr = np.asarray(value)
    except (TypeError, jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError):
        return None
    if arr.dtype == object or arr.size == 0:
        return None
    return float(reduce(arr))


def concrete_float(value) -> float | None:
    """``float(value)`` for a concrete scalar (the minimum of an array), else None (traced:
    not checked)."""
    return _concrete_reduced(value, np.min)


def _concrete_max(value) -> float | None:
    return _concrete_reduced(value, np.max)


def _check_positive(owner: str, name: str, value) -> None:
    v = concrete_float(value)
    if v is not None and not v > 0:
        raise ValueError(f"{owner}: {name} must be positive, got {name}={value!r}.")


# ---------------------------------------------------------------------------------- parameters
class LIFParams(eqx.Module):
    """Parameters of a current-based LIF neuron (SI units: seconds, volts).

    Attributes:
        tau_mem: membrane time constant (s).
        tau_syn: synaptic time constant (s).
        v_th: threshold (V).
        v_reset: reset potential (V), below ``v_th``.
        v_leak: resting potential (V).
        t_refrac: refractory period (s); ``0`` for none. Rounded to whole time steps.
        reset: ``"value"`` (V := v_reset) or ``"subtract"`` (V -= v_th - v_reset).

    Fields may be scalars or per-neuron arrays of shape ``(out_size,)``, except ``t_refrac``
    and ``reset``, which are static. What is trainable: by default the fields are plain Python
    numbers, which are not array leaves, so ``eqx.is_inexact_array`` filters (and optimisers
    applied to them) skip them. A float array field is an inexact-array leaf: it gets a gradient
    (through the autodiff scan) and is updated, weight decay included, by an optimiser over
    ``eqx.is_inexact_array``; to keep such a field fixed, filter it out of the optimiser.
    """

    tau_mem: float = 1e-2
    tau_syn: float = 5e-3
    v_th: float = 1.0
    v_reset: float = 0.0
    v_leak: float = 0.0
    t_refrac: float = eqx.field(default=0.0, static=True)
    reset: str = eqx.field(default="value", static=True)

    def __check_init__(self):
        _check_positive("LIFParams", "tau_mem", self.tau_mem)
        _check_positive("LIFParams", "tau_syn", self.tau_syn)
        t_ref = concrete_float(self.t_refrac)
        if t_ref is not None and not t_ref >= 0:
            raise ValueError(f"LIFParams: t_refrac must be >= 0, got t_refrac={self.t_refrac!r}.")
        v_th, v_reset = concrete_float(self.v_th), _concrete_max(self.v_reset)
        if v_th is not None and v_reset is not None and not v_reset < v_th:
            raise ValueError(
                f"LIFParams: v_reset must be below v_th, got v_reset={self.v_reset!r} and "
                f"v_th={self.v_th!r}."
            )
        if self.reset not in _RESETS:
            raise ValueError(
                f"LIFParams: reset must be one of {_RESETS}, got reset={self.reset!r}."
            )


class LIParams(eqx.Module):
    """Parameters of a current-based leaky integrator (no threshold).

    Attributes:
        tau_mem: membrane time constant (s).
        tau_syn: synaptic time constant (s).
        v_leak: resting potential (V).
    """

    tau_mem: float = 1e-2
    tau_syn: float = 5e-3
    v_leak: float = 0.0

    def __check_init__(self):
        _check_positive("LIParams", "tau_mem", self.tau_mem)
        _check_positive("LIParams", "tau_syn", self.tau_syn)


class LIFState(eqx.Module):
    """State of a population of LIF neurons at one time.

    Attributes:
        v: membrane potential (V).
        i: synaptic current (V; it enters ``tau_mem dV/dt`` directly).
        refrac: remaining refractory steps (0 when the neuron can fire).
    """

    v: Float[Array, "*n"]
    i: Float[Array, "*n"]
    refrac: Int[Array, "*n"]


class LIState(eqx.Module):
    """State of a population of leaky integrators: membrane ``v`` and current ``i`` (V)."""

    v: Float[Array, "*n"]
    i: Float[Array, "*n"]


def refractory_steps(params: LIFParams, dt: float) -> int:
    """Number of Euler steps of the refractory period, ``round(t_refrac / dt)`` (static)."""
    t_ref = concrete_float(params.t_refrac)
    if t_ref is None:
        raise TypeError("LIFParams.t_refrac must be a concrete number (it sets a step count).")
    return int(round(t_ref / dt))


# ---------------------------------------------------------------------------------- dynamics
def lif_step(
    state: LIFState,
    syn_input: Float[Array, "*n"],
    params: LIFParams,
    dt: float,
    surrogate: Callable = _DEFAULT_SURROGATE,
    refrac_steps: int | None = None,
) -> tuple[LIFState, Float[Array, "*n"]]:
    """One Euler step of the LIF dynamics.

    Args:
        state: the state at time ``t``.
        syn_input: summed weight of the input spikes that arrive in ``[t, t + dt)`` (V s).
        params: neuron parameters.
        dt: step (s).
        surrogate: spike function of ``v - v_th`` (Heaviside forward, surrogate backward).
        refrac_steps: refractory steps; by default ``refractory_steps(params, dt)``.

    Returns:
        ``(state at t + dt, spikes z in {0, 1})``.
    """
    p = params
    if refrac_steps is None:
        refrac_steps = refractory_steps(p, dt)
    v = state.v + (dt / p.tau_mem) * (p.v_leak - state.v + state.i)
    i = state.i + (syn_input - dt * state.i) / p.tau_syn
    if refrac_steps > 0:
        refractory = state.refrac > 0
        v = jnp.where(refractory, p.v_reset, v)
    z = surrogate(v - p.v_th)
    if refrac_steps > 0:
        z = jnp.where(refractory, 0.0, z).astype(v.dtype)
    if p.reset == "value":
        v = (1.0 - z) * v + z * p.v_reset  # exact v_reset at a spike; d/dz = v_reset - v
    else:
        v = v - z * (p.v_th - p.v_reset)
    if refrac_steps > 0:
        refrac = jnp.where(z > 0, refrac_steps, jnp.maximum(state.refrac - 1, 0))
        refrac = refrac.astype(state.refrac.dtype)
    else:
        refrac = state.refrac
    return LIFState(v.astype(state.v.dtype), i.astype(state.i.dtype), refrac), z.astype(
        state.v.dtype
    )


def li_step(
    state: LIState, syn_input: Float[Array, "*n"], params: LIParams, dt: float
) -> LIState:
    """One Euler step of the leaky integrator (the LIF step without threshold)."""
    p = params
    v = state.v + (dt / p.tau_mem) * (p.v_leak - state.v + state.i)
    i = state.i + (syn_input - dt * state.i) / p.tau_syn
    return LIState(v.astype(state.v.dtype), i.astype(state.i.dtype))


def _plain_numbers(params: LIFParams) -> bool:
    return all(
        isinstance(getattr(params, f), int | float) and not isinstance(getattr(params, f), bool)
        for f in ("tau_mem", "tau_syn", "v_th", "v_reset", "v_leak")
    )


def _has_no_arrays(tree) -> bool:
    return not any(eqx.is_array(leaf) for leaf in jax.tree.leaves(tree))


def lif_integrate(
    syn_inputs: Float[Array, "time n"],
    state: LIFState,
    params: LIFParams,
    dt: float,
    surrogate: Callable = _DEFAULT_SURROGATE,
    *,
    weight_rec: Float[Array, "n n"] | None = None,
    record_states: bool = False,
    unroll: int = 1,
    manual_vjp: bool = True,
) -> tuple[LIFState, Float[Array, "time n"], LIFState | None]:
    """Scan `lif_step` over time.

    Args:
        syn_inputs: per-step summed input weight, ``xs @ weight`` (V s).
        state: initial state.
        weight_rec: optional recurrent weights ``[pre, post]``; step ``n`` receives the spikes of
            step ``n - 1`` through them.
        record_states: also return the state after every step (leading time axis).
        unroll: passed to `jax.lax.scan`.
        manual_vjp: use the hand-written adjoint (`jax.custom_vjp`) for reverse-mode gradients.
            It stores only the membrane trace, runs the backward pass as one elementwise scan
            and computes the recurrent weight gradient as one matmul after it. It is used when
            ``params`` are plain numbers, the surrogate holds no arrays and ``record_states`` is
            off (else: autodiff through the scan, which also supports forward mode).

    Returns:
        ``(final state, spikes (time, n), states or None)``.
    """
    n_ref = refractory_steps(params, dt)
    if manual_vjp and not record_states and _plain_numbers(params) and _has_no_arrays(surrogate):
        cfg = _FusedConfig(
            float(params.tau_mem), float(params.tau_syn), float(params.v_th),
            float(params.v_reset), float(params.v_leak), float(dt), n_ref, params.reset,
            int(unroll),
        )
        zs, (v, i, r) = _fused_lif(cfg, surrogate, syn_inputs, state.v, state.i, state.refrac,
                                   weight_rec)
        return LIFState(v, i, r), zs, None

    if weight_rec is None:

        def step(carry, s):
            new, z = lif_step(carry, s, params, dt, surrogate, n_ref)
            return new, (z, new if record_states else None)

        final, (zs, states) = jax.lax.scan(step, state, syn_inputs, unroll=unroll)
    else:

        def step(carry, s):
            st, z_prev = carry
            new, z = lif_step(st, s + z_prev @ weight_rec, params, dt, surrogate, n_ref)
            return (new, z), (z, new if record_states else None)

        z0 = jnp.zeros_like(state.v)
        (final, _), (zs, states) = jax.lax.scan(step, (state, z0), syn_inputs, unroll=unroll)
    return final, zs, states


# ---------------------------------------------------------------------------------- manual VJP
class _FusedConfig(NamedTuple):
    tau_mem: float
    tau_syn: float
    v_th: float
    v_reset: float
    v_leak: float
    dt: float
    n_ref: int
    reset: str
    unroll: int


def _fused_forward(cfg: _FusedConfig, surrogate, syn, v0, i0, r0, w_rec):
    """Forward scan; returns spikes, final state and the residuals (pre-reset V, refractory)."""
    a = cfg.dt / cfg.tau_mem
    dtype = v0.dtype

    def step(carry, s):
        v, i, r, z_prev = carry
        if w_rec is not None:
            s = s + z_prev @ w_rec
        vp = v + a * (cfg.v_leak - v + i)
        i_new = i + (s - cfg.dt * i) / cfg.tau_syn
        if cfg.n_ref > 0:
            ref = r > 0
            vp = jnp.where(ref, jnp.asarray(cfg.v_reset, dtype), vp)
            z = jnp.where(ref, 0.0, surrogate(vp - cfg.v_th)).astype(dtype)
            r_new = jnp.where(z > 0, cfg.n_ref, jnp.maximum(r - 1, 0)).astype(r.dtype)
        else:
            ref = None
            z = surrogate(vp - cfg.v_th).astype(dtype)
            r_new = r
        if cfg.reset == "value":
            v_new = (1.0 - z) * vp + z * cfg.v_reset
        else:
            v_new = vp - z * (cfg.v_th - cfg.v_reset)
        return (v_new.astype(dtype), i_new.astype(dtype), r_new, z), (z, vp, ref)

    z0 = jnp.zeros_like(v0)
    (v, i, r, _), (zs, vps, refs) = jax.lax.scan(
        step, (v0, i0.astype(dtype), r0, z0), syn, unroll=cfg.unroll
    )
    return zs, (v, i, r), (vps, refs)


@partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def _fused_lif(cfg, surrogate, syn, v0, i0, r0, w_rec):
    zs, final, _ = _fused_forward(cfg, surrogate, syn, v0, i0, r0, w_rec)
    return zs, final


def _fused_lif_fwd(cfg, surrogate, syn, v0, i0, r0, w_rec):
    zs, final, (vps, refs) = _fused_forward(cfg, surrogate, syn, v0, i0, r0, w_rec)
    return (zs, final), (vps, refs, zs, w_rec, r0)


def _fused_lif_bwd(cfg, surrogate, res, cts):
    vps, refs, zs, w_rec, r0 = res
    ct_zs, (ct_v, ct_i, _) = cts
    dtype = vps.dtype
    a = cfg.dt / cfg.tau_mem
    keep_v = 1.0 - a  # dV'/dV
    keep_i = 1.0 - cfg.dt / cfg.tau_syn  # dI'/dI
    ct_zs = jnp.zeros_like(vps) if isinstance(ct_zs, jax.custom_derivatives.SymbolicZero) else ct_zs
    lam_v0 = jnp.zeros(vps.shape[1:], dtype) if _is_zero(ct_v) else ct_v.astype(dtype)
    lam_i0 = jnp.zeros(vps.shape[1:], dtype) if _is_zero(ct_i) else ct_i.astype(dtype)
    w_rec_t = None if w_rec is None else w_rec.T

    def step(carry, inp):
        lam_v, lam_i, lam_s_next = carry  # cotangents of V, I after this step; of s[n + 1]
        ct_z, vp, ref = inp
        if w_rec_t is not None:
            ct_z = ct_z + lam_s_next @ w_rec_t
        x = vp - cfg.v_th
        z, g = jax.jvp(surrogate, (x,), (jnp.ones_like(x),))
        z, g = z.astype(dtype), g.astype(dtype)
        if ref is not None:
            free = 1.0 - ref.astype(dtype)
            z, g = z * free, g * free
        if cfg.reset == "value":
            dvnew = (1.0 - z) + (cfg.v_reset - vp) * g
        else:
            dvnew = 1.0 - (cfg.v_th - cfg.v_reset) * g
        lam_vp = lam_v * dvnew + ct_z * g
        if ref is not None:
            lam_vp = lam_vp * free  # V' was clamped to v_reset
        lam_s = lam_i / cfg.tau_syn
        lam_v_prev = keep_v * lam_vp
        lam_i_prev = a * lam_vp + keep_i * lam_i
        return (lam_v_prev, lam_i_prev, lam_s), lam_s

    init = (lam_v0, lam_i0, jnp.zeros_like(lam_v0))
    (lam_v, lam_i, _), lam_syn = jax.lax.scan(
        step, init, (ct_zs, vps, refs), reverse=True, unroll=cfg.unroll
    )
    if w_rec is None:
        ct_w_rec = None
    else:  # s[n] gets z[n - 1] @ w_rec: one matmul over all steps
        z_prev = jnp.concatenate([jnp.zeros_like(zs[:1]), zs[:-1]], axis=0)
        ct_w_rec = (z_prev.reshape(-1, z_prev.shape[-1]).T
                    @ lam_syn.reshape(-1, lam_syn.shape[-1])).astype(w_rec.dtype)
    return lam_syn, lam_v, lam_i, None, ct_w_rec


def _is_zero(ct) -> bool:
    return ct is None or isinstance(ct, jax.custom_derivatives.SymbolicZero) or (
        hasattr(ct, "dtype") and ct.dtype == jax.dtypes.float0
    )


_fused_lif.defvjp(_fused_lif_fwd, _fused_lif_bwd)


def li_integrate(
    syn_inputs: Float[Array, "time n"],
    state: LIState,
    params: LIParams,
    dt: float,
    *,
    unroll: int = 1,
) -> tuple[LIState, LIState]:
    """Scan `li_step` over time; returns ``(final state, states after every step)``."""

    def step(carry, s):
        new = li_step(carry, s, params, dt)
        return new, new

    return jax.lax.scan(step, state, syn_inputs, unroll=unroll)
