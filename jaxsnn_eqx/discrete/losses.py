"""Losses for time-discrete networks, on scores ``(*batch, n_classes)`` (e.g.
`max_over_time` of an `LI` readout) and spike rasters ``(*batch, time, n)``.

The first-spike-time losses of the event-based layers (with their required ``t_silent``) are in
`jaxsnn_eqx.event.losses`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Int

__all__ = ["nll_loss", "accuracy", "firing_rate_regularizer"]


def nll_loss(
    scores: Float[Array, "*batch n_classes"], labels: Int[ArrayLike, "*batch"]
) -> Float[Array, ""]:
    """Negative log-likelihood of ``log_softmax(scores)`` at ``labels``, averaged over the batch."""
    scores = jnp.asarray(scores)
    labels = _integer_labels(labels, "nll_loss")
    if labels.shape != scores.shape[:-1]:
        raise ValueError(
            f"nll_loss: labels shape {labels.shape} must equal scores shape without the class "
            f"axis, {scores.shape[:-1]}."
        )
    logp = jax.nn.log_softmax(scores, axis=-1)
    picked = jnp.take_along_axis(logp, labels[..., None], axis=-1)[..., 0]
    return -jnp.mean(picked)


def accuracy(
    scores: Float[Array, "*batch n_classes"], labels: Int[ArrayLike, "*batch"]
) -> Float[Array, ""]:
    """Fraction of samples whose largest score is at the label (integer labels, as in
    `nll_loss`: a float label is refused, not compared)."""
    return jnp.mean(jnp.argmax(scores, axis=-1) == _integer_labels(labels, "accuracy"))


def _integer_labels(labels: ArrayLike, where: str) -> Int[Array, "*batch"]:
    labels = jnp.asarray(labels)
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise TypeError(f"{where}: labels must be integers, got dtype {labels.dtype}.")
    return labels


def firing_rate_regularizer(
    spikes: Float[Array, "*batch time n"],
    *,
    dt: float,
    target_rate: float = 0.0,
    max_rate: float | None = None,
) -> Float[Array, ""]:
    """Penalty on firing rates (Hz) per neuron and sample, averaged.

    With ``max_rate`` given, penalises only rates above it, ``mean(relu(r - max_rate)^2)``;
    otherwise ``mean((r - target_rate)^2)``. Rates are ``count / (time * dt)``; the result is in
    Hz^2, so scale it with a small factor (e.g. 1e-6) when adding it to a loss.
    """
    spikes = jnp.asarray(spikes)
    if spikes.ndim < 2:
        raise ValueError(
            f"firing_rate_regularizer: spikes must be (..., time, n), got shape {spikes.shape}."
        )
    if not dt > 0:
        raise ValueError(f"firing_rate_regularizer: dt must be positive, got dt={dt!r}.")
    rate = jnp.sum(spikes, axis=-2) / (spikes.shape[-2] * dt)
    if max_rate is not None:
        return jnp.mean(jax.nn.relu(rate - max_rate) ** 2)
    return jnp.mean((rate - target_rate) ** 2)
