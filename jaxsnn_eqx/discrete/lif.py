"""Euler-stepped LIF and LI layers: thin `eqx.Module` wrappers that own the weights.

The dynamics (parameters, states, `lif_step`, `li_step`, `lif_integrate`, `li_integrate` and the
fused custom-VJP scan) are in `jaxsnn_eqx.discrete.functional`; a layer validates its input, hoists
the input matrix product out of the time loop (one matmul over all steps) and scans the dynamics,
so only elementwise dynamics (and, for a recurrent layer, the recurrent product) run inside
`jax.lax.scan`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ..checks import check_finite_input
from .functional import (
    LIFParams,
    LIFState,
    LIParams,
    LIState,
    concrete_float,
    li_integrate,
    li_step,
    lif_integrate,
    lif_step,
    refractory_steps,
)
from .surrogate import SuperSpike

# the dynamics are re-exported here, where they lived before the functional/module split
__all__ = ["LIFParams", "LIParams", "LIFState", "LIState", "lif_step", "li_step",
           "lif_integrate", "li_integrate", "refractory_steps", "LIF", "LI"]


# ---------------------------------------------------------------------------------- validation
def _check_dt(owner: str, dt, **taus) -> None:
    if isinstance(dt, bool) or not isinstance(dt, int | float | np.floating | np.integer):
        raise TypeError(f"{owner}: dt must be a float (seconds), got {type(dt).__name__}.")
    if not dt > 0 or not math.isfinite(dt):
        raise ValueError(f"{owner}: dt must be positive and finite, got dt={dt!r}.")
    for name, tau in taus.items():
        t = concrete_float(tau)
        if t is not None and dt >= t:
            raise ValueError(
                f"{owner}: dt={dt!r} must be smaller than {name}={tau!r} (forward Euler needs "
                f"dt < {name}; use a smaller dt)."
            )


def _check_input(owner: str, xs, in_size: int) -> Array:
    if not isinstance(xs, jax.Array | np.ndarray):
        raise TypeError(
            f"{owner}: xs must be an array of shape (time, in_size={in_size}), "
            f"got {type(xs).__name__}."
        )
    if not jnp.issubdtype(xs.dtype, jnp.floating):
        raise TypeError(
            f"{owner}: xs must have a floating dtype (spike counts per time bin), got dtype "
            f"{xs.dtype}; use xs.astype(float)."
        )
    if xs.ndim != 2 or xs.shape[1] != in_size:
        hint = " (layers are unbatched: use jax.vmap over the batch)" if xs.ndim == 3 else ""
        raise ValueError(
            f"{owner}: xs must have shape (time, in_size={in_size}), got shape {xs.shape}{hint}."
        )
    return check_finite_input(jnp.asarray(xs), owner)


def _check_weight_rec(owner: str, weight_rec, size: int) -> Array:
    weight_rec = jnp.asarray(weight_rec)
    if weight_rec.shape != (size, size):
        raise ValueError(
            f"{owner}: weight_rec must have shape (out_size, out_size) = ({size}, {size}), got "
            f"{weight_rec.shape}."
        )
    return weight_rec


# ---------------------------------------------------------------------------------- modules
def _init_weight(key, in_size, out_size, scale, mean, std, dtype):
    w0 = scale / math.sqrt(in_size)
    normal = jax.random.normal(key, (in_size, out_size), dtype=dtype)
    return w0 * (mean + std * normal)


def _check_sizes(owner: str, in_size, out_size) -> None:
    for name, n in (("in_size", in_size), ("out_size", out_size)):
        if isinstance(n, bool) or not isinstance(n, int | np.integer):
            raise TypeError(f"{owner}: {name} must be an int, got {type(n).__name__}.")
        if n < 1:
            raise ValueError(f"{owner}: {name} must be >= 1, got {name}={n}.")


def _check_given_weight(owner: str, weight, in_size, out_size) -> Array:
    weight = jnp.asarray(weight)
    if weight.shape != (in_size, out_size):
        raise ValueError(
            f"{owner}: weight must have shape (in_size, out_size) = ({in_size}, {out_size}), "
            f"got {weight.shape}."
        )
    if not jnp.issubdtype(weight.dtype, jnp.floating):
        raise TypeError(f"{owner}: weight must be a float array, got dtype {weight.dtype}.")
    return weight


class LIF(eqx.Module):
    """A dense layer of Euler-stepped current-based LIF neurons.

    ``layer(xs)`` maps input spike counts ``xs: (time, in_size)`` to output spikes
    ``(time, out_size)`` (unbatched; use `jax.vmap` for batches). Wrap it in
    `jaxsnn_eqx.Recurrent` for recurrent connections (it accepts ``weight_rec=``).

    Attributes:
        weight: input weights ``[pre, post]`` (V s: a spike of weight w raises I by w / tau_syn).
        params: `LIFParams`.
        dt: Euler step (s).
        surrogate: spike function (Heaviside forward, surrogate gradient backward).
        in_size, out_size: layer sizes (static).
        unroll: `jax.lax.scan` unroll factor (static).
        manual_vjp: use the hand-written adjoint for gradients (static; see `lif_integrate`).
    """

    weight: Float[Array, "in_size out_size"]
    params: LIFParams
    dt: float = eqx.field(static=True)
    surrogate: Callable
    in_size: int = eqx.field(static=True)
    out_size: int = eqx.field(static=True)
    unroll: int = eqx.field(static=True)
    manual_vjp: bool = eqx.field(static=True)

    def __init__(
        self,
        in_size: int,
        out_size: int,
        params: LIFParams | None = None,
        dt: float = 5e-4,
        surrogate: Callable | None = None,
        *,
        key: PRNGKeyArray | None = None,
        weight: Float[Array, "in_size out_size"] | None = None,
        init_mean: float = 0.0,
        init_std: float = 1.0,
        dtype=None,
        unroll: int = 1,
        manual_vjp: bool = True,
    ):
        """Weights are ``w0 * (init_mean + init_std * N(0, 1))`` with
        ``w0 = tau_mem * (v_th - v_leak) / sqrt(in_size)`` (a single spike of weight
        ``tau_mem (v_th - v_leak)`` lifts V by half the threshold gap when tau_mem = 2 tau_syn),
        unless ``weight`` is given. Pass ``key`` or ``weight``.
        """
        _check_sizes("LIF", in_size, out_size)
        params = LIFParams() if params is None else params
        if not isinstance(params, LIFParams):
            raise TypeError(
                f"LIF: params must be a discrete.LIFParams, got {type(params).__name__}."
            )
        _check_dt("LIF", dt, tau_mem=params.tau_mem, tau_syn=params.tau_syn)
        surrogate = SuperSpike() if surrogate is None else surrogate
        if not callable(surrogate):
            raise TypeError(f"LIF: surrogate must be callable, got {type(surrogate).__name__}.")
        if weight is None:
            if key is None:
                raise ValueError("LIF: pass key (to initialise the weights) or weight.")
            scale = concrete_float(params.tau_mem) * (
                concrete_float(params.v_th) - concrete_float(params.v_leak)
            )
            dtype = jnp.result_type(float) if dtype is None else dtype
            weight = _init_weight(key, in_size, out_size, scale, init_mean, init_std, dtype)
        else:
            weight = _check_given_weight("LIF", weight, in_size, out_size)
        self.weight = weight
        self.params = params
        self.dt = float(dt)
        self.surrogate = surrogate
        self.in_size = int(in_size)
        self.out_size = int(out_size)
        self.unroll = int(unroll)
        self.manual_vjp = bool(manual_vjp)

    def init_state(self) -> LIFState:
        """The resting state: V = v_leak, I = 0, not refractory."""
        dtype = self.weight.dtype
        v = jnp.broadcast_to(jnp.asarray(self.params.v_leak, dtype), (self.out_size,))
        i = jnp.zeros((self.out_size,), dtype)
        return LIFState(v, i, jnp.zeros((self.out_size,), jnp.int32))

    def simulate(
        self,
        xs: Float[Array, "time in_size"],
        *,
        weight_rec: Float[Array, "out_size out_size"] | None = None,
        state: LIFState | None = None,
    ) -> tuple[Float[Array, "time out_size"], LIFState]:
        """Run the layer and return ``(spikes, states)``; ``states`` holds the state after
        every step (leading time axis)."""
        xs, weight_rec, state = self._prepare(xs, weight_rec, state)
        syn = xs @ self.weight
        _, zs, states = lif_integrate(
            syn, state, self.params, self.dt, self.surrogate,
            weight_rec=weight_rec, record_states=True, unroll=self.unroll,
        )
        return zs, states

    def __call__(
        self,
        xs: Float[Array, "time in_size"],
        *,
        weight_rec: Float[Array, "out_size out_size"] | None = None,
        state: LIFState | None = None,
    ) -> Float[Array, "time out_size"]:
        """Output spikes ``(time, out_size)`` for input spike counts ``xs``."""
        xs, weight_rec, state = self._prepare(xs, weight_rec, state)
        syn = xs @ self.weight  # hoisted out of the time loop: one matmul over all steps
        _, zs, _ = lif_integrate(
            syn, state, self.params, self.dt, self.surrogate,
            weight_rec=weight_rec, unroll=self.unroll, manual_vjp=self.manual_vjp,
        )
        return zs

    def _prepare(self, xs, weight_rec, state):
        xs = _check_input("LIF", xs, self.in_size).astype(self.weight.dtype)
        if weight_rec is not None:
            weight_rec = _check_weight_rec("LIF", weight_rec, self.out_size)
        state = self.init_state() if state is None else state
        return xs, weight_rec, state


class LI(eqx.Module):
    """A dense layer of leaky integrators (readout, no spikes).

    ``layer(xs)`` maps input spike counts ``(time, in_size)`` to the membrane potentials
    ``(time, out_size)`` after every step.

    Attributes:
        weight: input weights ``[pre, post]`` (V s).
        params: `LIParams`.
        dt: Euler step (s).
    """

    weight: Float[Array, "in_size out_size"]
    params: LIParams
    dt: float = eqx.field(static=True)
    in_size: int = eqx.field(static=True)
    out_size: int = eqx.field(static=True)
    unroll: int = eqx.field(static=True)

    def __init__(
        self,
        in_size: int,
        out_size: int,
        params: LIParams | LIFParams | None = None,
        dt: float = 5e-4,
        *,
        key: PRNGKeyArray | None = None,
        weight: Float[Array, "in_size out_size"] | None = None,
        init_mean: float = 0.0,
        init_std: float = 1.0,
        dtype=None,
        unroll: int = 1,
    ):
        """Weights are ``w0 * (init_mean + init_std * N(0, 1))`` with
        ``w0 = tau_mem * 1 V / sqrt(in_size)`` unless ``weight`` is given. A `LIFParams` is
        accepted as ``params`` (its time constants and v_leak are used)."""
        _check_sizes("LI", in_size, out_size)
        if params is None:
            params = LIParams()
        elif isinstance(params, LIFParams):
            params = LIParams(params.tau_mem, params.tau_syn, params.v_leak)
        elif not isinstance(params, LIParams):
            raise TypeError(f"LI: params must be a discrete.LIParams, got {type(params).__name__}.")
        _check_dt("LI", dt, tau_mem=params.tau_mem, tau_syn=params.tau_syn)
        if weight is None:
            if key is None:
                raise ValueError("LI: pass key (to initialise the weights) or weight.")
            dtype = jnp.result_type(float) if dtype is None else dtype
            scale = concrete_float(params.tau_mem)
            weight = _init_weight(key, in_size, out_size, scale, init_mean, init_std, dtype)
        else:
            weight = _check_given_weight("LI", weight, in_size, out_size)
        self.weight = weight
        self.params = params
        self.dt = float(dt)
        self.in_size = int(in_size)
        self.out_size = int(out_size)
        self.unroll = int(unroll)

    def init_state(self) -> LIState:
        """The resting state: V = v_leak, I = 0."""
        dtype = self.weight.dtype
        v = jnp.broadcast_to(jnp.asarray(self.params.v_leak, dtype), (self.out_size,))
        return LIState(v, jnp.zeros((self.out_size,), dtype))

    def simulate(
        self, xs: Float[Array, "time in_size"], *, state: LIState | None = None
    ) -> LIState:
        """The state after every step (leading time axis)."""
        xs = _check_input("LI", xs, self.in_size).astype(self.weight.dtype)
        state = self.init_state() if state is None else state
        _, states = li_integrate(xs @ self.weight, state, self.params, self.dt, unroll=self.unroll)
        return states

    def __call__(
        self, xs: Float[Array, "time in_size"], *, state: LIState | None = None
    ) -> Float[Array, "time out_size"]:
        """Membrane potentials ``(time, out_size)``."""
        return self.simulate(xs, state=state).v
