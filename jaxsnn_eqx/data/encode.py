"""Spike encoders for continuous-valued inputs (event-based and time-discrete use)."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ..spikes import Spikes

__all__ = ["latency_times", "encode_latency", "encode_latency_dense"]


def latency_times(
    x: Float[ArrayLike, "*batch d"],
    t_early: float,
    t_late: float,
    bias_time: float | None = None,
    mirror: bool = True,
) -> Float[Array, "*batch n"]:
    """Spike time of each input neuron (one spike per neuron).

    Features ``f`` in ``[0, 1]`` (``(x, 1 - x)`` when ``mirror``) fire at ``t_early + f (t_late -
    t_early)``; with ``bias_time`` an extra bias neuron (last index) fires at ``bias_time``.
    ``n = d * (1 + mirror) + (bias_time is not None)``.
    """
    x = jnp.asarray(x)
    if x.ndim < 1 or x.shape[-1] == 0:
        raise ValueError(f"encode_latency: `x` must have shape (..., d), d >= 1; got {x.shape}.")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"encode_latency: `x` must be a float array, got dtype {x.dtype}.")
    if not t_late > t_early:
        raise ValueError(f"encode_latency: need t_late > t_early, got {t_early=}, {t_late=}.")
    feats = jnp.concatenate([x, 1.0 - x], axis=-1) if mirror else x
    times = t_early + feats * (t_late - t_early)
    if bias_time is not None:
        bias = jnp.full(times.shape[:-1] + (1,), bias_time, times.dtype)
        times = jnp.concatenate([times, bias], axis=-1)
    return times


def encode_latency(
    x: Float[ArrayLike, "*batch d"],
    t_early: float,
    t_late: float,
    bias_time: float | None = None,
    mirror: bool = True,
) -> Spikes:
    """Latency-code ``x`` into sorted `Spikes` (one spike per input neuron; see `latency_times`).

    For Yin-Yang ``x`` of shape ``(batch, 2)`` gives 5 input neurons ``(x, y, 1-x, 1-y, bias)``
    and a `Spikes` with arrays of shape ``(batch, 5)``.
    """
    times = latency_times(x, t_early, t_late, bias_time, mirror)
    idx = jnp.broadcast_to(jnp.arange(times.shape[-1], dtype=jnp.int32), times.shape)
    return Spikes(times, idx).sort()


def encode_latency_dense(
    x: Float[ArrayLike, "*batch d"],
    t_max: float,
    dt: float,
    t_early: float,
    t_late: float,
    bias_time: float | None = None,
    mirror: bool = True,
) -> Float[Array, "*batch steps n"]:
    """Latency code binned into a dense raster of ``ceil(t_max / dt)`` time steps."""
    n = latency_times(x, t_early, t_late, bias_time, mirror).shape[-1]
    return encode_latency(x, t_early, t_late, bias_time, mirror).to_dense(n, t_max, dt)
