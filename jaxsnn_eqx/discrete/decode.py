"""Decoders from output traces ``(..., time, n)`` to per-class scores ``(..., n)``."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float

__all__ = ["max_over_time", "mean_over_time", "last_step", "spike_count"]


def _check(name: str, x) -> Array:
    x = jnp.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"{name}: expected an array (..., time, n), got shape {x.shape}.")
    return x


def max_over_time(v: Float[Array, "*batch time n"]) -> Float[Array, "*batch n"]:
    """Maximum over time (e.g. of an `LI` readout's membrane potential)."""
    return jnp.max(_check("max_over_time", v), axis=-2)


def mean_over_time(v: Float[Array, "*batch time n"]) -> Float[Array, "*batch n"]:
    """Mean over time."""
    return jnp.mean(_check("mean_over_time", v), axis=-2)


def last_step(v: Float[Array, "*batch time n"]) -> Float[Array, "*batch n"]:
    """The value at the last time step."""
    return _check("last_step", v)[..., -1, :]


def spike_count(z: Float[Array, "*batch time n"]) -> Float[Array, "*batch n"]:
    """Number of spikes of each neuron (differentiable through the surrogate)."""
    return jnp.sum(_check("spike_count", z), axis=-2)
