import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsnn_eqx as snn


class Affine(eqx.Module):
    w: jax.Array
    out_size: int = eqx.field(static=True)

    def __init__(self, w):
        self.w = jnp.asarray(w)
        self.out_size = self.w.shape[1]

    def __call__(self, x, weight_rec=None):
        y = x @ self.w
        if weight_rec is not None:  # one step of feedback, enough to test the protocol
            y = y + y @ weight_rec
        return y


def test_sequential_chains_and_indexes():
    a, b = Affine(2 * jnp.eye(2)), Affine(jnp.ones((2, 3)))
    net = snn.Sequential([a, b])
    np.testing.assert_allclose(net(jnp.array([1.0, 2.0])), [6.0, 6.0, 6.0])
    assert net.layers == (a, b) and len(net) == 2 and net[0] is a
    outs = net.trace(jnp.array([1.0, 2.0]))
    np.testing.assert_allclose(outs[0], [2.0, 4.0])
    assert isinstance(net[1:], snn.Sequential)
    with pytest.raises(ValueError):
        snn.Sequential([])


def test_tree_at_and_grad_through_sequential():
    net = snn.Sequential([Affine(jnp.eye(2)), Affine(jnp.ones((2, 1)))])
    net = eqx.tree_at(lambda m: m.layers[0].w, net, 3 * jnp.eye(2))
    g = eqx.filter_grad(lambda m: m(jnp.array([1.0, 1.0])).sum())(net)
    np.testing.assert_allclose(g.layers[1].w, [[3.0], [3.0]])
    batched = jax.vmap(net)(jnp.ones((4, 2)))
    assert batched.shape == (4, 1)


def test_recurrent_passes_masked_weights():
    layer = Affine(jnp.eye(2))
    w = jnp.array([[0.0, 1.0], [1.0, 0.0]])
    rec = snn.Recurrent(layer, w, mask=jnp.array([[0.0, 1.0], [0.0, 0.0]]))
    np.testing.assert_allclose(rec(jnp.array([1.0, 2.0])), [1.0, 3.0])
    g = eqx.filter_grad(lambda r: r(jnp.array([1.0, 2.0])).sum())(rec)
    assert g.weight_rec[1, 0] == 0.0  # masked entries get no gradient
    assert g.weight_rec[0, 1] == 1.0
    with pytest.raises(ValueError, match="square"):
        snn.Recurrent(layer, jnp.zeros((2, 3)))
    with pytest.raises(ValueError, match="out_size"):
        snn.Recurrent(layer, jnp.zeros((3, 3)))
    zero = snn.Recurrent(layer)
    assert zero.weight_rec.shape == (2, 2)
