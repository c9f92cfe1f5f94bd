"""Surrogate spike functions: Heaviside forward, the documented pseudo-derivative backward."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsnn_eqx import discrete

FORMULAS = {
    discrete.SuperSpike: lambda x, a: 1.0 / (1.0 + a * np.abs(x)) ** 2,
    discrete.FastSigmoid: lambda x, a: a / (2.0 * (1.0 + a * np.abs(x)) ** 2),
    discrete.Triangle: lambda x, a: a * np.maximum(0.0, 1.0 - a * np.abs(x)),
    discrete.ArcTan: lambda x, a: a / (2.0 * (1.0 + (math.pi * a * x / 2.0) ** 2)),
}
# SuperSpike is the unnormalised form (peak 1); the others integrate to one over x
AREA = {discrete.SuperSpike: None, discrete.FastSigmoid: 1.0, discrete.Triangle: 1.0,
        discrete.ArcTan: 1.0}


@pytest.mark.parametrize("cls", list(FORMULAS))
@pytest.mark.parametrize("alpha", [0.5, 7.0, 100.0])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_forward_is_heaviside_and_gradient_is_the_formula(cls, alpha, dtype):
    fn = cls(alpha=alpha)
    x = jnp.linspace(-0.3, 0.3, 601, dtype=dtype)
    x = jnp.concatenate([x, jnp.array([0.0, -1e-7, 1e-7], dtype)])
    y = fn(x)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y, (np.asarray(x) >= 0).astype(np.float64))
    grad = jax.vmap(jax.grad(fn))(x)
    assert grad.dtype == dtype
    expected = FORMULAS[cls](np.asarray(x, np.float64), alpha)
    rtol = 1e-5 if dtype == jnp.float32 else 1e-12
    np.testing.assert_allclose(grad, expected, rtol=rtol, atol=rtol * expected.max())
    # reverse and forward mode agree
    np.testing.assert_allclose(jax.jvp(fn, (x,), (jnp.ones_like(x),))[1], grad, rtol=1e-12)


@pytest.mark.parametrize("cls", list(FORMULAS))
def test_normalisation(cls):
    alpha = 4.0
    xs = np.linspace(-400.0, 400.0, 2_000_001)
    d = FORMULAS[cls](xs, alpha)
    area = np.sum(d) * (xs[1] - xs[0])
    if AREA[cls] is None:
        assert d.max() == pytest.approx(1.0)
    else:
        assert area == pytest.approx(AREA[cls], rel=2e-3)  # arctan tails decay as 1/x^2


def test_surrogates_are_modules_usable_under_jit_and_vmap():
    fn = discrete.SuperSpike(alpha=10.0)
    assert isinstance(fn, eqx.Module)
    x = jnp.linspace(-1, 1, 11)
    g = eqx.filter_jit(lambda f, x: jax.vmap(jax.grad(f))(x))(fn, x)
    np.testing.assert_allclose(g, 1 / (1 + 10 * np.abs(np.asarray(x))) ** 2, rtol=1e-12)
    # alpha is an ordinary pytree leaf: jit with it as a traced argument works
    g2 = jax.jit(lambda f, x: jax.vmap(jax.grad(f))(x))(fn, x)
    np.testing.assert_allclose(g2, g, rtol=1e-12)
    # the surrogate sets the gradient of a layer: a sharper one gives a different gradient
    xs = (jax.random.uniform(jax.random.PRNGKey(0), (30, 4)) < 0.3).astype(float)
    base = discrete.LIF(4, 6, key=jax.random.PRNGKey(1), init_mean=3.0)
    grads = [
        eqx.filter_grad(lambda m: jnp.sum(m(xs)))(eqx.tree_at(lambda m: m.surrogate, base, s))
        for s in (discrete.SuperSpike(10.0), discrete.SuperSpike(1000.0))
    ]
    assert not np.allclose(grads[0].weight, grads[1].weight)


@pytest.mark.parametrize("cls", list(FORMULAS))
def test_alpha_must_be_positive(cls):
    with pytest.raises(ValueError, match="alpha"):
        cls(alpha=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        cls(alpha=0.0)
