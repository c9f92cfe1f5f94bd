"""Decoding and losses for time-to-first-spike (TTFS) codes (unbatched; ``jax.vmap`` to batch).

Silent neurons have first-spike time ``inf``. The time losses replace it by a finite
``t_silent`` (s), a required keyword argument with no default (the losses do not know the
layer's ``t_max``; pass it, e.g. ``t_silent=layer.t_max``), with a zero gradient (double-where:
no NaN), so a silent correct neuron is treated as "latest possible", and the others are still
pushed later / earlier. The time-discrete losses are in `jaxsnn_eqx.discrete` (`nll_loss`).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Int, PyTree

from ..spikes import Spikes

__all__ = [
    "first_spike_times",
    "finite_times",
    "ttfs_cross_entropy",
    "mse_times",
    "spike_count",
    "spike_count_regularizer",
    "weight_regularizer",
    "predict",
    "accuracy",
]


def _check_t_silent(owner: str, t_silent) -> None:
    """A clear error for ``t_silent=None`` or a non-finite number (arrays are not checked)."""
    if t_silent is None:
        raise TypeError(
            f"{owner}: t_silent is required (the time, in s, that replaces a silent neuron's "
            f"inf), e.g. t_silent=layer.t_max; got None."
        )
    if isinstance(t_silent, int | float) and not math.isfinite(t_silent):
        raise ValueError(
            f"{owner}: t_silent must be finite (s), e.g. the layer's t_max; got {t_silent}."
        )


def first_spike_times(spikes: Spikes, n: int) -> Float[Array, " n"]:
    """First spike time of each of ``n`` neurons (``inf`` if silent); differentiable."""
    return spikes.first_times(n)


def finite_times(t: Float[Array, "*n"], t_silent: float) -> Float[Array, "*n"]:
    """``t`` with ``inf`` replaced by ``t_silent`` (s; constant, zero gradient, no NaN)."""
    _check_t_silent("finite_times", t_silent)
    fin = jnp.isfinite(t)
    return jnp.where(fin, jnp.where(fin, t, 0.0), t_silent)


def ttfs_cross_entropy(
    t_first: Float[Array, " n"],
    label: Int[ArrayLike, ""],
    *,
    tau: float,
    t_silent: float,
    alpha: float = 0.0,
    tau_reg: float | None = None,
) -> Float[Array, ""]:
    """Cross entropy of ``softmax(-t / tau)`` (earlier = more likely) at ``label``.

    With ``alpha > 0`` adds ``alpha (exp(t_label / tau_reg) - 1)`` (``tau_reg`` defaults to
    ``tau``), which rewards an early correct spike (Goeltz et al. 2021). Times in seconds;
    ``t_silent`` (required, e.g. the layer's ``t_max``) replaces silent neurons' ``inf``.
    """
    _check_t_silent("ttfs_cross_entropy", t_silent)
    t = finite_times(t_first, t_silent)
    logp = jax.nn.log_softmax(-t / tau)
    loss = -logp[label]
    if alpha:
        tr = tau if tau_reg is None else tau_reg
        loss = loss + alpha * jnp.expm1(t[label] / tr)
    return loss


def mse_times(
    t_first: Float[Array, " n"], target: Float[ArrayLike, " n"], *, t_silent: float, scale: float
) -> Float[Array, ""]:
    """Mean squared error between first-spike times and ``target`` times (s), in units of
    ``scale`` (s); ``t_silent`` (required, e.g. the layer's ``t_max``) replaces silent neurons'
    ``inf``."""
    _check_t_silent("mse_times", t_silent)
    t = finite_times(t_first, t_silent)
    return jnp.mean(((t - jnp.asarray(target)) / scale) ** 2)


def spike_count(spikes: Spikes) -> Int[Array, ""]:
    """Number of real spikes."""
    return spikes.count


def spike_count_regularizer(spikes: Spikes, n: int, target: float = 1.0) -> Float[Array, ""]:
    """Mean squared deviation of each of the ``n`` neurons' spike count from ``target``.

    Counts are integers (no gradient w.r.t. weights through them); use it for monitoring or with
    a gradient-free method. For a differentiable push towards firing, use the time losses."""
    c = spikes.counts(n).astype(jnp.result_type(float))
    return jnp.mean((c - target) ** 2)


def weight_regularizer(model: PyTree, p: int = 2) -> Float[Array, ""]:
    """Sum of ``|w|^p`` over every array named ``weight``/``weight_in``/``weight_rec`` in
    ``model`` (any Equinox module, e.g. a `Sequential`)."""
    total = jnp.zeros(())
    leaves = jax.tree_util.tree_leaves_with_path(eqx.filter(model, eqx.is_inexact_array))
    for path, leaf in leaves:
        name = getattr(path[-1], "name", None)
        if name in ("weight", "weight_in", "weight_rec"):
            total = total + jnp.sum(jnp.abs(leaf) ** p)
    return total


def predict(t_first: Float[Array, "*batch n"]) -> Int[Array, "*batch"]:
    """Predicted class: the neuron that fires first (ties and all-silent: lowest index)."""
    return jnp.argmin(t_first, axis=-1)


def accuracy(
    t_first: Float[Array, "batch n"], labels: Int[ArrayLike, " batch"]
) -> Float[Array, ""]:
    """Fraction of samples whose first-firing neuron is the label."""
    return jnp.mean(predict(t_first) == jnp.asarray(labels))
