"""Latency encoders for continuous-valued inputs, as event `Spikes` (and dense rasters).

`encode_latency` here returns `Spikes` for the event-based layers and mirrors by default
(``mirror=True``: features ``(x, 1 - x)``, as the Yin-Yang tasks use them). The time-discrete
`jaxsnn_eqx.discrete.encode_latency` returns a dense raster ``(*batch, time, n)``, clips ``x`` to
[0, 1] and does not mirror by default (``mirror=False``); with ``mirror=True`` and the same
times it gives the raster of `encode_latency_dense` here (same neuron order: ``x``, then ``1 - x``,
then the bias neuron; up to float rounding at bin edges).
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ..checks import check_finite_input
from ..spikes import Spikes

__all__ = ["latency_times", "encode_latency", "encode_latency_dense"]


def latency_times(
    x: Float[ArrayLike, "*batch d"],
    t_early: float,
    t_late: float,
    bias_time: float | None = None,
    mirror: bool = True,
) -> Float[Array, "*batch n"]:
    """Spike time (s) of each input neuron, one spike per neuron: ``(*batch, n)``.

    Features ``f`` (``(x, 1 - x)`` when ``mirror``, the default) fire at ``t_early + f (t_late -
    t_early)``; ``x`` is meant to lie in [0, 1] but is not clipped. With ``bias_time`` an extra
    bias neuron (last index) fires at ``bias_time``. ``n = d * (1 + mirror) + (bias_time is not
    None)``. ``x`` must be a float array with ``d >= 1`` and ``t_late > t_early``.
    """
    x = jnp.asarray(x)
    if x.ndim < 1 or x.shape[-1] == 0:
        raise ValueError(f"encode_latency: `x` must have shape (..., d), d >= 1; got {x.shape}.")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"encode_latency: `x` must be a float array, got dtype {x.dtype}.")
    if not t_late > t_early:
        raise ValueError(f"encode_latency: need t_late > t_early, got {t_early=}, {t_late=}.")
    if not t_early >= 0 or (bias_time is not None and not bias_time >= 0):
        raise ValueError(f"encode_latency: spike times must be >= 0 (s), got {t_early=}, "
                         f"{bias_time=}.")
    x = check_finite_input(x, "encode_latency", "x")
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
    """Latency-code ``x`` into `Spikes` for the event-based layers (one spike per input neuron).

    Args:
        x: features ``(*batch, d)``, float, meant to lie in [0, 1] (not clipped).
        t_early: spike time (s) of feature value 0.
        t_late: spike time (s) of feature value 1; ``t_late > t_early``.
        bias_time: if given (default None: no bias), one extra bias neuron (last index) fires at
            this time (s).
        mirror: also encode ``1 - x`` (default True; neurons ``d .. 2d - 1``).

    Returns:
        `Spikes` with ``time`` and ``idx`` of shape ``(*batch, n)``, ``n = d * (1 + mirror) +
        (bias_time is not None)``, sorted by time along the last axis. For Yin-Yang ``x`` of shape
        ``(batch, 2)``: 5 neurons ``(x, y, 1-x, 1-y, bias)`` and arrays ``(batch, 5)``.

    The time-discrete `jaxsnn_eqx.discrete.encode_latency` differs: it returns a dense raster
    ``(*batch, time, n)``, defaults to ``mirror=False``, takes ``t_early`` etc. by keyword only
    and clips ``x`` to [0, 1]; `encode_latency_dense` is this encoder's raster.
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
    """`encode_latency` binned into a dense 0/1 raster ``(*batch, ceil(t_max / dt), n)``.

    The spike at time ``t`` (s) lands in bin ``floor(t / dt)``; spikes at or after ``t_max`` are
    dropped. Same defaults as `encode_latency` (``mirror=True``, no bias); for ``x`` in [0, 1]
    it matches ``discrete.encode_latency(x, ..., mirror=True)`` with the same times (up to float
    rounding at bin edges).
    """
    n = latency_times(x, t_early, t_late, bias_time, mirror).shape[-1]
    return encode_latency(x, t_early, t_late, bias_time, mirror).to_dense(n, t_max, dt)
