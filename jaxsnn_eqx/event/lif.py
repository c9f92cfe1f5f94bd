"""Current-based LIF neuron: exact free-flow solution, exact threshold crossings, event layer.

Dynamics (per neuron; ``u = V - v_leak``, ``theta = v_th - v_leak``)::

    tau_syn dI/dt = -I + sum_k w_k delta(t - t_k)      (an input of weight w raises I by w/tau_syn)
    tau_mem dV/dt = -(V - v_leak) + I
    V reaches v_th from below -> spike; V = v_reset for t_refrac (I keeps decaying, takes input).

Free flow over ``t`` (`membrane`)::

    I(t) = I0 e^{-t/ts}
    u(t) = u0 e^{-t/tm} + I0 (t/tm) e^{-t/tm} phi(t d),   d = 1/ts - 1/tm,  phi(z) = (1-e^{-z})/z

which equals ``ts/(tm-ts) (e^{-t/tm} - e^{-t/ts})`` for ``tm != ts`` and ``t/tm e^{-t/tm}`` for
``tm = ts``, evaluated without cancellation or overflow for every ratio (and differentiable
through ``tm = ts``).

Where the threshold crossing lives: `threshold_crossing` (below). ``tm = 2 ts`` uses the closed
form (a quadratic in ``x = e^{-t/tm}``); every other ratio runs the bracketed Newton solver of
`solvers.newton_bracketed` on ``[0, min(t_peak, horizon)]`` (the first crossing lies on the
rising flank, before the analytic maximum ``t_peak`` of ``u``, where ``u`` is increasing and
concave). Both are differentiated by the implicit function theorem (`solvers.implicit_root`).
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from ..checks import check_size
from ..spikes import Spikes
from .backward import Backward
from .delays import check_delay
from .layers import AbstractEventLayer, layer_weight
from .neuron import EventNeuron, Transition
from .solvers import implicit_root, newton_bracketed

__all__ = [
    "LIFParams",
    "LIFState",
    "LIFNeuron",
    "LIF",
    "membrane",
    "peak_time",
    "threshold_crossing",
    "first_spike_times",
    "lif_weight_scale",
]

Scalar = float | Float[ArrayLike, ""] | Float[ArrayLike, " n"]


def concrete(x) -> np.ndarray | None:
    """``x`` as a NumPy array, or None if it is a tracer."""
    try:
        return np.asarray(x)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


def _static_ratio2(tm, ts) -> bool | None:
    """Whether ``tm == 2 ts`` everywhere, if known at trace time (else None)."""
    ctm, cts = concrete(tm), concrete(ts)
    if ctm is None or cts is None:
        return None
    return bool(np.all(ctm == 2 * cts))


class LIFParams(eqx.Module):
    """Parameters of a current-based LIF neuron (seconds and volts).

    Each field is a float or an array broadcastable to the population (shape ``()`` or
    ``(n,)``); make them arrays to differentiate with respect to them. Concrete values are
    validated at construction: positive time constants, ``v_th > v_leak``, ``v_reset < v_th``,
    ``t_refrac >= 0``.
    """

    tau_mem: Scalar = 1e-2
    tau_syn: Scalar = 5e-3
    v_th: Scalar = 1.0
    v_reset: Scalar = 0.0
    v_leak: Scalar = 0.0
    t_refrac: Scalar = 0.0

    def __check_init__(self):
        c = {k: concrete(getattr(self, k)) for k in
             ("tau_mem", "tau_syn", "v_th", "v_reset", "v_leak", "t_refrac")}

        def bad(name, cond, what):
            if cond is not None and not bool(np.all(cond)):
                raise ValueError(f"LIFParams: {name} must be {what}, got {getattr(self, name)!r}.")

        for name in ("tau_mem", "tau_syn"):
            bad(name, None if c[name] is None else c[name] > 0, "positive (seconds)")
        if c["v_th"] is not None and c["v_leak"] is not None:
            bad("v_th", c["v_th"] > c["v_leak"], f"greater than v_leak={self.v_leak!r}")
        if c["v_th"] is not None and c["v_reset"] is not None:
            bad("v_reset", c["v_reset"] < c["v_th"], f"smaller than v_th={self.v_th!r}")
        bad("t_refrac", None if c["t_refrac"] is None else c["t_refrac"] >= 0,
            "non-negative (seconds)")


class LIFState(eqx.Module):
    """State of a LIF population: membrane ``v`` (V), current ``i`` (V), and the remaining
    refractory time ``r`` (s; ``inf`` after the spike in single-spike mode). Shapes ``(n,)``."""

    v: Float[Array, " n"]
    i: Float[Array, " n"]
    r: Float[Array, " n"]


# ----------------------------------------------------------------------------- free flow maths
def _phi_series(z):
    # (1 - e^{-z})/z = sum_k (-z)^k/(k+1)!, k = 0..8: error < 3e-16 for |z| < 0.1
    c = [1.0 / float(np.prod(np.arange(1, k + 2))) for k in range(9)]
    acc = jnp.full_like(z, c[-1])
    for ck in reversed(c[:-1]):
        acc = ck - z * acc
    return acc


def _rise_kernel(t, tm, ts):
    """``e^{-t/tm} phi(t d)`` (``d = 1/ts - 1/tm``), stable for every ratio and any ``t >= 0``."""
    z = t * (1.0 / ts - 1.0 / tm)
    small = jnp.abs(z) < 0.1
    pos = z >= 0.1
    z_pos = jnp.where(pos, z, 1.0)
    z_neg = jnp.where(z <= -0.1, z, -1.0)
    big_pos = jnp.exp(-t / tm) * (-jnp.expm1(-z_pos)) / z_pos
    big_neg = jnp.exp(-t / ts) * (-jnp.expm1(z_neg)) / (-z_neg)  # = e^{-t/tm} phi(z), no overflow
    return jnp.where(small, jnp.exp(-t / tm) * _phi_series(jnp.where(small, z, 0.0)),
                     jnp.where(pos, big_pos, big_neg))


def membrane(t, u0, i0, tm, ts, ratio2: bool = False):
    """``u(t)`` of the free flow from ``(u0, i0)`` after ``t >= 0`` seconds (see module doc).

    ``ratio2=True`` asserts ``tm = 2 ts`` (then ``u = u0 x + i0 x (1 - x)``, ``x = e^{-t/tm}``,
    cheaper); the default form is exact for every ratio.
    """
    if ratio2:
        x = jnp.exp(-t / tm)
        return x * (u0 - i0 * jnp.expm1(-t / tm))
    return u0 * jnp.exp(-t / tm) + i0 * (t / tm) * _rise_kernel(t, tm, ts)


def peak_time(u0, i0, tm, ts):
    """Time of the maximum of ``u`` (``inf`` if ``u`` rises forever, e.g. towards 0 from below;
    meaningless where ``u`` does not rise initially, i.e. unless ``i0 > u0`` and ``i0 > 0``)."""
    i_safe = jnp.where(i0 > 0, i0, 1.0)
    x = (u0 - i_safe) * (tm - ts) / (i_safe * tm)
    ok = x > -1
    small = jnp.abs(x) < 1e-6
    x_s = jnp.where(ok & ~small, x, 1.0)
    psi = jnp.where(small, 1.0 - x / 2 + x * x / 3, jnp.log1p(x_s) / x_s)
    return jnp.where(ok, ts * (1.0 - u0 / i_safe) * psi, jnp.inf)


def _residual(t, args):
    u0, i0, tm, ts, theta, _ = args
    return membrane(t, u0, i0, tm, ts) - theta


def _residual_ratio2(t, args):
    u0, i0, tm, ts, theta, _ = args
    return membrane(t, u0, i0, tm, ts, ratio2=True) - theta


def _slope_floor(theta, tm):
    """Smallest ``du/dt`` used in an implicit-function derivative (a tangential crossing gives
    a large finite derivative instead of inf)."""
    return jnp.sqrt(jnp.finfo(jnp.result_type(theta)).eps) * theta / tm


def _min_slope(args):
    _, _, tm, _, theta, _ = args
    return _slope_floor(theta, tm)


def _at_threshold(args, t):
    """A neuron already at or above threshold fires now (``t = 0``). The state reaches it only
    at a crossing, e.g. when another neuron's spike at the same instant is processed first and
    rounding puts ``u`` on or just above ``theta``; without this that spike would be lost."""
    u0, _, _, _, theta, h = args
    return jnp.where((u0 >= theta) & (h >= 0), 0.0, t)


def _solve_quadratic(args):
    """Closed form for ``tm = 2 ts``: ``u = (u0 + i0) x - i0 x^2`` with ``x = e^{-t/tm}``."""
    u0, i0, tm, ts, theta, h = args
    c = i0 - u0
    b = u0 + i0
    disc = b * b - 4 * i0 * theta
    has = (i0 > 0) & (c > 0) & (b > 0) & (disc >= 0) & (u0 < theta)
    sq = jnp.sqrt(jnp.where(has, disc, 0.0))
    one_minus_x = 2 * (theta - u0) / jnp.where(has, c + sq, 1.0)  # 1 - x, without cancellation
    t = -tm * jnp.log1p(-jnp.where(has & (one_minus_x < 1), one_minus_x, 0.0))
    return _at_threshold(args, jnp.where(has & (one_minus_x < 1) & (t <= h), t, jnp.inf))


def _solve_newton(args, active=None):
    """Bracketed Newton on ``[0, min(t_peak, h)]`` for any ratio ``tm / ts``."""
    u0, i0, tm, ts, theta, h = args
    rising = (i0 > 0) & (i0 > u0) & (u0 < theta) & (h >= 0)
    hi = jnp.minimum(peak_time(u0, i0, tm, ts), h)
    hi = jnp.where(rising & jnp.isfinite(hi), hi, 0.0)
    has = rising & (membrane(hi, u0, i0, tm, ts) >= theta)
    if active is not None:
        has = has & active

    def f_df(t):
        u = membrane(t, u0, i0, tm, ts)
        return u - theta, (i0 * jnp.exp(-t / ts) - u) / tm

    # |u - theta| below the rounding noise of evaluating u: as close to the root as f resolves
    f_tol = 4 * jnp.finfo(hi.dtype).eps * (jnp.abs(theta) + jnp.abs(u0) + jnp.abs(i0))
    root = newton_bracketed(f_df, jnp.zeros_like(hi), hi, active=has, f_tol=f_tol)
    return _at_threshold(args, jnp.where(has, root, jnp.inf))


def _solve_auto(args):
    u0, i0, tm, ts, theta, h = args
    quad = tm == 2 * ts
    return jnp.where(quad, _solve_quadratic(args), _solve_newton(args, active=~quad))


def threshold_crossing(u0, i0, tm, ts, theta, horizon, *, method: str = "auto"):
    """Time until ``u`` first reaches ``theta`` from below in ``[0, horizon]`` (``inf`` if not);
    ``0`` if ``u0 >= theta`` already (the neuron fires now).

    Exact (machine precision) for every ratio; differentiable by the implicit function theorem.
    ``method``: ``"quadratic"`` (only valid for ``tm = 2 ts``), ``"newton"`` (any ratio), or
    ``"auto"`` (quadratic where ``tm == 2 ts`` exactly, decided statically when the time
    constants are concrete).
    """
    args = jnp.broadcast_arrays(*(jnp.asarray(a) for a in (u0, i0, tm, ts, theta, horizon)))
    dtype = jnp.result_type(*args)
    args = tuple(a.astype(dtype) for a in args)
    if method == "auto":
        ratio2 = _static_ratio2(tm, ts)
        if ratio2 is not None:
            method = "quadratic" if ratio2 else "newton"
    solve = {"quadratic": _solve_quadratic, "newton": _solve_newton, "auto": _solve_auto}[method]
    residual = _residual_ratio2 if method == "quadratic" else _residual
    return implicit_root(solve, residual, _min_slope, args)


# ----------------------------------------------------------------------------- first spikes at once
def first_spike_times(
    params: LIFParams,
    weight: Float[Array, "n_in n"],
    spikes: Spikes,
    t_max: float,
    *,
    associative: bool | None = None,
) -> Float[Array, " n"]:
    """First spike time (s) of each LIF neuron of a feed-forward population at rest at ``t = 0``
    (``inf`` if it does not fire before ``t_max``): every input interval at once.

    The ``K`` sorted input spikes cut ``[0, t_max]`` into intervals ``[t_k, t_{k+1}]``. Until
    its first spike a neuron's state is linear in its inputs, so the states ``(u_k, I_k)`` just
    after every input follow from one scan of the exact free flow (`membrane`, any ratio
    ``tm/ts``) and the input jumps, for all ``n`` neurons together. Then every interval's
    crossing is solved at once (`threshold_crossing`, horizon ``t_{k+1} - t_k``); the earliest
    is the spike. That search is not differentiated. Instead the spike time ``t*`` is the root
    of ``sum_{j felt} w_j/ts g(t* - t_j) = theta`` (``g = membrane(., 0, 1)``; felt: the inputs
    up to the chosen interval), and the implicit function theorem gives its exact derivative
    with respect to the weights, the input times and the parameters in one pass over the
    ``(K, n)`` pairs, without a backward scan. The result equals the event kernel's spike times
    and gradients (a crossing tied with an input at the same instant comes first, as in the
    kernel), at a fraction of the cost: a few array operations per input for the whole
    population instead of an event loop per neuron.

    Args:
        params: `LIFParams` (fields of shape ``()`` or ``(n,)``; ``v_reset``/``t_refrac`` unused).
        weight: ``(n_in, n)``.
        spikes: unbatched input `Spikes`, sorted by time (padding ``inf``/``-1`` at the end);
            or, with synaptic delays, one arrival list per neuron: ``time`` and ``idx`` of
            shape ``(K, n)``, each column sorted (column ``j``: the arrival times at neuron
            ``j`` and the inputs they come from).
        t_max: end of the simulation (s).
        associative: compose the per-input flows with `jax.lax.associative_scan` (``log2 K``
            rounds; faster on accelerators) instead of a sequential `jax.lax.scan` (``K``
            steps; faster on CPU). ``None``: by `jax.default_backend`. Same result to rounding.
    """
    if associative is None:
        associative = _associative_default()
    t_in, idx = spikes.time, spikes.idx
    n_in, n = weight.shape
    k_in = t_in.shape[0]
    dtype = jnp.result_type(weight.dtype, t_in.dtype)
    if k_in == 0:
        return jnp.full((n,), jnp.inf, dtype)
    valid = (idx >= 0) & (t_in < t_max)
    t = jnp.where(valid, t_in, t_max).astype(dtype)  # ignored inputs sit at t_max with w = 0
    row = jnp.clip(idx, 0, n_in - 1)
    if t_in.ndim == 2:  # one arrival list per neuron (delays): column j feeds neuron j
        w = jnp.where(valid, weight[row, jnp.arange(n)], 0.0).astype(dtype)
    else:
        w = jnp.where(valid[:, None], weight[row], 0.0).astype(dtype)
    tm, ts = jnp.asarray(params.tau_mem, dtype), jnp.asarray(params.tau_syn, dtype)
    theta = jnp.asarray(params.v_th, dtype) - jnp.asarray(params.v_leak, dtype)
    q = w / ts  # (K, n): current jump of each input
    ratio2 = bool(_static_ratio2(params.tau_mem, params.tau_syn))
    # search (not differentiated): the state just after each input by one scan of the exact
    # free flow, every interval's crossing at once, the earliest one per neuron
    t_star, first = jax.lax.stop_gradient(
        _first_crossings(t, q, tm, ts, theta, t_max, ratio2, associative))
    # the spike time as the root of u(t*) = theta, u the summed response to the inputs that
    # arrived before the spike, differentiated by the implicit function theorem
    felt = jnp.arange(k_in)[:, None] <= first[None, :]  # (K, n)
    return implicit_root(_solved, _psp_residual_ratio2 if ratio2 else _psp_residual,
                         _psp_min_slope, (t_star, q, t, tm, ts, theta, felt))


def _states_after_inputs(t, q, tm, ts, ratio2: bool, associative: bool = False, along=()):
    """``(u_k, I_k)``, each ``(K, n)``: the state just after input ``k`` (from rest at 0), by one
    scan over the inputs of the exact free flow between them and their jumps (`jax.lax.scan`,
    or `jax.lax.associative_scan` in ``log2 K`` rounds).

    ``along``: further ``(K,)`` arrays returned broadcast to ``(K, n)`` after the states. The
    sequential scan emits them itself, so that they share the states' memory layout (combined
    with differently laid out ``(K,)`` arrays, XLA's CPU code for the crossing search is not
    vectorised).
    """
    lag = _col(jnp.diff(t, axis=0, prepend=jnp.zeros((1,) + t.shape[1:], t.dtype)))  # >= 0
    flow = (jnp.exp(-lag / tm), membrane(lag, 0.0, 1.0, tm, ts, ratio2=ratio2),
            jnp.exp(-lag / ts), q)
    if associative:
        decay_u, rise, decay_i, q_k = flow
        ones = jnp.ones_like(q)
        # each input is the affine map (u, i) -> (a u + r i, d i + q) of the flow since the
        # previous one and its jump; compose the maps in log2(K) rounds
        _, _, _, u_k, i_k = jax.lax.associative_scan(
            _compose_flows, (decay_u * ones, rise * ones, decay_i * ones, jnp.zeros_like(q), q))
        return (u_k, i_k, *(jnp.broadcast_to(_col(a), q.shape) for a in along))

    def step(state, xs):
        u, i = state
        (decay_u, rise, decay_i, q_k), extra = xs
        state = (decay_u * u + rise * i, decay_i * i + q_k)
        return state, (*state, *(jnp.broadcast_to(a, q_k.shape) for a in extra))

    zero = jnp.zeros(q.shape[1:], q.dtype)
    _, out = jax.lax.scan(step, (zero, zero), (flow, tuple(along)))
    return out


def _col(x):
    """A ``(K,)`` array as a column ``(K, 1)``; per-neuron ``(K, n)`` arrays as they are."""
    return x[:, None] if x.ndim == 1 else x


def _compose_flows(first, second):
    """The affine map ``second o first`` of two ``(a, r, d, u, i)`` flow maps (see
    `_states_after_inputs`)."""
    a1, r1, d1, u1, i1 = first
    a2, r2, d2, u2, i2 = second
    return a2 * a1, a2 * r1 + r2 * d1, d2 * d1, a2 * u1 + r2 * i1 + u2, d2 * i1 + i2


def _associative_default() -> bool:
    return jax.default_backend() != "cpu"


def _first_crossings(t, q, tm, ts, theta, t_max, ratio2: bool, associative: bool):
    """First crossing time ``(n,)`` and the index of the input after which it happens."""
    t_next = jnp.concatenate([t[1:], jnp.full((1,) + t.shape[1:], t_max, t.dtype)])
    u_k, i_k, t_k, horizon = _states_after_inputs(
        t, q, tm, ts, ratio2, associative, along=(t, jnp.minimum(t_next, t_max) - t))
    dt = threshold_crossing(u_k, i_k, tm, ts, theta, horizon)  # (K, n)
    cand = jnp.where(jnp.isfinite(dt), t_k + dt, jnp.inf)
    first = jnp.argmin(cand, axis=0)  # the earlier interval on ties, as in the event kernel
    return jnp.take_along_axis(cand, first[None], axis=0)[0], first


def _solved(args):
    return args[0]


def _psp_residual(t_star, args, ratio2: bool = False):
    """``u(t*) - theta`` with ``u`` the summed responses to the inputs ``felt`` before ``t*``."""
    _, q, t_in, tm, ts, theta, felt = args
    lag = t_star[None, :] - _col(t_in)  # (K, n)
    ok = felt & (lag >= 0)
    lag = jnp.where(ok, lag, 0.0)
    return jnp.sum(jnp.where(ok, q * membrane(lag, 0.0, 1.0, tm, ts, ratio2=ratio2), 0.0),
                   axis=0) - theta


def _psp_residual_ratio2(t_star, args):
    return _psp_residual(t_star, args, ratio2=True)


def _psp_min_slope(args):
    _, _, _, tm, _, theta, _ = args
    return _slope_floor(theta, tm)


# ----------------------------------------------------------------------------- the neuron
class LIFNeuron(EventNeuron):
    """Current-based LIF as an `EventNeuron` (state: `LIFState`).

    ``single_spike=True`` makes each neuron fire at most once (infinite refractoriness).
    """

    params: LIFParams
    single_spike: bool = eqx.field(static=True, default=False)
    # `first_spike_times` takes one arrival list per neuron (delays) in a single call
    per_neuron_arrivals: ClassVar[bool] = True

    def init_state(self, n: int, dtype) -> LIFState:
        p = self.params
        v = jnp.broadcast_to(jnp.asarray(p.v_leak, dtype), (n,)).astype(dtype)
        zero = jnp.zeros((n,), dtype)
        return LIFState(v=v, i=zero, r=zero)

    def next_threshold_crossing(self, state: LIFState, t_max) -> Float[Array, " n"]:
        p = self.params
        dead = ~jnp.isfinite(state.r)
        r = jnp.where(dead, 0.0, state.r)
        i0 = state.i * jnp.exp(-r / p.tau_syn)  # current when the refractory period ends
        u0 = state.v - p.v_leak  # V sits at v_reset while refractory
        tc = threshold_crossing(u0, i0, p.tau_mem, p.tau_syn, p.v_th - p.v_leak, t_max - r)
        return jnp.where(dead, jnp.inf, r + tc)

    def integrate(self, state: LIFState, dt) -> LIFState:
        p = self.params
        refr = dt < state.r
        dt_ref = jnp.where(refr, dt, state.r)  # part of dt spent refractory
        r_new = jnp.where(refr, state.r - dt, 0.0)
        dt_free = jnp.where(refr, 0.0, dt - dt_ref)
        i_mid = state.i * jnp.exp(-dt_ref / p.tau_syn)
        u = membrane(dt_free, state.v - p.v_leak, i_mid, p.tau_mem, p.tau_syn,
                     ratio2=_static_ratio2(p.tau_mem, p.tau_syn))
        return LIFState(v=p.v_leak + u, i=state.i * jnp.exp(-dt / p.tau_syn), r=r_new)

    def first_spike_times(self, weight, spikes, t_max) -> Float[Array, " n"]:
        """All first spikes at once (`first_spike_times`); used when ``single_spike``."""
        return first_spike_times(self.params, weight, spikes, t_max)

    def transition(self, state: LIFState, spike: Transition) -> LIFState:
        p = self.params
        t_ref = jnp.inf if self.single_spike else p.t_refrac
        dtype = state.v.dtype
        return LIFState(
            v=jnp.where(spike.fired, jnp.asarray(p.v_reset, dtype), state.v),
            i=state.i + spike.weight / p.tau_syn,
            r=jnp.where(spike.fired, jnp.asarray(t_ref, dtype), state.r),
        )


def lif_weight_scale(params: LIFParams) -> float:
    """Weight (V s) of one input spike that makes a resting neuron's ``u`` peak exactly at
    threshold: ``(v_th - v_leak) tau_syn / k*`` with ``k* = max_t ts/(tm-ts)(e^{-t/tm}-e^{-t/ts})``
    (``1/4`` for ``tm = 2 ts``). Uses the mean of array-valued parameters. A Python float for
    concrete parameters; a traced scalar when the parameters are traced (e.g. a layer built
    under ``jax.jit`` or ``eqx.filter_eval_shape`` from per-neuron calibrated parameters)."""
    leaves = (params.tau_mem, params.tau_syn, params.v_th, params.v_leak)
    if any(isinstance(x, jax.core.Tracer) for x in leaves):
        tm_, ts_ = jnp.mean(jnp.asarray(params.tau_mem)), jnp.mean(jnp.asarray(params.tau_syn))
        theta = jnp.mean(jnp.asarray(params.v_th) - jnp.asarray(params.v_leak))
        return theta * ts_ / membrane(peak_time(0.0, 1.0, tm_, ts_), 0.0, 1.0, tm_, ts_)
    tm = float(np.mean(np.asarray(params.tau_mem)))
    ts = float(np.mean(np.asarray(params.tau_syn)))
    theta = float(np.mean(np.asarray(params.v_th) - np.asarray(params.v_leak)))
    # the widest float available: rounding the time constants to float32 first would put the
    # peak off threshold by ~1e-8 relative even in float64
    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    with jax.ensure_compile_time_eval():
        tm_, ts_ = jnp.asarray(tm, dtype), jnp.asarray(ts, dtype)
        tp = peak_time(0.0, 1.0, tm_, ts_)  # stable for every ratio, including tm = ts
        k = float(membrane(tp, 0.0, 1.0, tm_, ts_))
    return theta * ts / k


# ----------------------------------------------------------------------------- the layer
class LIF(AbstractEventLayer):
    """A population of current-based LIF neurons driven by input spikes (exact, event-based).

    ``lif(spikes)`` maps the input `Spikes` (indices in ``[0, in_size)``) to the output `Spikes`
    (length ``max_spikes``, sorted; unused slots ``inf``/``-1``). Unbatched: use ``jax.vmap``.
    Gradients are exact (implicit function theorem through every spike time).

    Weight init: ``weight = w1 (init_mean + init_std z) / in_size`` with ``z ~ N(0, 1)``, where
    ``w1 = lif_weight_scale(params)`` is the weight of a single input that just reaches threshold.
    So ``init_mean`` is the summed drive in units of "threshold-reaching inputs".

    Single-spike feed-forward layers (``single_spike=True``, no ``weight_rec``) are solved all
    at once (`first_spike_times`) instead of event by event: the same times and gradients,
    several times faster; ``method="kernel"`` forces the event loop (see `event.simulate`).

    Attributes:
        weight: ``(in_size, out_size)``, ``weight[pre, post]`` in V s (raises I by w / tau_syn).
        params: `LIFParams`.
        backward: ``None`` or `event.Replay()` (autodiff, exact by the implicit function
            theorem) or another `event.Backward` strategy such as `event.EventProp()`
            (`event.EventPropLIF` sets it). A static field.
        method: ``"auto"``, ``"kernel"`` or ``"parallel"`` (see `event.simulate`).
        max_spikes_per_neuron: the most spikes one neuron may emit (a memory option, default
            ``None``: up to ``max_spikes``). By default the per-neuron buffers start small and
            grow only if a neuron fills them (`event.feedforward`), so an unused budget costs
            neither time nor memory; setting it fixes the buffers at that size (one spike more
            raises) and caps the memory of a layer whose neurons may fire very often.
        delay: synaptic delays (s) or ``None`` (none): shape ``()``, ``(in_size, 1)`` (per
            input), ``(1, out_size)`` (per neuron) or ``(in_size, out_size)`` (per connection);
            a spike of input ``i`` at ``t`` arrives at neuron ``j`` at ``t + delay[i, j]``.
            A trainable leaf like ``weight``, with exact gradients; to train the weights only,
            filter it out (see the README). Checked at construction (finite, ``>= 0``); an
            entry that training makes negative acts as ``0`` with zero gradient (see
            `event.simulate`), so project it back after each step (``jnp.maximum(d, 0)``).
    """

    weight: Float[Array, "in_size out_size"]
    params: LIFParams
    delay: Float[Array, "in_size out_size"] | None
    in_size: int = eqx.field(static=True)
    out_size: int = eqx.field(static=True)
    t_max: float = eqx.field(static=True)
    max_spikes: int = eqx.field(static=True)
    max_spikes_per_neuron: int | None = eqx.field(static=True)
    single_spike: bool = eqx.field(static=True)
    backward: Backward | None = eqx.field(static=True)
    method: str = eqx.field(static=True)

    def __init__(
        self,
        in_size: int,
        out_size: int,
        *,
        params: LIFParams | None = None,
        t_max: float,
        max_spikes: int,
        key: PRNGKeyArray | None = None,
        weight: Float[ArrayLike, "in_size out_size"] | None = None,
        single_spike: bool = False,
        max_spikes_per_neuron: int | None = None,
        init_mean: float = 2.0,
        init_std: float = 1.0,
        dtype=None,
        backward: Backward | None = None,
        method: str = "auto",
        delay: Float[ArrayLike, "in_size out_size"] | None = None,
    ):
        params = LIFParams() if params is None else params
        where = type(self).__name__
        if not isinstance(params, LIFParams):
            raise TypeError(f"{where}: `params` must be event.LIFParams, got "
                            f"{type(params).__name__} (event.IF and event.AdaptiveLIF are the "
                            "layers of the other neuron models).")
        in_size = check_size(in_size, "in_size", where)
        out_size = check_size(out_size, "out_size", where)
        self.weight = layer_weight(weight, key, in_size, out_size,
                                   scale=lambda: lif_weight_scale(params), init_mean=init_mean,
                                   init_std=init_std, dtype=dtype, where=where)
        self.params = params
        self.delay = None if delay is None else check_delay(
            delay, in_size, out_size, where, dtype=self.weight.dtype)
        self.in_size = in_size
        self.out_size = out_size
        self.t_max = float(t_max)
        self.max_spikes = int(max_spikes)
        self.max_spikes_per_neuron = max_spikes_per_neuron
        self.single_spike = bool(single_spike)
        self.backward = backward
        self.method = method
        self._check_sizes()

    @property
    def neuron(self) -> LIFNeuron:
        return LIFNeuron(self.params, single_spike=self.single_spike)

