"""Non-leaky integrate-and-fire neuron with current synapses: closed-form flow and crossing.

Dynamics (per neuron)::

    tau_syn dI/dt = -I + sum_k w_k delta(t - t_k)      (an input of weight w raises I by w/tau_syn)
    tau_mem dV/dt = I                                   (no leak)
    V reaches v_th from below -> spike; V = v_reset for t_refrac (I keeps decaying, takes input).

``V(0) = v_rest``. ``tau_mem`` (s) is an integration time constant (capacitance over a
reference conductance): the LIF equation ``tau_mem dV/dt = -(V - v_leak) + I`` without its leak
term. An input of weight ``w`` (V s) eventually raises ``V`` by ``w / tau_mem``.

Free flow over ``t`` (`if_membrane`)::

    I(t) = I0 e^{-t/ts},     V(t) = V0 + (ts/tm) I0 (1 - e^{-t/ts})  = V0 - (ts/tm) I0 expm1(-t/ts)

``V`` is monotone and tends to the asymptote ``V0 + (ts/tm) I0``. Threshold crossing
(`if_threshold_crossing`), closed form: with ``d = v_th - V0 > 0`` and ``R = (ts/tm) I0``, a
crossing exists iff ``R > d`` (an asymptote exactly at threshold is never reached), at::

    t* = -ts log1p(-d / R)

Limit of the LIF: `event.LIF` with ``tau_mem = L``, ``v_leak = v_rest`` and weights
``w L / tau_mem`` (the same initial slope ``I / tau_mem``) tends to this neuron with weights
``w`` as ``L -> inf``, with spike-time errors ``O(t / L)`` (tested).

Gradients: autodiff through the kernel (exact; the crossing is differentiated by the implicit
function theorem, `solvers.implicit_root`). EventProp is not available for this neuron:
`event.EventPropLIF` is the adjoint of the LIF equations and refuses it.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from ..checks import check_size
from .backward import Backward
from .layers import AbstractEventLayer, layer_weight
from .lif import LIFState, concrete
from .neuron import EventNeuron, Transition
from .solvers import implicit_root

__all__ = [
    "IFParams",
    "IFNeuron",
    "IF",
    "if_membrane",
    "if_threshold_crossing",
    "if_weight_scale",
]

Scalar = float | Float[ArrayLike, ""] | Float[ArrayLike, " n"]


def validate_params(where: str, obj, positive=(), nonneg=(), below_th=()) -> None:
    """Raise ``ValueError`` for concrete parameter values that break the model's assumptions."""
    c = {k: concrete(getattr(obj, k)) for k in (*positive, *nonneg, *below_th, "v_th")}

    def bad(name, cond, what):
        if cond is not None and not bool(np.all(cond)):
            raise ValueError(f"{where}: {name} must be {what}, got {getattr(obj, name)!r}.")

    for name in positive:
        bad(name, None if c[name] is None else c[name] > 0, "positive (seconds)")
    for name in nonneg:
        bad(name, None if c[name] is None else c[name] >= 0, "non-negative (seconds)")
    for name in below_th:
        if c[name] is not None and c["v_th"] is not None:
            bad(name, c[name] < c["v_th"], f"smaller than v_th={obj.v_th!r}")


def forbid_eventprop(where: str, backward) -> None:
    """EventProp is the LIF's adjoint: refuse it for the other models, at construction."""
    from .eventprop import EventProp

    if isinstance(backward, EventProp):
        raise TypeError(
            f"{where}: EventProp (eventprop_lif_backward) is the adjoint of the LIF equations "
            "only and is not available for this neuron model; leave backward=None (exact "
            "gradients by autodiff through the kernel)."
        )


class IFParams(eqx.Module):
    """Parameters of a non-leaky integrate-and-fire neuron (seconds and volts).

    Each field is a float or an array broadcastable to the population (shape ``()`` or
    ``(n,)``); make them arrays to differentiate with respect to them.

    Attributes:
        tau_mem: integration time constant (s): ``tau_mem dV/dt = I``.
        tau_syn: synaptic time constant (s).
        v_th: threshold (V).
        v_reset: potential after a spike (V), below ``v_th``.
        v_rest: potential at ``t = 0`` (V), below ``v_th`` (no leak pulls ``V`` back to it).
        t_refrac: refractory period (s); ``V`` is held at ``v_reset``.
    """

    tau_mem: Scalar = 1e-2
    tau_syn: Scalar = 5e-3
    v_th: Scalar = 1.0
    v_reset: Scalar = 0.0
    v_rest: Scalar = 0.0
    t_refrac: Scalar = 0.0

    def __check_init__(self):
        validate_params("IFParams", self, positive=("tau_mem", "tau_syn"), nonneg=("t_refrac",),
                  below_th=("v_reset", "v_rest"))


# ----------------------------------------------------------------------------- flow and crossing
def if_membrane(t, v0, i0, tm, ts):
    """``V(t) = v0 + (ts/tm) i0 (1 - e^{-t/ts})``: the free flow from ``(v0, i0)`` after ``t``."""
    return v0 - (ts / tm) * i0 * jnp.expm1(-t / ts)


def _if_solve(args):
    v0, i0, tm, ts, v_th, h, _ = args
    d = v_th - v0  # distance to threshold
    rise = (ts / tm) * i0  # total rise still to come (the asymptote is v0 + rise)
    has = (d > 0) & (rise > d) & (h >= 0)
    q = jnp.where(has, d / jnp.where(has, rise, 1.0), 0.0)  # 1 - e^{-t/ts}, in (0, 1)
    t = -ts * jnp.log1p(-q)  # q rounding to 1 (asymptote within an ulp): t = inf, no crossing
    t = jnp.where(has & (t <= h), t, jnp.inf)
    # at or above threshold already (only by rounding at a simultaneous event): fire now
    return jnp.where((d <= 0) & (h >= 0), 0.0, t)


def _if_residual(t, args):
    v0, i0, tm, ts, v_th, _, _ = args
    return if_membrane(t, v0, i0, tm, ts) - v_th


def _if_min_slope(args):
    _, _, tm, _, _, _, scale = args
    return jnp.sqrt(jnp.finfo(jnp.result_type(tm)).eps) * scale / tm


def if_threshold_crossing(v0, i0, tau_mem, tau_syn, v_th, horizon, *, scale=None):
    """Time until ``V`` first reaches ``v_th`` in ``[0, horizon]`` (``inf`` if never, including an
    asymptote at or below threshold); ``0`` if ``v0 >= v_th`` already. Closed form, exact;
    differentiated by the implicit function theorem (slope floored at
    ``sqrt(eps) scale / tau_mem``; ``scale``: a voltage scale, default ``|v_th - v0|``)."""
    if scale is None:
        scale = jnp.abs(jnp.asarray(v_th) - jnp.asarray(v0))
    args = jnp.broadcast_arrays(*(jnp.asarray(a) for a in
                                  (v0, i0, tau_mem, tau_syn, v_th, horizon, scale)))
    dtype = jnp.result_type(*args)
    args = tuple(a.astype(dtype) for a in args)
    return implicit_root(_if_solve, _if_residual, _if_min_slope, args)


# ----------------------------------------------------------------------------- the neuron
class IFNeuron(EventNeuron):
    """Non-leaky integrate-and-fire neuron with current synapses as an `EventNeuron`.

    State: `event.LIFState` (``v`` membrane (V), ``i`` current (V), ``r`` remaining refractory
    time (s), ``inf`` after the spike when ``single_spike``).

    * ``next_threshold_crossing``: after the refractory rest ``r`` (``I`` decays, ``V =
      v_reset``), the closed form ``r + if_threshold_crossing(...)``.
    * ``integrate``: refractory part (only ``I`` decays), then `if_membrane`.
    * ``transition``: reset ``V``, start the refractory period, add ``w / tau_syn`` to ``I``.
    """

    params: IFParams
    single_spike: bool = eqx.field(static=True, default=False)

    def init_state(self, n: int, dtype) -> LIFState:
        v = jnp.broadcast_to(jnp.asarray(self.params.v_rest, dtype), (n,)).astype(dtype)
        zero = jnp.zeros((n,), dtype)
        return LIFState(v=v, i=zero, r=zero)

    def next_threshold_crossing(self, state: LIFState, t_max) -> Float[Array, " n"]:
        p = self.params
        dead = ~jnp.isfinite(state.r)
        r = jnp.where(dead, 0.0, state.r)
        i0 = state.i * jnp.exp(-r / p.tau_syn)  # current when the refractory period ends
        tc = if_threshold_crossing(state.v, i0, p.tau_mem, p.tau_syn, p.v_th, t_max - r,
                                   scale=jnp.asarray(p.v_th) - jnp.asarray(p.v_reset))
        return jnp.where(dead, jnp.inf, r + tc)

    def integrate(self, state: LIFState, dt) -> LIFState:
        p = self.params
        refr = dt < state.r
        dt_ref = jnp.where(refr, dt, state.r)  # part of dt spent refractory
        r_new = jnp.where(refr, state.r - dt, 0.0)
        dt_free = jnp.where(refr, 0.0, dt - dt_ref)
        i_mid = state.i * jnp.exp(-dt_ref / p.tau_syn)
        v = if_membrane(dt_free, state.v, i_mid, p.tau_mem, p.tau_syn)
        return LIFState(v=v, i=state.i * jnp.exp(-dt / p.tau_syn), r=r_new)

    def transition(self, state: LIFState, spike: Transition) -> LIFState:
        p = self.params
        t_ref = jnp.inf if self.single_spike else p.t_refrac
        dtype = state.v.dtype
        return LIFState(
            v=jnp.where(spike.fired, jnp.asarray(p.v_reset, dtype), state.v),
            i=state.i + spike.weight / p.tau_syn,
            r=jnp.where(spike.fired, jnp.asarray(t_ref, dtype), state.r),
        )


def if_weight_scale(params: IFParams) -> float:
    """Weight (V s) of one input spike whose asymptote is exactly the threshold for a neuron at
    rest: ``tau_mem (v_th - v_rest)`` (any larger weight makes it fire). Means of arrays."""
    tm = float(np.mean(np.asarray(params.tau_mem)))
    return tm * float(np.mean(np.asarray(params.v_th) - np.asarray(params.v_rest)))


# ----------------------------------------------------------------------------- the layer
class IF(AbstractEventLayer):
    """A population of non-leaky integrate-and-fire neurons (`IFNeuron`), event-based and exact.

    ``layer(spikes)`` maps input `Spikes` to output `Spikes` (length ``max_spikes``); unbatched
    (use ``jax.vmap``); ``layer(spikes, weight_rec=w)`` runs it recurrently (`snn.Recurrent`;
    pass ``weight_rec`` or ``scale`` there, ``IFParams`` has no ``v_leak`` for the default).
    Gradients: exact, by autodiff through the kernel; EventProp is not available.

    Weight init: ``weight = w1 (init_mean + init_std z) / in_size``, ``z ~ N(0, 1)``, with
    ``w1 = if_weight_scale(params)`` the weight whose asymptote is the threshold.

    Attributes:
        weight: ``(in_size, out_size)``, ``weight[pre, post]`` in V s (raises I by w / tau_syn).
        params: `IFParams`.
        max_spikes_per_neuron: the most spikes one neuron may emit (a memory option, default
            ``None``: up to ``max_spikes``). By default the per-neuron buffers start small and
            grow only if a neuron fills them (`event.feedforward`), so an unused budget costs
            neither time nor memory; setting it fixes the buffers at that size (one spike more
            raises) and caps the memory of a layer whose neurons may fire very often.
    """

    weight: Float[Array, "in_size out_size"]
    params: IFParams
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
        params: IFParams | None = None,
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
    ):
        params = IFParams() if params is None else params
        where = type(self).__name__
        if not isinstance(params, IFParams):
            raise TypeError(f"{where}: params must be event.IFParams, got "
                            f"{type(params).__name__}.")
        forbid_eventprop(where, backward)
        in_size = check_size(in_size, "in_size", where)
        out_size = check_size(out_size, "out_size", where)
        self.weight = layer_weight(weight, key, in_size, out_size,
                                   scale=lambda: if_weight_scale(params), init_mean=init_mean,
                                   init_std=init_std, dtype=dtype, where=where)
        self.params = params
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
    def neuron(self) -> IFNeuron:
        return IFNeuron(self.params, single_spike=self.single_spike)
