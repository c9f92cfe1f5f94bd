"""Surrogate spike functions.

Each surrogate is a Heaviside step in the forward pass, ``H(x) = 1 if x >= 0 else 0`` with
``x = v - v_th`` (volts), and replaces the step's derivative (a Dirac delta) by a smooth
pseudo-derivative in the backward pass. They are implemented with `jax.custom_jvp`, so they work
with forward- and reverse-mode autodiff, `jax.vmap` and `jax.jit`.

The sharpness parameter ``alpha`` (1/volt) sets the width of the pseudo-derivative: larger is
narrower. The modules are small `eqx.Module`s, used as the ``surrogate=`` field of `discrete.LIF`;
any callable ``x -> spikes`` works there too. ``alpha`` is a hyperparameter, not trained: keep it
a Python float (the default). An array ``alpha`` would be an inexact-array leaf that gets a zero
gradient (the step does not depend on it) yet is decayed by an optimiser with weight decay over
``eqx.is_inexact_array``, and it turns off `discrete.LIF`'s hand-written adjoint.

Pseudo-derivatives ``dH/dx``:

* `SuperSpike` (Zenke & Ganguli 2018): ``1 / (1 + alpha |x|)^2`` (peak 1)
* `FastSigmoid`: ``alpha / (2 (1 + alpha |x|)^2)``, the derivative of the smooth step
  ``(1 + alpha x / (1 + alpha |x|)) / 2`` (area 1)
* `Triangle`: ``alpha * max(0, 1 - alpha |x|)`` (area 1)
* `ArcTan`: ``alpha / (2 (1 + (pi alpha x / 2)^2))``, the derivative of
  ``1/2 + arctan(pi alpha x / 2) / pi`` (area 1)
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

__all__ = [
    "heaviside",
    "superspike",
    "fast_sigmoid",
    "triangle",
    "arctan",
    "SuperSpike",
    "FastSigmoid",
    "Triangle",
    "ArcTan",
]


def heaviside(x: ArrayLike) -> Array:
    """The step ``x >= 0`` as the dtype of ``x`` (no gradient: use a surrogate to train)."""
    x = jnp.asarray(x)
    return (x >= 0).astype(x.dtype)


def _make_surrogate(name: str, pseudo_derivative):
    """A `jax.custom_jvp` Heaviside ``f(x, alpha)`` whose derivative in ``x`` is replaced."""

    @jax.custom_jvp
    def f(x, alpha):
        return heaviside(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        x, alpha = primals
        x_dot, _ = tangents  # the step does not depend on alpha: no tangent through alpha
        y = heaviside(x)
        return y, (pseudo_derivative(x, alpha) * x_dot).astype(y.dtype)

    f.__name__ = name
    return f


superspike = _make_surrogate("superspike", lambda x, a: 1.0 / (1.0 + a * jnp.abs(x)) ** 2)
superspike.__doc__ = "Heaviside with SuperSpike derivative ``1 / (1 + alpha |x|)^2``."

fast_sigmoid = _make_surrogate(
    "fast_sigmoid", lambda x, a: 0.5 * a / (1.0 + a * jnp.abs(x)) ** 2
)
fast_sigmoid.__doc__ = "Heaviside with fast-sigmoid derivative ``alpha / (2 (1 + alpha |x|)^2)``."

triangle = _make_surrogate(
    "triangle", lambda x, a: a * jnp.maximum(0.0, 1.0 - a * jnp.abs(x))
)
triangle.__doc__ = "Heaviside with triangle derivative ``alpha * max(0, 1 - alpha |x|)``."

arctan = _make_surrogate(
    "arctan", lambda x, a: 0.5 * a / (1.0 + (0.5 * math.pi * a * x) ** 2)
)
arctan.__doc__ = "Heaviside with arctan derivative ``alpha / (2 (1 + (pi alpha x / 2)^2))``."


def _check_alpha(cls_name: str, alpha) -> None:
    try:
        value = float(alpha)
    except (TypeError, jax.errors.ConcretizationTypeError):
        return  # traced or array-valued: cannot check here
    if not value > 0:
        raise ValueError(f"{cls_name}: alpha must be positive, got alpha={alpha!r}.")


class SuperSpike(eqx.Module):
    """Heaviside forward; ``1 / (1 + alpha |x|)^2`` backward (Zenke & Ganguli 2018).

    Attributes:
        alpha: sharpness in 1/volt.
    """

    alpha: float = 100.0

    def __check_init__(self):
        _check_alpha(type(self).__name__, self.alpha)

    def __call__(self, x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        return superspike(x, self.alpha)


class FastSigmoid(eqx.Module):
    """Heaviside forward; ``alpha / (2 (1 + alpha |x|)^2)`` backward (area one).

    Attributes:
        alpha: sharpness in 1/volt.
    """

    alpha: float = 100.0

    def __check_init__(self):
        _check_alpha(type(self).__name__, self.alpha)

    def __call__(self, x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        return fast_sigmoid(x, self.alpha)


class Triangle(eqx.Module):
    """Heaviside forward; ``alpha * max(0, 1 - alpha |x|)`` backward (area one).

    Attributes:
        alpha: sharpness in 1/volt (the triangle's half-width is ``1 / alpha``).
    """

    alpha: float = 10.0

    def __check_init__(self):
        _check_alpha(type(self).__name__, self.alpha)

    def __call__(self, x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        return triangle(x, self.alpha)


class ArcTan(eqx.Module):
    """Heaviside forward; ``alpha / (2 (1 + (pi alpha x / 2)^2))`` backward (area one).

    Attributes:
        alpha: sharpness in 1/volt.
    """

    alpha: float = 2.0

    def __check_init__(self):
        _check_alpha(type(self).__name__, self.alpha)

    def __call__(self, x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        return arctan(x, self.alpha)
