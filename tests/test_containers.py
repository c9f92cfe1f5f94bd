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


def _lif(size=6):
    from jaxsnn_eqx import discrete

    params = discrete.LIFParams(tau_mem=1e-2, tau_syn=5e-3, v_th=1.0, v_leak=0.2)
    return discrete.LIF(3, size, params=params, dt=5e-4, key=jax.random.PRNGKey(0))


def test_recurrent_key_gives_a_scaled_random_init():
    size = 64
    lif = _lif(size)
    rec = snn.Recurrent(lif, key=jax.random.PRNGKey(1))
    w = np.asarray(rec.weight_rec)
    assert w.shape == (size, size) and w.dtype == lif.weight.dtype
    assert np.all(np.isfinite(w)) and np.count_nonzero(w) == size * size
    # std = 0.1 tau_mem (v_th - v_leak) / sqrt(size), mean 0
    expected = 0.1 * 1e-2 * 0.8 / np.sqrt(size)
    assert abs(w.std() / expected - 1) < 0.05 and abs(w.mean()) < 4 * expected / size
    again = snn.Recurrent(lif, key=jax.random.PRNGKey(1))
    np.testing.assert_array_equal(again.weight_rec, w)  # reproducible
    other = snn.Recurrent(lif, key=jax.random.PRNGKey(2))
    assert not np.allclose(other.weight_rec, w)
    # an explicit scale (V s) overrides the default; scale=0.0 and no key give zeros
    big = snn.Recurrent(lif, key=jax.random.PRNGKey(1), scale=8e-3)
    np.testing.assert_allclose(big.weight_rec, w * 8e-3 / (0.1 * 1e-2 * 0.8), rtol=1e-6)
    np.testing.assert_array_equal(snn.Recurrent(lif, key=jax.random.PRNGKey(1), scale=0.0)
                                  .weight_rec, np.zeros((size, size)))
    np.testing.assert_array_equal(snn.Recurrent(lif).weight_rec, np.zeros((size, size)))
    # a mask still applies to the random init
    eye_free = snn.Recurrent(lif, key=jax.random.PRNGKey(1), mask=1 - jnp.eye(size))
    assert np.all(np.diag(eye_free.effective_weight_rec) == 0)
    assert rec(jnp.zeros((10, 3))).shape == (10, size)


def test_recurrent_default_scale_for_event_layers_uses_mean_params():
    from jaxsnn_eqx import event

    p = event.LIFParams(tau_mem=2e-2, tau_syn=1e-2, v_th=jnp.array([1.0, 2.0, 3.0] * 16),
                        v_reset=0.0, v_leak=0.0, t_refrac=0.0)
    lif = event.LIF(5, 48, params=p, t_max=5e-2, max_spikes=64, key=jax.random.PRNGKey(0))
    w = np.asarray(snn.Recurrent(lif, key=jax.random.PRNGKey(3)).weight_rec)
    z = np.asarray(jax.random.normal(jax.random.PRNGKey(3), (48, 48), lif.weight.dtype))
    np.testing.assert_allclose(w, 0.1 * 2e-2 * 2.0 / np.sqrt(48) * z, rtol=1e-6)


def test_recurrent_init_errors_name_the_argument():
    lif = _lif()
    with pytest.raises(ValueError, match="weight_rec or key"):
        snn.Recurrent(lif, jnp.zeros((6, 6)), key=jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="scale=0.1 needs a key"):
        snn.Recurrent(lif, scale=0.1)
    with pytest.raises(ValueError, match="scale must be finite and >= 0"):
        snn.Recurrent(lif, key=jax.random.PRNGKey(0), scale=-1.0)
    with pytest.raises(TypeError, match="scale must be a number"):
        snn.Recurrent(lif, key=jax.random.PRNGKey(0), scale="big")
    # a layer without neuron params: no default scale, but an explicit one works
    affine = Affine(jnp.eye(2))
    with pytest.raises(ValueError, match="Affine.*pass scale="):
        snn.Recurrent(affine, key=jax.random.PRNGKey(0))
    w = snn.Recurrent(affine, key=jax.random.PRNGKey(0), scale=1.0).weight_rec
    assert w.shape == (2, 2) and np.all(np.asarray(w) != 0)


def test_recurrent_mask_is_bool_and_adamw_leaves_it_bit_exact():
    # a float mask (gradient 0) was still decayed by AdamW: 1.0 -> ~0.995 after 50 steps
    import optax

    rec = snn.Recurrent(_lif(4), key=jax.random.PRNGKey(1), mask=1 - jnp.eye(4))
    before = np.asarray(rec.mask)
    opt = optax.adamw(1e-2, weight_decay=1e-2)
    state = opt.init(eqx.filter(rec, eqx.is_inexact_array))
    xs = jnp.ones((20, 3))

    @eqx.filter_jit
    def step(rec, state):
        g = eqx.filter_grad(lambda m: m(xs).sum())(rec)
        updates, state = opt.update(g, state, eqx.filter(rec, eqx.is_inexact_array))
        return eqx.apply_updates(rec, updates), state

    for _ in range(50):
        rec, state = step(rec, state)
    np.testing.assert_array_equal(np.asarray(rec.mask), before)
    assert rec.mask.dtype == jnp.bool_
    assert np.all(np.diag(rec.effective_weight_rec) == 0)


def test_recurrent_mask_bool_or_01_gives_the_same_numbers():
    lif = _lif(5)
    w = jax.random.normal(jax.random.PRNGKey(3), (5, 5)) * 1e-3
    m01 = (jax.random.uniform(jax.random.PRNGKey(4), (5, 5)) > 0.5).astype(w.dtype)
    a, b = snn.Recurrent(lif, w, mask=m01), snn.Recurrent(lif, w, mask=m01 != 0)
    np.testing.assert_array_equal(a.effective_weight_rec, w * m01)  # bit-exact, -0.0 included
    np.testing.assert_array_equal(a.effective_weight_rec, b.effective_weight_rec)
    xs = jax.random.uniform(jax.random.PRNGKey(5), (30, 3)) < 0.3
    xs = xs.astype(w.dtype)
    ga = eqx.filter_grad(lambda m: m(xs).sum())(a)
    np.testing.assert_array_equal(ga.weight_rec, eqx.filter_grad(lambda m: m(xs).sum())(b)
                                  .weight_rec)
    with pytest.raises(ValueError, match="only 0 and 1"):
        snn.Recurrent(lif, w, mask=0.5 * m01)


class NeedsKey(eqx.Module):
    """A noisy layer: ``x + noise``; a key is required."""

    def __call__(self, x, *, key):
        return x + jax.random.normal(key, x.shape)


def test_sequential_passes_split_keys_to_layers_that_take_them():
    a = Affine(2 * jnp.eye(2))
    net = snn.Sequential([a, NeedsKey(), NeedsKey()])
    x = jnp.array([1.0, 2.0])
    k = jax.random.PRNGKey(7)
    keys = jax.random.split(k, 3)  # as eqx.nn.Sequential: one subkey per layer, by position
    expected = NeedsKey()(NeedsKey()(a(x), key=keys[1]), key=keys[2])
    np.testing.assert_array_equal(net(x, key=k), expected)
    outs = net.trace(x, key=k)
    np.testing.assert_array_equal(outs[-1], expected)
    np.testing.assert_allclose(eqx.filter_jit(lambda n, k: n(x, key=k))(net, k), expected,
                               rtol=1e-12)  # jit may fuse the arithmetic differently
    # without a key nothing changes: layers are called as before
    plain = snn.Sequential([a, Affine(jnp.ones((2, 3)))])
    np.testing.assert_array_equal(plain(x), plain(x, key=None))
    np.testing.assert_array_equal(plain(x), Affine(jnp.ones((2, 3)))(a(x)))
    # Recurrent passes its key on to a layer that takes one
    class NoisyRec(eqx.Module):
        out_size: int = eqx.field(static=True, default=2)

        def __call__(self, x, weight_rec=None, *, key=None):
            noise = 0.0 if key is None else jax.random.normal(key, x.shape)
            return x + x @ weight_rec + noise

    rec = snn.Recurrent(NoisyRec(), jnp.eye(2))
    np.testing.assert_array_equal(rec(x, key=k), 2 * x + jax.random.normal(k, x.shape))
    np.testing.assert_array_equal(rec(x), 2 * x)


def test_sequential_with_a_hardware_layer_on_a_noisy_backend():
    from jaxsnn_eqx import event, hardware

    p = event.LIFParams(tau_mem=1.2e-5, tau_syn=6e-6, v_th=1.0, v_reset=0.0, v_leak=0.0,
                        t_refrac=3e-5)
    hw = event.HardwareRecurrentLIF(3, 4, params=p, t_max=3e-5, max_spikes=16,
                                    backend=hardware.Emulator(), key=jax.random.PRNGKey(0))
    net = snn.Sequential([hw])
    s = snn.Spikes(jnp.array([1e-6, 2e-6, 4e-6]), jnp.array([0, 1, 2]))
    k = jax.random.PRNGKey(3)
    out = net(s, key=k)  # was: TypeError (Sequential took no key)
    ref = hw(s, key=jax.random.split(k, 1)[0])
    np.testing.assert_array_equal(out.time, ref.time)
    np.testing.assert_array_equal(out.idx, ref.idx)
