"""Adaptive LIF neuron (spike-triggered adaptation current): exact flow, exact first crossing.

Dynamics (per neuron; ``u = V - v_leak``, ``theta = v_th - v_leak``)::

    tau_syn   dI/dt = -I + sum_k w_k delta(t - t_k)    (an input of weight w raises I by w/tau_syn)
    tau_adapt dA/dt = -A                               (A += b at each own spike)
    tau_mem   dV/dt = -(V - v_leak) + I - A
    V reaches v_th from below -> spike: V = v_reset for t_refrac, A += b (I and A keep decaying).

``I``, ``A`` and ``b`` are in volts (``b > 0``: adaptation, each spike lowers the drive by ``b``,
decaying with ``tau_adapt``; ``b < 0``: facilitation). ``b = 0`` is the LIF.

Free flow over ``t`` (linear; `alif_membrane`)::

    I(t) = I0 e^{-t/ts},   A(t) = A0 e^{-t/ta}
    u(t) = u0 e^{-t/tm} + I0 K(t; ts) - A0 K(t; ta)
    K(t; tx) = (t/tm) e^{-t/tm} phi(t (1/tx - 1/tm)),   phi(z) = (1 - e^{-z}) / z

with ``K(t; tx) = tx/(tm - tx) (e^{-t/tm} - e^{-t/tx})`` (`event.lif.membrane` evaluates it
stably for every ratio, equal time constants included): a sum of three exponentials.

First threshold crossing (`alif_threshold_crossing`), exact. ``u`` can now have a minimum and a
maximum (adaptation can pull ``u`` down before the synaptic current pushes it up), so the LIF's
"the crossing lies before the peak" does not hold. Instead:

1. ``g = tm du/dt = I - A - u`` and ``h = e^{t/tm} g`` have the same sign, and
   ``h' = e^{t/tm} (A/ta - I/ts)``. ``A/ta - I/ts = (A0/ta) e^{-t/ta} - (I0/ts) e^{-t/ts}``
   changes sign at most once, at the closed-form
   ``t_c = log((I0 ta)/(A0 ts)) / (1/ts - 1/ta)`` (none if ``I0 A0 <= 0`` or ``ts = ta``).
2. So ``h`` is monotone on ``[0, t_c]`` and on ``[t_c, H]`` (``H``: horizon) and ``du/dt`` has
   at most one zero in each: found by bracketed Newton (`solvers.newton_bracketed`, bisection
   fallback) on ``+-g`` when its sign differs at the two ends, to machine precision.
3. These at most two critical points ``p1 <= t_c <= p2`` cut ``[0, H]`` into four pieces on
   each of which ``u`` is monotone. The first crossing lies in the first piece whose right end
   has ``u >= theta`` (every earlier end is below threshold, and so, by monotonicity, is every
   point of the earlier pieces); on that piece ``u`` increases from below ``theta`` to at least
   ``theta``, and bracketed Newton finds the unique root to machine precision.

No crossing is skipped, however brief: a crossing inside a piece is bracketed by its ends, and a
touch at a local maximum is detected at the critical point itself, where ``u`` is flat
(an error ``delta`` in ``p`` changes ``u(p)`` by ``O(delta^2)``), so the test ``u(p) >= theta``
is decided to the rounding of ``u``. Nothing is sampled. ``u`` is not evaluated beyond
``1000 max(tm, ts, ta)`` after the last event (an infinite horizon is cut there; the state has
decayed by ``e^{-1000}``).

Gradients: autodiff through the kernel (exact; the crossing time is differentiated by the
implicit function theorem, `solvers.implicit_root`). EventProp is not available for this
neuron: `event.EventPropLIF` is the adjoint of the LIF equations and refuses it.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from ..checks import check_size
from .backward import Backward
from .integrate_fire import forbid_eventprop, validate_params
from .layers import AbstractEventLayer, layer_weight
from .lif import lif_weight_scale, membrane
from .neuron import EventNeuron, Transition
from .solvers import implicit_root, newton_bracketed

__all__ = [
    "AdaptiveLIFParams",
    "AdaptiveLIFState",
    "AdaptiveLIFNeuron",
    "AdaptiveLIF",
    "alif_membrane",
    "alif_threshold_crossing",
]

Scalar = float | Float[ArrayLike, ""] | Float[ArrayLike, " n"]

_HORIZON_CAP = 1e3  # in units of the longest time constant (see the module docstring)


class AdaptiveLIFParams(eqx.Module):
    """Parameters of an adaptive LIF neuron (seconds and volts).

    Each field is a float or an array broadcastable to the population (shape ``()`` or
    ``(n,)``); make them arrays to differentiate with respect to them.

    Attributes:
        tau_mem, tau_syn, v_th, v_reset, v_leak, t_refrac: as `event.LIFParams`.
        tau_adapt: time constant of the adaptation current ``A`` (s).
        b: jump of ``A`` at each own spike (V); ``0`` gives the LIF.
    """

    tau_mem: Scalar = 1e-2
    tau_syn: Scalar = 5e-3
    tau_adapt: Scalar = 5e-2
    b: Scalar = 0.2
    v_th: Scalar = 1.0
    v_reset: Scalar = 0.0
    v_leak: Scalar = 0.0
    t_refrac: Scalar = 0.0

    def __check_init__(self):
        validate_params("AdaptiveLIFParams", self, positive=("tau_mem", "tau_syn", "tau_adapt"),
                  nonneg=("t_refrac",), below_th=("v_reset", "v_leak"))


class AdaptiveLIFState(eqx.Module):
    """State of an adaptive LIF population, shapes ``(n,)``: membrane ``v`` (V), synaptic
    current ``i`` (V), adaptation current ``a`` (V), remaining refractory time ``r`` (s)."""

    v: Float[Array, " n"]
    i: Float[Array, " n"]
    a: Float[Array, " n"]
    r: Float[Array, " n"]


# ----------------------------------------------------------------------------- flow and crossing
def alif_membrane(t, u0, i0, a0, tm, ts, ta):
    """``u(t)`` of the free flow from ``(u0, i0, a0)`` after ``t >= 0`` (see the module doc)."""
    return membrane(t, u0, i0, tm, ts) - a0 * membrane(t, 0.0, 1.0, tm, ta)


def _flow(t, u0, i0, a0, tm, ts, ta):
    """``(u, I, A)`` at ``t`` and ``g = tm du/dt = I - A - u``."""
    u = alif_membrane(t, u0, i0, a0, tm, ts, ta)
    i = i0 * jnp.exp(-t / ts)
    a = a0 * jnp.exp(-t / ta)
    return u, i, a, i - a - u


def _critical_points(lo, hi, live, flow_args, tol):
    """The zero of ``du/dt`` in each piece ``[lo, hi]`` (leading axis: the pieces) on which ``h``
    is monotone, if ``du/dt`` changes sign there; else ``hi``. One solver call for all pieces."""
    _, _, _, tm, ts, ta = flow_args
    _, i_m, a_m, _ = _flow(0.5 * (lo + hi), *flow_args)
    s = jnp.sign(a_m / ta - i_m / ts)  # direction of h on the piece: s g changes sign - to +

    def f_df(t):
        _, i, a, g = _flow(t, *flow_args)
        return s * g, s * (a / ta - i / ts - g / tm)

    f_lo, _ = f_df(lo)
    f_hi, _ = f_df(hi)
    has = live & (hi > lo) & (f_lo < 0) & (f_hi >= 0)
    root = newton_bracketed(f_df, lo, hi, active=has, f_tol=tol)
    return jnp.where(has, root, hi)


def _alif_solve(args):
    u0, i0, a0, tm, ts, ta, theta, h = args
    flow_args = (u0, i0, a0, tm, ts, ta)
    cap = _HORIZON_CAP * jnp.maximum(jnp.maximum(tm, ts), ta)
    live = (u0 < theta) & (h >= 0)
    big = jnp.where(live, jnp.minimum(h, cap), 0.0)
    # where h' = e^{t/tm} (A/ta - I/ts) changes sign (at most once; closed form)
    split = (jnp.sign(i0) * jnp.sign(a0) > 0) & (ts != ta)
    ratio = jnp.where(split, (i0 * ta) / jnp.where(split, a0 * ts, 1.0), 1.0)
    rate = jnp.where(split, 1.0 / ts - 1.0 / ta, 1.0)
    t_c = jnp.where(split, jnp.log(ratio) / rate, big)
    t_c = jnp.clip(jnp.where(jnp.isnan(t_c), big, t_c), 0.0, big)
    # the critical points of u (at most one on each side of t_c), to machine precision
    noise = 4 * jnp.finfo(big.dtype).eps
    g_tol = noise * (jnp.abs(u0) + jnp.abs(i0) + jnp.abs(a0))
    p1, p2 = _critical_points(jnp.stack([jnp.zeros_like(big), t_c]), jnp.stack([t_c, big]),
                              live, flow_args, g_tol)
    # u is monotone on [0, p1], [p1, t_c], [t_c, p2], [p2, big]: the first piece whose right
    # end reaches theta holds the first crossing
    ends = (p1, t_c, p2, big)
    above = [alif_membrane(e, *flow_args) >= theta for e in ends]
    lo, hi = ends[2], ends[3]
    for k in (2, 1, 0):
        lo = jnp.where(above[k], ends[k - 1] if k else jnp.zeros_like(big), lo)
        hi = jnp.where(above[k], ends[k], hi)
    has = live & (above[0] | above[1] | above[2] | above[3])

    def f_df(t):
        u, _, _, g = _flow(t, *flow_args)
        return u - theta, g / tm

    f_tol = noise * (jnp.abs(theta) + jnp.abs(u0) + jnp.abs(i0) + jnp.abs(a0))
    root = newton_bracketed(f_df, lo, hi, active=has, f_tol=f_tol)
    t = jnp.where(has & (root <= h), root, jnp.inf)
    # at or above threshold already (only by rounding at a simultaneous event): fire now
    return jnp.where((u0 >= theta) & (h >= 0), 0.0, t)


def _alif_residual(t, args):
    u0, i0, a0, tm, ts, ta, theta, _ = args
    return alif_membrane(t, u0, i0, a0, tm, ts, ta) - theta


def _alif_min_slope(args):
    _, _, _, tm, _, _, theta, _ = args
    return jnp.sqrt(jnp.finfo(jnp.result_type(theta)).eps) * theta / tm


def alif_threshold_crossing(u0, i0, a0, tau_mem, tau_syn, tau_adapt, theta, horizon):
    """Time until ``u`` first reaches ``theta > 0`` from below in ``[0, horizon]`` (``inf`` if
    not); ``0`` if ``u0 >= theta`` already. Exact to machine precision (module docstring);
    differentiated by the implicit function theorem."""
    args = jnp.broadcast_arrays(*(jnp.asarray(a) for a in
                                  (u0, i0, a0, tau_mem, tau_syn, tau_adapt, theta, horizon)))
    dtype = jnp.result_type(*args)
    args = tuple(a.astype(dtype) for a in args)
    return implicit_root(_alif_solve, _alif_residual, _alif_min_slope, args)


# ----------------------------------------------------------------------------- the neuron
class AdaptiveLIFNeuron(EventNeuron):
    """Adaptive LIF (module docstring) as an `EventNeuron` (state: `AdaptiveLIFState`).

    * ``next_threshold_crossing``: after the refractory rest ``r`` (``I``, ``A`` decay,
      ``V = v_reset``), ``r + alif_threshold_crossing(...)``.
    * ``integrate``: refractory part (``I``, ``A`` decay), then `alif_membrane`.
    * ``transition``: on a spike reset ``V``, start ``t_refrac``, ``A += b``; ``I += w/tau_syn``.
    """

    params: AdaptiveLIFParams

    def init_state(self, n: int, dtype) -> AdaptiveLIFState:
        v = jnp.broadcast_to(jnp.asarray(self.params.v_leak, dtype), (n,)).astype(dtype)
        zero = jnp.zeros((n,), dtype)
        return AdaptiveLIFState(v=v, i=zero, a=zero, r=zero)

    def next_threshold_crossing(self, state: AdaptiveLIFState, t_max) -> Float[Array, " n"]:
        p = self.params
        r = state.r
        i0 = state.i * jnp.exp(-r / p.tau_syn)  # currents when the refractory period ends
        a0 = state.a * jnp.exp(-r / p.tau_adapt)
        tc = alif_threshold_crossing(state.v - p.v_leak, i0, a0, p.tau_mem, p.tau_syn,
                                     p.tau_adapt, p.v_th - p.v_leak, t_max - r)
        return r + tc

    def integrate(self, state: AdaptiveLIFState, dt) -> AdaptiveLIFState:
        p = self.params
        refr = dt < state.r
        dt_ref = jnp.where(refr, dt, state.r)  # part of dt spent refractory
        r_new = jnp.where(refr, state.r - dt, 0.0)
        dt_free = jnp.where(refr, 0.0, dt - dt_ref)
        i_mid = state.i * jnp.exp(-dt_ref / p.tau_syn)
        a_mid = state.a * jnp.exp(-dt_ref / p.tau_adapt)
        u = alif_membrane(dt_free, state.v - p.v_leak, i_mid, a_mid, p.tau_mem, p.tau_syn,
                          p.tau_adapt)
        return AdaptiveLIFState(v=p.v_leak + u, i=state.i * jnp.exp(-dt / p.tau_syn),
                                a=state.a * jnp.exp(-dt / p.tau_adapt), r=r_new)

    def transition(self, state: AdaptiveLIFState, spike: Transition) -> AdaptiveLIFState:
        p = self.params
        dtype = state.v.dtype
        return AdaptiveLIFState(
            v=jnp.where(spike.fired, jnp.asarray(p.v_reset, dtype), state.v),
            i=state.i + spike.weight / p.tau_syn,
            a=state.a + jnp.where(spike.fired, jnp.asarray(p.b, dtype), 0.0),
            r=jnp.where(spike.fired, jnp.asarray(p.t_refrac, dtype), state.r),
        )


# ----------------------------------------------------------------------------- the layer
class AdaptiveLIF(AbstractEventLayer):
    """A population of adaptive LIF neurons (`AdaptiveLIFNeuron`), event-based and exact.

    ``layer(spikes)`` maps input `Spikes` to output `Spikes` (length ``max_spikes``); unbatched
    (use ``jax.vmap``); ``layer(spikes, weight_rec=w)`` runs it recurrently (`snn.Recurrent`).
    Gradients: exact, by autodiff through the kernel; EventProp is not available.

    Weight init as `event.LIF`: ``weight = w1 (init_mean + init_std z) / in_size`` with
    ``w1 = lif_weight_scale(params)`` (the adaptation is zero before the first spike).

    Attributes:
        weight: ``(in_size, out_size)``, ``weight[pre, post]`` in V s (raises I by w / tau_syn).
        params: `AdaptiveLIFParams`.
        max_spikes_per_neuron: the most spikes one neuron may emit (a memory option, default
            ``None``: up to ``max_spikes``). By default the per-neuron buffers start small and
            grow only if a neuron fills them (`event.feedforward`), so an unused budget costs
            neither time nor memory; setting it fixes the buffers at that size (one spike more
            raises) and caps the memory of a layer whose neurons may fire very often.
    """

    weight: Float[Array, "in_size out_size"]
    params: AdaptiveLIFParams
    in_size: int = eqx.field(static=True)
    out_size: int = eqx.field(static=True)
    t_max: float = eqx.field(static=True)
    max_spikes: int = eqx.field(static=True)
    max_spikes_per_neuron: int | None = eqx.field(static=True)
    backward: Backward | None = eqx.field(static=True)
    method: str = eqx.field(static=True)

    def __init__(
        self,
        in_size: int,
        out_size: int,
        *,
        params: AdaptiveLIFParams | None = None,
        t_max: float,
        max_spikes: int,
        key: PRNGKeyArray | None = None,
        weight: Float[ArrayLike, "in_size out_size"] | None = None,
        max_spikes_per_neuron: int | None = None,
        init_mean: float = 2.0,
        init_std: float = 1.0,
        dtype=None,
        backward: Backward | None = None,
        method: str = "auto",
    ):
        params = AdaptiveLIFParams() if params is None else params
        where = type(self).__name__
        if not isinstance(params, AdaptiveLIFParams):
            raise TypeError(f"{where}: params must be event.AdaptiveLIFParams, got "
                            f"{type(params).__name__}.")
        forbid_eventprop(where, backward)
        in_size = check_size(in_size, "in_size", where)
        out_size = check_size(out_size, "out_size", where)
        self.weight = layer_weight(weight, key, in_size, out_size,
                                   scale=lambda: lif_weight_scale(params), init_mean=init_mean,
                                   init_std=init_std, dtype=dtype, where=where)
        self.params = params
        self.in_size = in_size
        self.out_size = out_size
        self.t_max = float(t_max)
        self.max_spikes = int(max_spikes)
        self.max_spikes_per_neuron = max_spikes_per_neuron
        self.backward = backward
        self.method = method
        self._check_sizes()

    @property
    def neuron(self) -> AdaptiveLIFNeuron:
        return AdaptiveLIFNeuron(self.params)
