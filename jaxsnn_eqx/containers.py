"""Containers shared by the time-discrete and event-based namespaces.

Both containers only rely on a small call protocol, so they work for every layer type:

* `Sequential` calls ``layer(x)`` for each layer in turn.
* `Recurrent` owns a recurrent weight matrix and calls ``layer(x, weight_rec=w)``: each layer type
  that supports recurrence (``discrete.LIF``, ``event.LIF`` and friends) accepts that keyword and
  feeds its own output back to its input through ``w`` (shape ``(size, size)``, pre -> post).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

__all__ = ["Sequential", "Recurrent"]


class Sequential(eqx.Module):
    """A chain of layers; ``net(x)`` returns the last layer's output.

    Attributes:
        layers: the tuple of layers, first to last.
    """

    layers: tuple[Callable, ...]

    def __init__(self, layers: Sequence[Callable]):
        layers = tuple(layers)
        if not layers:
            raise ValueError("Sequential needs at least one layer.")
        self.layers = layers

    def __call__(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def trace(self, x: Any) -> list[Any]:
        """The outputs of every layer, first to last (for plots and losses on hidden layers)."""
        outs = []
        for layer in self.layers:
            x = layer(x)
            outs.append(x)
        return outs

    def __getitem__(self, i: int | slice):
        if isinstance(i, slice):
            return Sequential(self.layers[i])
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)


class Recurrent(eqx.Module):
    """Feeds a layer's output back to its own input through ``weight_rec``.

    Attributes:
        layer: a layer whose ``__call__`` accepts ``weight_rec=`` (shape ``(size, size)``).
        weight_rec: recurrent weights, ``weight_rec[pre, post]``.
        mask: optional fixed 0/1 connectivity mask of the same shape (not trained).
    """

    layer: Callable
    weight_rec: Float[Array, "size size"]
    mask: Float[Array, "size size"] | None

    def __init__(
        self,
        layer: Callable,
        weight_rec: Float[Array, "size size"] | None = None,
        *,
        mask: Float[Array, "size size"] | None = None,
        scale: float = 0.0,
        key: PRNGKeyArray | None = None,
    ):
        """Either pass ``weight_rec`` or ``key`` (weights ~ N(0, scale^2 / size))."""
        size = getattr(layer, "out_size", None)
        if weight_rec is None:
            if size is None:
                raise ValueError("Recurrent: pass weight_rec, or a layer with an `out_size`.")
            if scale == 0.0 or key is None:
                weight_rec = jnp.zeros((size, size))
            else:
                weight_rec = scale / jnp.sqrt(size) * jax.random.normal(key, (size, size))
        weight_rec = jnp.asarray(weight_rec)
        if weight_rec.ndim != 2 or weight_rec.shape[0] != weight_rec.shape[1]:
            raise ValueError(f"Recurrent: weight_rec must be square, got {weight_rec.shape}.")
        if size is not None and weight_rec.shape[0] != size:
            raise ValueError(
                f"Recurrent: weight_rec has shape {weight_rec.shape} but the layer has "
                f"out_size={size}."
            )
        if mask is not None:
            mask = jnp.asarray(mask, weight_rec.dtype)
            if mask.shape != weight_rec.shape:
                raise ValueError(
                    f"Recurrent: mask shape {mask.shape} != weight_rec shape {weight_rec.shape}."
                )
        self.layer = layer
        self.weight_rec = weight_rec
        self.mask = mask

    @property
    def effective_weight_rec(self) -> Float[Array, "size size"]:
        w = self.weight_rec
        if self.mask is not None:
            w = w * jax.lax.stop_gradient(self.mask)
        return w

    def __call__(self, x: Any) -> Any:
        return self.layer(x, weight_rec=self.effective_weight_rec)
