"""Model weights <-> BrainScaleS-2 synapse weights.

A BSS-2 synapse stores an unsigned 6-bit weight (0..63); the sign comes from the row it sits in
(an excitatory or an inhibitory synapse row), so a signed model weight uses two rows. The model
weight ``w`` (V s, the charge one spike delivers; it raises ``I`` by ``w / tau_syn``) maps to
the signed hardware integer

    w_hw = round(clip(scale * w / tau_syn, -w_max, w_max)),     w_max = 2**bits - 1 (63),

with ``scale`` the calibration's hardware units per volt of current jump (about 30 to 58 in
the published experiments), and back to ``w_hw tau_syn / scale``. Excitatory row: ``max(w_hw,
0)``; inhibitory row: ``max(-w_hw, 0)``.
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Int

__all__ = ["WEIGHT_BITS", "weight_max", "to_hardware", "from_hardware", "quantize", "split_signs"]

WEIGHT_BITS = 6  # BSS-2 synapse weight resolution (magnitude)


def weight_max(bits: int = WEIGHT_BITS) -> int:
    """Largest weight magnitude of ``bits``-bit synapses (63 for BSS-2)."""
    if int(bits) != bits or bits < 1:
        raise ValueError(f"weight bits must be a positive integer, got {bits!r}.")
    return 2 ** int(bits) - 1


def _check_scale(scale) -> None:
    if not float(scale) > 0:
        raise ValueError(f"weight scale must be positive (hardware units per volt), got {scale}.")


def to_hardware(
    weight: Float[ArrayLike, "*shape"], *, scale: float, tau_syn: Float[ArrayLike, "*b"],
    bits: int = WEIGHT_BITS,
) -> Int[Array, "*shape"]:
    """Signed hardware weights ``round(clip(scale w / tau_syn, -w_max, w_max))`` (int32).

    ``tau_syn`` broadcasts against ``weight`` (a scalar, or one value per post neuron: the
    last axis of ``weight[pre, post]``).
    """
    _check_scale(scale)
    m = weight_max(bits)
    w = jnp.asarray(weight) / jnp.asarray(tau_syn)
    return jnp.round(jnp.clip(scale * w, -m, m)).astype(jnp.int32)


def from_hardware(
    weight_hw: Int[ArrayLike, "*shape"], *, scale: float, tau_syn: Float[ArrayLike, "*b"],
    dtype=None,
) -> Float[Array, "*shape"]:
    """Model weights (V s) of signed hardware weights: ``w_hw tau_syn / scale``."""
    _check_scale(scale)
    dtype = jnp.result_type(float) if dtype is None else dtype
    return (jnp.asarray(weight_hw).astype(dtype) * jnp.asarray(tau_syn, dtype) / scale).astype(
        dtype)


def quantize(
    weight: Float[ArrayLike, "*shape"], *, scale: float, tau_syn: Float[ArrayLike, "*b"],
    bits: int = WEIGHT_BITS,
) -> Float[Array, "*shape"]:
    """The model weight the chip realises: ``from_hardware(to_hardware(w))`` (same dtype)."""
    weight = jnp.asarray(weight)
    w_hw = to_hardware(weight, scale=scale, tau_syn=tau_syn, bits=bits)
    return from_hardware(w_hw, scale=scale, tau_syn=tau_syn, dtype=weight.dtype)


def split_signs(weight_hw: Int[ArrayLike, "*shape"]) -> tuple[Int[Array, "*shape"],
                                                                Int[Array, "*shape"]]:
    """``(excitatory, inhibitory)`` magnitudes (both ``>= 0``) of signed hardware weights."""
    w = jnp.asarray(weight_hw)
    return jnp.maximum(w, 0), jnp.maximum(-w, 0)
