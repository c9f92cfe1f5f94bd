"""Containers shared by the time-discrete and event-based namespaces.

Both containers only rely on a small call protocol, so they work for every layer type:

* `Sequential` calls ``layer(x)`` for each layer in turn.
* `Recurrent` owns a recurrent weight matrix and calls ``layer(x, weight_rec=w)``: each layer type
  that supports recurrence (``discrete.LIF``, ``event.LIF`` and friends) accepts that keyword and
  feeds its own output back to its input through ``w`` (shape ``(size, size)``, pre -> post).

Both accept an optional ``key`` like `equinox.nn.Sequential`: ``net(x, key=k)`` splits ``k`` into
one subkey per layer (layer ``i`` gets ``jax.random.split(k, len(layers))[i]``) and passes it as
``key=`` to each layer whose ``__call__`` accepts a ``key`` (e.g. `event.HardwareRecurrentLIF` on
a noisy backend); `Recurrent` passes its key on unsplit. Without a key, layers are called without
one, exactly as before.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, PRNGKeyArray

__all__ = ["Sequential", "Recurrent", "accepts_key", "call_with_key"]


class Sequential(eqx.Module):
    """A chain of layers; ``net(x)`` returns the last layer's output.

    Attributes:
        layers: the tuple of layers, first to last.
    """

    layers: tuple[Callable, ...]

    def __init__(self, layers: Sequence[Callable]):
        if callable(layers) and not isinstance(layers, Sequence):
            layers = (layers,)
        layers = tuple(layers)
        if not layers:
            raise ValueError("Sequential needs at least one layer.")
        for i, layer in enumerate(layers):
            if not callable(layer):
                raise TypeError(f"Sequential: layer {i} must be callable (a module or function), "
                                f"got {type(layer).__name__}.")
        for i, (a, b) in enumerate(zip(layers, layers[1:], strict=False)):
            n_out, n_in = getattr(a, "out_size", None), getattr(b, "in_size", None)
            if isinstance(n_out, int) and isinstance(n_in, int) and n_out != n_in:
                raise ValueError(
                    f"Sequential: layer {i} ({type(a).__name__}) has out_size={n_out} but layer "
                    f"{i + 1} ({type(b).__name__}) has in_size={n_in}.")
        self.layers = layers

    def __call__(self, x: Any, *, key: PRNGKeyArray | None = None) -> Any:
        """The last layer's output. ``key`` (optional) is split into one subkey per layer and
        each subkey goes to its layer if that layer's ``__call__`` accepts ``key``."""
        for layer, k in zip(self.layers, _layer_keys(key, len(self.layers)), strict=True):
            x = call_with_key(layer, x, k)
        return x

    def trace(self, x: Any, *, key: PRNGKeyArray | None = None) -> list[Any]:
        """The outputs of every layer, first to last (for plots and losses on hidden layers);
        ``key`` is split and passed on as in ``__call__``."""
        outs = []
        for layer, k in zip(self.layers, _layer_keys(key, len(self.layers)), strict=True):
            x = call_with_key(layer, x, k)
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

    ``Recurrent(layer, key=k)`` draws ``weight_rec ~ N(0, scale^2 / size)`` (V s, like the
    layers' input weights), with ``scale = 0.1 tau_mem (v_th - v_leak)`` taken from
    ``layer.params`` unless given: a tenth of the discrete layers' input-weight unit, so the
    feedback starts as a small, trainable perturbation (for `event.LIF` with
    ``tau_mem = 2 tau_syn``, ``tau_mem (v_th - v_leak)`` is half the threshold-reaching weight
    `event.lif_weight_scale`). Self-connections (the diagonal) are drawn like the rest; pass
    ``mask=~jnp.eye(size, dtype=bool)`` (or ``1 - jnp.eye(size)``) to exclude them.
    ``scale=0.0`` (or no ``key``) gives zeros.

    Trainable (inexact-array) leaves: ``weight_rec`` and those of ``layer``. The mask is stored as
    a bool array, so ``eqx.is_inexact_array`` filters (and optimisers such as ``optax.adamw``
    applied to them, weight decay included) leave it untouched.

    Attributes:
        layer: a layer whose ``__call__`` accepts ``weight_rec=`` (shape ``(size, size)``).
        weight_rec: recurrent weights, ``weight_rec[pre, post]``.
        mask: optional fixed connectivity mask of the same shape, bool (``True`` = connected);
            not trained. A 0/1 float or int mask is converted to bool.
    """

    layer: Callable
    weight_rec: Float[Array, "size size"]
    mask: Bool[Array, "size size"] | None

    def __init__(
        self,
        layer: Callable,
        weight_rec: Float[Array, "size size"] | None = None,
        *,
        mask: Bool[Array, "size size"] | Float[Array, "size size"] | None = None,
        scale: float | None = None,
        key: PRNGKeyArray | None = None,
    ):
        """Pass ``weight_rec`` (shape ``(size, size)``), or ``key`` for a random init
        ``N(0, scale^2 / size)`` (``size = layer.out_size``; ``scale`` in V s, default
        ``0.1 tau_mem (v_th - v_leak)`` of ``layer.params``), or neither for zeros."""
        _check_accepts_weight_rec(layer)
        size = getattr(layer, "out_size", None)
        if weight_rec is not None and (key is not None or scale is not None):
            raise ValueError(
                "Recurrent: pass either weight_rec or key (with optional scale) for a random "
                "init, not both."
            )
        if scale is not None:
            try:
                scale = float(scale)
            except (TypeError, ValueError):
                raise TypeError(
                    f"Recurrent: scale must be a number (V s), got {type(scale).__name__}."
                ) from None
            if not (math.isfinite(scale) and scale >= 0.0):
                raise ValueError(f"Recurrent: scale must be finite and >= 0 (V s), got {scale}.")
        if weight_rec is None:
            if size is None:
                raise ValueError(
                    f"Recurrent: pass weight_rec, or a layer with an `out_size`; got a "
                    f"{type(layer).__name__} without one."
                )
            dtype = _weight_dtype(layer)
            if key is None and scale:
                raise ValueError(
                    f"Recurrent: scale={scale} needs a key to draw the weights; pass key=."
                )
            if key is None or scale == 0.0:
                weight_rec = jnp.zeros((size, size), dtype)
            else:
                scale = _default_rec_scale(layer) if scale is None else scale
                z = jax.random.normal(key, (size, size), dtype)
                weight_rec = (scale / math.sqrt(size)) * z
        weight_rec = jnp.asarray(weight_rec)
        if weight_rec.ndim != 2 or weight_rec.shape[0] != weight_rec.shape[1]:
            raise ValueError(f"Recurrent: weight_rec must be square, got {weight_rec.shape}.")
        if size is not None and weight_rec.shape[0] != size:
            raise ValueError(
                f"Recurrent: weight_rec has shape {weight_rec.shape} but the layer has "
                f"out_size={size}."
            )
        if mask is not None:
            mask = _bool_mask(mask)
            if mask.shape != weight_rec.shape:
                raise ValueError(
                    f"Recurrent: mask shape {mask.shape} != weight_rec shape {weight_rec.shape}."
                )
        self.layer = layer
        self.weight_rec = weight_rec
        self.mask = mask

    @property
    def effective_weight_rec(self) -> Float[Array, "size size"]:
        """``weight_rec`` with the masked-out entries set to zero (they get no gradient)."""
        w = self.weight_rec
        if self.mask is not None:
            w = w * self.mask.astype(w.dtype)  # the same product as with a 0/1 float mask
        return w

    def __call__(self, x: Any, *, key: PRNGKeyArray | None = None) -> Any:
        """``layer(x, weight_rec=effective_weight_rec)``; ``key`` (optional) is passed on to the
        layer if its ``__call__`` accepts ``key``."""
        return call_with_key(self.layer, x, key, weight_rec=self.effective_weight_rec)


def accepts_key(layer: Callable) -> bool:
    """Whether ``layer(x, key=k)`` is a valid call: its signature names ``key`` (or takes
    ``**kwargs``). A callable without a readable signature is not given a key."""
    try:
        params = inspect.signature(layer).parameters
    except (TypeError, ValueError):
        return False
    return "key" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def call_with_key(layer: Callable, x: Any, key: PRNGKeyArray | None, **kwargs) -> Any:
    """``layer(x, **kwargs, key=key)`` if there is a key and the layer accepts one, else
    ``layer(x, **kwargs)``."""
    if key is not None and accepts_key(layer):
        return layer(x, **kwargs, key=key)
    return layer(x, **kwargs)


def _layer_keys(key: PRNGKeyArray | None, n: int) -> list:
    """One subkey per layer, as `equinox.nn.Sequential` splits them; ``None`` for each without."""
    return [None] * n if key is None else list(jax.random.split(key, n))


def _bool_mask(mask: Any) -> Array:
    """A connectivity mask as a bool array; a float or int mask must hold only 0 and 1."""
    mask = jnp.asarray(mask)
    if mask.dtype == jnp.bool_:
        return mask
    if not (jnp.issubdtype(mask.dtype, jnp.integer) or jnp.issubdtype(mask.dtype, jnp.floating)):
        raise TypeError(f"Recurrent: mask must be a bool (or 0/1) array, got dtype {mask.dtype}.")
    if not isinstance(mask, jax.core.Tracer):
        values = np.asarray(mask)
        if not np.all((values == 0) | (values == 1)):
            raise ValueError(
                "Recurrent: mask must hold only 0 and 1 (or be a bool array); it is a fixed "
                "connectivity pattern, not a weight scale."
            )
    return mask != 0


def _weight_dtype(layer: Any):
    """The float dtype of ``layer.weight`` if it has one, else JAX's default float."""
    w = getattr(layer, "weight", None)
    dtype = getattr(w, "dtype", None)
    if dtype is not None and jnp.issubdtype(dtype, jnp.floating):
        return dtype
    return jnp.result_type(float)


def _default_rec_scale(layer: Any) -> float:
    """``0.1 tau_mem (v_th - v_leak)`` (V s) from ``layer.params`` (means of array values)."""
    params = getattr(layer, "params", None)
    try:
        tau_mem = float(np.mean(np.asarray(params.tau_mem)))
        gap = float(np.mean(np.asarray(params.v_th) - np.asarray(params.v_leak)))
    except (AttributeError, TypeError):  # no params, or traced values (JAX's are TypeErrors)
        raise ValueError(
            f"Recurrent: cannot choose a default recurrent weight scale for a "
            f"{type(layer).__name__} (it has no `params` with tau_mem, v_th and v_leak); pass "
            f"scale= (V s; weights ~ N(0, scale^2 / size)) or weight_rec=."
        ) from None
    scale = _REC_GAIN * tau_mem * gap
    if not (math.isfinite(scale) and scale > 0.0):
        raise ValueError(
            f"Recurrent: the default scale 0.1 tau_mem (v_th - v_leak) = {scale} of "
            f"{type(layer).__name__}.params is not positive; pass scale= or weight_rec=."
        )
    return scale


# recurrent weight std in units of tau_mem (v_th - v_leak) / sqrt(size): the value tuned for the
# discrete Yin-Yang task (--rec-scale), and close to `event.RecurrentEventPropLIF`'s default
_REC_GAIN = 0.1


def _check_accepts_weight_rec(layer: Any) -> None:
    """A ``TypeError`` unless ``layer(x, weight_rec=w)`` is a valid call."""
    if not callable(layer):
        raise TypeError(f"Recurrent: `layer` must be callable, got {type(layer).__name__}.")
    try:
        params = inspect.signature(layer).parameters
    except (TypeError, ValueError):  # no signature to read (e.g. a builtin): trust the caller
        return
    if "weight_rec" in params or any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    raise TypeError(
        f"Recurrent: the layer {type(layer).__name__} does not accept `weight_rec=` in its call, "
        "so it cannot be run recurrently; recurrent layers: discrete.LIF, event.LIF, "
        "event.EventPropLIF, event.EventLayer (or use event.RecurrentEventPropLIF).")
