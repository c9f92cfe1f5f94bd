"""Encoders, decoders, losses and input validation of the discrete namespace."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsnn_eqx as snn
from jaxsnn_eqx import discrete


def test_latency_encoding_bins_and_matches_spikes_to_dense():
    x = jnp.array([[0.0, 1.0], [0.5, 0.26], [0.999, 0.1]])
    dt, t_late, t_max = 5e-4, 1.5e-2, 3e-2
    r = discrete.encode_latency(x, t_early=0.0, t_late=t_late, t_max=t_max, dt=dt, mirror=True,
                                bias_time=2e-3)
    assert r.shape == (3, 60, 5)
    np.testing.assert_array_equal(r.sum(axis=1), 1.0)  # one spike per input neuron
    feats = np.concatenate([np.asarray(x), 1 - np.asarray(x)], axis=1)
    bins = np.floor(np.round(feats * t_late / dt, 6)).astype(int)
    np.testing.assert_array_equal(np.argmax(r[:, :, :4], axis=1), bins)
    np.testing.assert_array_equal(np.argmax(r[:, :, 4], axis=1), 4)
    # the same raster as binning the shared event encoder's Spikes
    dense = snn.data.encode_latency_dense(x, t_max, dt, 0.0, t_late, bias_time=2e-3)
    np.testing.assert_array_equal(r, dense)


def test_latency_spikes_after_t_max_are_dropped():
    r = discrete.encode_latency(jnp.array([0.0, 1.0]), t_early=0.0, t_late=2e-2, t_max=1e-2,
                                dt=1e-3)
    assert r.shape == (10, 2)
    np.testing.assert_array_equal(r.sum(axis=0), [1.0, 0.0])


def test_poisson_rate_and_determinism():
    key = jax.random.PRNGKey(0)
    rates = jnp.array([0.0, 0.2, 1.0])
    r = discrete.encode_poisson(key, jnp.broadcast_to(rates, (200, 3)), t_max=1.0, dt=1e-3,
                                max_rate=100.0)
    assert r.shape == (200, 1000, 3)
    p = np.asarray(rates) * 100.0 * 1e-3
    mean = np.asarray(r.mean(axis=(0, 1)))
    sigma = np.sqrt(p * (1 - p) / 200_000)
    assert mean[0] == 0.0
    assert np.all(np.abs(mean[1:] - p[1:]) < 5 * sigma[1:])
    np.testing.assert_array_equal(
        r, discrete.encode_poisson(key, jnp.broadcast_to(rates, (200, 3)), t_max=1.0, dt=1e-3,
                                   max_rate=100.0)
    )


def test_decoders():
    v = jnp.array([[[1.0, -2.0], [3.0, 0.5], [-1.0, 0.0]]])  # (1, time 3, n 2)
    np.testing.assert_array_equal(discrete.max_over_time(v), [[3.0, 0.5]])
    np.testing.assert_allclose(discrete.mean_over_time(v), [[1.0, -0.5]])
    np.testing.assert_array_equal(discrete.last_step(v), [[-1.0, 0.0]])
    np.testing.assert_array_equal(discrete.spike_count(jnp.array([[1.0, 0], [1, 1]])), [2.0, 1.0])
    with pytest.raises(ValueError, match="time"):
        discrete.max_over_time(jnp.ones(3))


def test_nll_loss_is_log_softmax_nll():
    scores = jnp.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    labels = jnp.array([1, 0])
    logp = np.asarray(scores) - np.log(np.exp(np.asarray(scores)).sum(1, keepdims=True))
    expected = -(logp[0, 1] + logp[1, 0]) / 2
    assert float(discrete.nll_loss(scores, labels)) == pytest.approx(expected, rel=1e-12)
    assert float(discrete.accuracy(scores, labels)) == 0.5
    with pytest.raises(TypeError, match="labels"):
        discrete.nll_loss(scores, jnp.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="labels"):
        discrete.nll_loss(scores, jnp.array([1, 0, 2]))


def test_firing_rate_regularizer():
    z = jnp.zeros((2, 100, 3)).at[:, :10, 0].set(1.0)  # neuron 0 fires 10 times in 100 ms
    dt = 1e-3
    # rates: 100 Hz, 0, 0
    assert float(discrete.firing_rate_regularizer(z, dt=dt)) == pytest.approx(100.0**2 / 3)
    assert float(discrete.firing_rate_regularizer(z, dt=dt, target_rate=100.0)) == pytest.approx(
        2 * 100.0**2 / 3
    )
    assert float(discrete.firing_rate_regularizer(z, dt=dt, max_rate=60.0)) == pytest.approx(
        40.0**2 / 3
    )
    g = jax.grad(lambda z: discrete.firing_rate_regularizer(z, dt=dt, max_rate=60.0))(z)
    assert float(g[0, 0, 0]) > 0 and float(g[0, 0, 1]) == 0.0


# ------------------------------------------------------------------------- bad input
KEY = jax.random.PRNGKey(0)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(tau_mem=-1e-2), "tau_mem"),
        (dict(tau_mem=0.0), "tau_mem"),
        (dict(tau_syn=-5e-3), "tau_syn"),
        (dict(v_reset=1.0, v_th=1.0), "v_reset"),
        (dict(v_reset=2.0), "v_reset"),
        (dict(t_refrac=-1e-3), "t_refrac"),
        (dict(reset="zero"), "reset"),
    ],
)
def test_bad_params_raise_naming_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        discrete.LIFParams(**kwargs)


def test_bad_layer_arguments_raise_naming_the_argument():
    with pytest.raises(ValueError, match="dt"):
        discrete.LIF(5, 10, params=discrete.LIFParams(tau_syn=5e-3), dt=5e-3, key=KEY)
    with pytest.raises(ValueError, match="dt.*tau_mem"):
        discrete.LIF(5, 10, params=discrete.LIFParams(tau_mem=1e-3, tau_syn=5e-4), dt=2e-3,
                     key=KEY)
    with pytest.raises(ValueError, match="dt"):
        discrete.LIF(5, 10, dt=-1e-4, key=KEY)
    with pytest.raises(ValueError, match="dt"):
        discrete.LI(5, 3, dt=1.0, key=KEY)
    with pytest.raises(ValueError, match="tau_mem"):
        discrete.LIParams(tau_mem=-1.0)
    with pytest.raises(ValueError, match="in_size"):
        discrete.LIF(0, 10, key=KEY)
    with pytest.raises(TypeError, match="out_size"):
        discrete.LIF(5, 2.5, key=KEY)
    with pytest.raises(TypeError, match="params"):
        discrete.LIF(5, 10, params=dict(tau_mem=1e-2), key=KEY)
    with pytest.raises(ValueError, match="weight"):
        discrete.LIF(5, 10, weight=jnp.zeros((10, 5)))
    with pytest.raises(ValueError, match="key"):
        discrete.LIF(5, 10)


def test_bad_call_input_raises_naming_the_argument():
    lif = discrete.LIF(5, 10, key=KEY)
    li = discrete.LI(5, 3, key=KEY)
    for layer in (lif, li):
        with pytest.raises(ValueError, match=r"xs.*\(time, in_size=5\)"):
            layer(jnp.zeros((20, 4)))
        with pytest.raises(ValueError, match=r"xs.*vmap"):
            layer(jnp.zeros((8, 20, 5)))  # batched input to an unbatched layer
        with pytest.raises(ValueError, match="xs"):
            layer(jnp.zeros(5))
        with pytest.raises(TypeError, match="xs.*dtype"):
            layer(jnp.zeros((20, 5), jnp.int32))
        with pytest.raises(TypeError, match="xs"):
            layer([[0.0] * 5] * 20)
    with pytest.raises(ValueError, match="weight_rec"):
        lif(jnp.zeros((20, 5)), weight_rec=jnp.zeros((5, 5)))
    with pytest.raises(ValueError, match="weight_rec"):
        snn.Recurrent(lif, jnp.zeros((5, 5)))
    with pytest.raises(ValueError, match="xs"):
        snn.Recurrent(lif, jnp.zeros((10, 10)))(jnp.zeros((20, 6)))
    # errors are raised at trace time under jit/vmap too, not deep inside JAX
    with pytest.raises(ValueError, match="xs"):
        jax.jit(lambda x: lif(x))(jnp.zeros((20, 4)))
    with pytest.raises(ValueError, match="xs"):
        jax.vmap(lif)(jnp.zeros((3, 20, 4)))


def test_latency_defaults_differ_from_the_event_encoder_as_documented():
    x = (jnp.arange(12.0).reshape(6, 2) + 0.5) / 12  # away from bin edges
    kw = dict(t_early=0.0, t_late=1e-2, t_max=2e-2, dt=1e-3)
    r = discrete.encode_latency(x, **kw)
    assert r.shape == (6, 20, 2)  # mirror=False by default: one neuron per feature
    mirrored = discrete.encode_latency(x, mirror=True, bias_time=5e-3, **kw)
    assert mirrored.shape == (6, 20, 5)
    # data.encode_latency mirrors by default; its raster is the mirrored discrete raster
    np.testing.assert_array_equal(
        mirrored, snn.data.encode_latency_dense(x, 2e-2, 1e-3, 0.0, 1e-2, bias_time=5e-3))
    # the discrete encoder clips features to [0, 1]
    np.testing.assert_array_equal(discrete.encode_latency(jnp.array([1.7, -0.3]), **kw),
                                  discrete.encode_latency(jnp.array([1.0, 0.0]), **kw))


def test_time_losses_require_a_finite_t_silent():
    # the event time losses have no t_silent default (docs and code agree); discrete losses
    # take no t_silent at all
    from jaxsnn_eqx.event import losses as L

    t = jnp.array([1e-3, jnp.inf])
    with pytest.raises(TypeError, match="t_silent"):
        L.mse_times(t, jnp.zeros(2), scale=1e-3)
    with pytest.raises(TypeError, match="ttfs_cross_entropy: t_silent is required"):
        L.ttfs_cross_entropy(t, 0, tau=1e-3, t_silent=None)
    with pytest.raises(ValueError, match="mse_times: t_silent must be finite"):
        L.mse_times(t, jnp.zeros(2), t_silent=float("inf"), scale=1e-3)
    assert np.isfinite(L.mse_times(t, jnp.zeros(2), t_silent=2e-3, scale=1e-3))


def test_accuracy_refuses_float_labels_like_nll_loss():
    scores = jnp.array([[0.1, 0.9], [0.8, 0.2]])
    with pytest.raises(TypeError, match="labels must be integers"):
        discrete.nll_loss(scores, jnp.array([1.0, 0.0]))
    with pytest.raises(TypeError, match="labels must be integers"):
        discrete.accuracy(scores, jnp.array([1.0, 0.0]))  # was: compared floats with argmax
    assert float(discrete.accuracy(scores, jnp.array([1, 0]))) == 1.0
