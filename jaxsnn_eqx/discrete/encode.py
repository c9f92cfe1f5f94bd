"""Encoders from real-valued features to dense spike rasters ``(..., time, features)``.

These feed the time-discrete layers. The event-based layers take `Spikes` from
`jaxsnn_eqx.data.encode_latency` instead (which mirrors by default; see `encode_latency` here).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

__all__ = ["n_steps", "encode_latency", "encode_poisson"]


def n_steps(t_max: float, dt: float) -> int:
    """Number of time bins of width ``dt`` covering ``[0, t_max)``: ``ceil(t_max / dt)``."""
    if not dt > 0:
        raise ValueError(f"dt must be positive, got dt={dt!r}.")
    if not t_max > 0:
        raise ValueError(f"t_max must be positive, got t_max={t_max!r}.")
    return int(math.ceil(t_max / dt - 1e-9))


def _as_float(name: str, x) -> Array:
    x = jnp.asarray(x)
    if not (jnp.issubdtype(x.dtype, jnp.floating) or jnp.issubdtype(x.dtype, jnp.integer)):
        raise TypeError(f"{name} must be a real array, got dtype {x.dtype}.")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    return x


def encode_latency(
    x: Float[ArrayLike, "*batch features"],
    *,
    t_early: float,
    t_late: float,
    t_max: float,
    dt: float,
    mirror: bool = False,
    bias_time: float | None = None,
) -> Float[Array, "*batch time n_out"]:
    """Latency code as a dense raster: feature value ``x`` in [0, 1] fires one spike at
    ``t_early + x (t_late - t_early)`` (seconds), in time bin ``floor(t / dt)``.

    Args:
        x: features ``(*batch, features)`` in [0, 1] (values outside are clipped; integers are
            cast to float).
        t_early: spike time of ``x = 0`` (s).
        t_late: spike time of ``x = 1`` (s).
        t_max: duration (s); the raster has ``ceil(t_max / dt)`` bins and spikes at or after
            ``t_max`` are dropped.
        dt: bin width (s).
        mirror: also encode ``1 - x`` (appended after ``x``). Default False.
        bias_time: if given (default None: no bias), append one bias input that fires at this
            time (s).

    Returns:
        0/1 raster ``(*batch, time, n_out)`` (float, at most one spike per input neuron) with
        ``n_out = features * (1 + mirror) + (bias_time is not None)``.

    Unlike `jaxsnn_eqx.data.encode_latency`, which returns event `Spikes` ``(*batch, n)``
    and defaults to ``mirror=True``, this returns a raster and defaults to ``mirror=False``
    (pass ``mirror=True`` for the Yin-Yang encoding ``(x, y, 1-x, 1-y, bias)``). With
    ``mirror=True`` and the same times it matches ``data.encode_latency_dense`` (up to float
    rounding at bin edges).
    """
    x = _as_float("encode_latency: x", x)
    if x.ndim < 1:
        raise ValueError("encode_latency: x must have a trailing features axis, got a scalar.")
    steps = n_steps(t_max, dt)
    x = jnp.clip(x, 0.0, 1.0)
    if mirror:
        x = jnp.concatenate([x, 1.0 - x], axis=-1)
    times = t_early + x * (t_late - t_early)
    if bias_time is not None:
        bias = jnp.full(x.shape[:-1] + (1,), bias_time, times.dtype)
        times = jnp.concatenate([times, bias], axis=-1)
    bins = jnp.floor(times / dt + 1e-6).astype(jnp.int32)  # tolerate t / dt landing just below
    # one_hot gives zeros for bins outside [0, steps): spikes at or after t_max are dropped
    raster = jax.nn.one_hot(bins, steps, dtype=x.dtype)  # (*batch, n_out, time)
    return jnp.swapaxes(raster, -1, -2)


def encode_poisson(
    key: PRNGKeyArray,
    rates: Float[ArrayLike, "*batch features"],
    *,
    t_max: float,
    dt: float,
    max_rate: float = 1.0,
) -> Float[Array, "*batch time features"]:
    """Bernoulli approximation of Poisson spike trains.

    In each bin a neuron fires with probability ``clip(rates * max_rate * dt, 0, 1)``; with
    ``max_rate`` in Hz, ``rates`` are relative rates in [0, 1], and with ``max_rate = 1``,
    ``rates`` are rates in Hz.

    Returns:
        raster ``(*batch, time, features)`` of 0/1 values.
    """
    rates = _as_float("encode_poisson: rates", rates)
    steps = n_steps(t_max, dt)
    p = jnp.clip(rates * (max_rate * dt), 0.0, 1.0)
    shape = rates.shape[:-1] + (steps,) + rates.shape[-1:]
    u = jax.random.uniform(key, shape, dtype=rates.dtype)
    return (u < jnp.expand_dims(p, -2)).astype(rates.dtype)
