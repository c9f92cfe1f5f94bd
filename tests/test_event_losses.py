"""TTFS decoding and losses."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import jaxsnn_eqx as snn
from jaxsnn_eqx import event
from jaxsnn_eqx.event import losses as L


def test_first_spike_times_and_prediction():
    s = snn.Spikes(jnp.array([1.0, 2.0, 3.0, jnp.inf]), jnp.array([2, 0, 2, -1]))
    t = L.first_spike_times(s, 4)
    np.testing.assert_array_equal(np.asarray(t), [2.0, np.inf, 1.0, np.inf])
    assert int(L.predict(t)) == 2
    tb = jnp.array([[1.0, 2.0, 3.0], [3.0, jnp.inf, 0.5]])
    assert float(L.accuracy(tb, jnp.array([0, 1]))) == 0.5


def test_cross_entropy_prefers_early_correct_spike_and_handles_silence():
    f = lambda t, y: L.ttfs_cross_entropy(t, y, tau=1e-3, t_silent=1e-2)
    early = f(jnp.array([1e-3, 3e-3, 3e-3]), 0)
    late = f(jnp.array([4e-3, 3e-3, 3e-3]), 0)
    assert early < late
    t = jnp.array([jnp.inf, 2e-3, jnp.inf])
    val, g = jax.value_and_grad(f)(t, 0)
    assert jnp.isfinite(val) and jnp.all(jnp.isfinite(g))
    assert g[0] == 0 and g[2] == 0 and g[1] < 0  # push the wrong spiking neuron later
    # silent neuron = spike at t_silent
    np.testing.assert_allclose(val, f(jnp.array([1e-2, 2e-3, 1e-2]), 0), rtol=1e-12)
    # the regulariser term rewards an early correct spike
    reg = lambda t: L.ttfs_cross_entropy(t, 0, tau=1e-3, t_silent=1e-2, alpha=1.0, tau_reg=1e-2)
    assert float(jax.grad(reg)(jnp.array([2e-3, 3e-3, 3e-3]))[0]) > float(
        jax.grad(f)(jnp.array([2e-3, 3e-3, 3e-3]), 0)[0])


def test_mse_and_regularisers():
    t = jnp.array([1e-3, jnp.inf])
    assert jnp.isfinite(jax.grad(lambda t: L.mse_times(t, jnp.array([2e-3, 5e-3]), t_silent=1e-2,
                                                        scale=1e-3))(t)).all()
    np.testing.assert_allclose(
        L.mse_times(t, jnp.array([2e-3, 5e-3]), t_silent=1e-2, scale=1e-3), (1 + 25) / 2)
    s = snn.Spikes(jnp.array([1.0, 2.0, 3.0, jnp.inf]), jnp.array([0, 0, 1, -1]))
    assert int(L.spike_count(s)) == 3
    np.testing.assert_allclose(L.spike_count_regularizer(s, 3, target=1.0), (1 + 0 + 1) / 3)
    p = event.LIFParams()
    net = snn.Sequential([event.LIF(2, 3, params=p, t_max=1e-2, max_spikes=3,
                                    weight=jnp.ones((2, 3))),
                          event.LIF(3, 1, params=p, t_max=1e-2, max_spikes=1,
                                    weight=2 * jnp.ones((3, 1)))])
    np.testing.assert_allclose(L.weight_regularizer(net), 6 + 12)
    g = eqx.filter_grad(L.weight_regularizer)(net)
    np.testing.assert_allclose(g.layers[1].weight, 4.0)
