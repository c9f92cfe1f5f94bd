"""Event kernel behaviour: buffers, edge cases without NaN, jit/vmap, containers, user neurons."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsnn_eqx as snn
from jaxsnn_eqx import event

T_MAX = 0.05
P = event.LIFParams(tau_mem=1e-2, tau_syn=5e-3, v_th=1.0, v_reset=0.0, v_leak=0.0)
W1 = event.lif_weight_scale(P)  # a single input of this weight peaks exactly at threshold


def spikes(times, idx=None):
    times = jnp.asarray(times, jnp.float64)
    idx = jnp.arange(times.shape[0]) if idx is None else jnp.asarray(idx)
    return snn.Spikes.from_arrays(times, idx)


def finite_sum(out):
    return jnp.sum(jnp.where(jnp.isfinite(out.time), out.time, 0.0))


def lif(in_size, out_size, weight, params=P, **kw):
    kw.setdefault("max_spikes", 32)
    return event.LIF(in_size, out_size, params=params, t_max=T_MAX, weight=weight, **kw)


# ----------------------------------------------------------------------------- buffers
def test_layer_overflow_raises():
    layer = lif(1, 4, jnp.full((1, 4), 3 * W1), max_spikes=3, single_spike=True)
    with pytest.raises(Exception, match="max_spikes"):
        jax.block_until_ready(eqx.filter_jit(lambda m, s: m(s))(layer, spikes([1e-3])))


def test_per_neuron_overflow_raises():
    layer = lif(1, 1, jnp.full((1, 1), 40 * W1), max_spikes=50, max_spikes_per_neuron=2)
    with pytest.raises(Exception, match="more than 2 spikes .*max_spikes_per_neuron"):
        jax.block_until_ready(layer(spikes([1e-3])))


def test_per_neuron_overflow_without_per_neuron_setting_names_max_spikes():
    # only max_spikes given: the buffer is max_spikes, and the message says to raise it
    layer = lif(1, 1, jnp.full((1, 1), 40 * W1), max_spikes=2)
    with pytest.raises(Exception, match="more than 2 spikes .*else max_spikes"):
        jax.block_until_ready(layer(spikes([1e-3])))


def test_recurrent_overflow_raises():
    net = snn.Recurrent(lif(1, 2, jnp.full((1, 2), 3 * W1), max_spikes=4),
                        jnp.full((2, 2), 2 * W1))
    with pytest.raises(Exception, match="max_spikes"):
        jax.block_until_ready(net(spikes([1e-3])))


def test_exactly_full_buffer_does_not_raise():
    # one strong input: each of 3 single-spike neurons fires once; a buffer of 3 is exactly full
    layer = lif(1, 3, jnp.full((1, 3), 3 * W1), max_spikes=3, single_spike=True)
    out = layer(spikes([1e-3]))
    assert int(out.count) == 3


@pytest.mark.parametrize("method", ["kernel", "auto"])
def test_every_input_is_processed_with_a_full_output_buffer(method):
    # 40 weak inputs, then one decisive input to neuron 1 at 30 ms. Neuron 0 fills its single
    # slot early; inputs and output spikes never share a step budget, so the late input counts.
    n = 40
    t_in = np.concatenate([np.linspace(0.0, 2e-3, n), [3e-2]])
    i_in = np.concatenate([np.zeros(n, int), [1]])
    w = jnp.array([[0.2 * W1, 0.0], [0.0, 3 * W1]])
    layer = lif(2, 2, w, max_spikes=2, single_spike=True, method=method)
    out = layer(spikes(t_in, i_in))
    assert list(np.asarray(out.idx)) == [0, 1]
    assert 3e-2 < float(out.time[1]) < 3.5e-2


# ----------------------------------------------------------------------------- exactness
def test_simultaneous_inputs_equal_one_summed_input():
    w = jnp.array([[0.7 * W1, 0.2 * W1], [0.9 * W1, 1.5 * W1], [0.4 * W1, -0.1 * W1]])
    two = lif(3, 2, w)(spikes([2e-3, 2e-3, 2e-3], [0, 1, 2]))
    one = lif(1, 2, w.sum(0, keepdims=True))(spikes([2e-3], [0]))
    np.testing.assert_array_equal(np.asarray(two.idx), np.asarray(one.idx))
    np.testing.assert_allclose(np.asarray(two.time), np.asarray(one.time), rtol=1e-14)


@pytest.mark.parametrize("ratio", [2.0, 1.7])
def test_simultaneous_crossings_in_a_recurrent_population_all_fire(ratio):
    # identical neurons cross threshold at the same instant; the loop takes one spike per step,
    # so the others must still fire (dt = 0) after the first, whatever the rounding of their V
    p = event.LIFParams(tau_mem=ratio * 5e-3, tau_syn=5e-3, t_refrac=1e-3)
    w1 = event.lif_weight_scale(p)
    s = spikes([1e-3])
    coef = jnp.asarray([1.0, -2.0, 0.5])

    def run(w, recurrent):
        layer = event.LIF(1, 3, params=p, t_max=T_MAX, max_spikes=60, weight=w, method="kernel")
        return snn.Recurrent(layer, jnp.zeros((3, 3)))(s) if recurrent else layer(s)

    @eqx.filter_jit
    def times_and_grad(w, recurrent):
        def loss(w):
            out = run(w, recurrent)
            t = jnp.where(jnp.isfinite(out.time), out.time, 0.0)
            return jnp.sum(coef[jnp.clip(out.idx, 0)] * t)
        return run(w, recurrent), jax.grad(loss)(w)

    for scale in np.linspace(1.1, 5.0, 25):
        w = jnp.full((1, 3), scale * w1)
        rec, g_rec = times_and_grad(w, True)
        ff, g_ff = times_and_grad(w, False)  # independent per-neuron loops
        counts = np.bincount(np.asarray(rec.idx)[np.asarray(rec.idx) >= 0], minlength=3)
        assert counts[0] >= 1 and counts[0] == counts[1] == counts[2], (scale, counts)
        np.testing.assert_allclose(np.sort(np.asarray(rec.time)), np.sort(np.asarray(ff.time)),
                                   rtol=1e-13)
        np.testing.assert_allclose(np.asarray(g_rec), np.asarray(g_ff), rtol=1e-9)


@pytest.mark.parametrize("shift", [0.0, 1e-13, -1e-13])
def test_input_at_the_end_of_the_refractory_period(shift):
    # an input lands exactly (or within rounding) when the refractory period ends
    p = event.LIFParams(tau_mem=1e-2, tau_syn=5e-3, v_reset=-0.1, t_refrac=2e-3)
    w = jnp.asarray([[3 * W1], [2 * W1]])
    first = lif(2, 1, w, params=p)(spikes([1e-3], [0]))
    t_end = float(first.time[0]) + 2e-3
    out = lif(2, 1, w, params=p)(spikes([1e-3, t_end + shift], [0, 1]))
    near = lif(2, 1, w, params=p)(spikes([1e-3, t_end + 1e-9], [0, 1]))
    assert int(out.count) == int(near.count) >= 3
    np.testing.assert_allclose(np.asarray(out.time), np.asarray(near.time), atol=1e-8)
    from test_event_reference import lif_population

    prm = dict(tau_mem=1e-2, tau_syn=5e-3, v_th=1.0, v_reset=-0.1, v_leak=0.0, t_refrac=2e-3)
    rt, ri = lif_population(prm, np.asarray(w), [1e-3, t_end + shift], [0, 1], T_MAX)
    k = len(rt)
    assert k == int(out.count)
    np.testing.assert_allclose(np.asarray(out.time[:k]), rt, rtol=0, atol=1e-9 * T_MAX)


def test_tau_mem_close_to_tau_syn_is_continuous():
    s = spikes([1e-3, 2e-3, 4e-3])
    w = jnp.full((3, 1), 0.8 * W1)

    def first(ratio):
        p = event.LIFParams(tau_mem=ratio * 5e-3, tau_syn=5e-3)
        layer = lif(3, 1, w * event.lif_weight_scale(p) / W1, params=p)
        return float(layer(s).time[0])

    t1 = first(1.0)
    assert np.isfinite(t1)
    for d in (1e-12, 1e-9, 1e-6):
        assert abs(first(1.0 + d) - t1) < 1e-6 * T_MAX
        assert abs(first(1.0 - d) - t1) < 1e-6 * T_MAX


# ----------------------------------------------------------------------------- no NaN
@eqx.filter_jit
def _value_and_grads(m, s):
    def loss(ms):
        out = ms[0](ms[1])
        return finite_sum(out) + 0.1 * jnp.sum(jnp.where(jnp.isfinite(out.time), 0.0, 1.0))

    return eqx.filter_value_and_grad(loss)((m, s))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("ratio", [1.0, 1.0 + 1e-7, 2.0, 3.0])
@pytest.mark.parametrize(
    "case", ["silent", "tangential", "huge", "strong_inhibition"]
)
def test_values_and_gradients_are_finite(case, ratio, dtype):
    p = event.LIFParams(tau_mem=jnp.asarray(ratio * 5e-3, dtype),
                        tau_syn=jnp.asarray(5e-3, dtype))
    w1 = event.lif_weight_scale(p)
    w = {"silent": [[0.3 * w1], [0.2 * w1]],
         "tangential": [[w1], [0.0]],  # the peak touches threshold exactly
         "huge": [[1e6 * w1], [1e6 * w1]],
         "strong_inhibition": [[-1e6 * w1], [3 * w1]]}[case]
    layer = event.LIF(2, 1, params=p, t_max=T_MAX, max_spikes=4,
                      weight=jnp.asarray(w, dtype), single_spike=True)
    s = snn.Spikes(jnp.asarray([1e-3, 1e-3], dtype), jnp.array([0, 1]))

    val, (gm, gs) = _value_and_grads(layer, s)
    leaves = jax.tree.leaves((val, eqx.filter(gm, eqx.is_inexact_array), gs.time))
    assert all(jnp.all(jnp.isfinite(x)) for x in leaves)
    assert all(x.dtype == dtype for x in jax.tree.leaves(eqx.filter(gm, eqx.is_array)))
    out = layer(s)
    assert out.time.dtype == dtype
    if case == "silent":
        assert int(out.count) == 0
        assert all(jnp.all(x == 0) for x in jax.tree.leaves(eqx.filter(gm, eqx.is_inexact_array)))
        assert jnp.all(gs.time == 0)
    if case == "huge":
        assert int(out.count) == 1 and 1e-3 <= float(out.time[0]) < 1e-3 + 1e-6


# one compiled program per module structure (the single calls of `jit / vmap` below too)
_run = eqx.filter_jit(lambda m, s: m(s))


def test_float32_matches_float64():
    rng = np.random.default_rng(0)
    w = rng.normal(1.0, 1.0, (5, 20)) * W1 / 2
    t = np.sort(rng.uniform(0, 0.02, 5))
    out64 = _run(lif(5, 20, jnp.asarray(w), max_spikes=200), spikes(t))
    out32 = _run(lif(5, 20, jnp.asarray(w, jnp.float32), max_spikes=200),
                 snn.Spikes(jnp.asarray(t, jnp.float32), jnp.arange(5)))
    assert out32.time.dtype == jnp.float32
    np.testing.assert_array_equal(np.asarray(out32.idx), np.asarray(out64.idx))
    real = np.isfinite(np.asarray(out64.time))
    np.testing.assert_allclose(np.asarray(out32.time)[real], np.asarray(out64.time)[real],
                               rtol=1e-4)


# ----------------------------------------------------------------------------- jit / vmap
def test_jit_and_vmap_agree_with_single_calls():
    rng = np.random.default_rng(1)
    net = snn.Sequential([
        event.LIF(4, 10, params=P, t_max=T_MAX, max_spikes=10, single_spike=True,
                  key=jax.random.PRNGKey(0)),
        event.LIF(10, 3, params=P, t_max=T_MAX, max_spikes=3, single_spike=True,
                  key=jax.random.PRNGKey(1), init_mean=4.0),
    ])
    times = jnp.asarray(rng.uniform(0, 0.01, (6, 4)))
    batch = snn.Spikes(times, jnp.broadcast_to(jnp.arange(4), (6, 4))).sort()
    out_b = eqx.filter_jit(lambda m, b: jax.vmap(m)(b))(net, batch)
    assert out_b.time.shape == (6, 3)
    for k in range(6):
        single = _run(net, batch[k])
        np.testing.assert_array_equal(np.asarray(out_b.idx[k]), np.asarray(single.idx))
        np.testing.assert_allclose(np.asarray(out_b.time[k]), np.asarray(single.time),
                                   rtol=1e-13)
    assert int(jnp.sum(out_b.count)) > 6


def test_tree_at_replaces_weights():
    net = snn.Sequential([lif(2, 3, jnp.zeros((2, 3)), single_spike=True),
                          lif(3, 1, jnp.zeros((3, 1)))])
    w = jnp.full((2, 3), 3 * W1)
    net2 = eqx.tree_at(lambda m: m.layers[0].weight, net, w)
    assert net2.layers[0].weight is w
    assert int(net2.layers[0](spikes([1e-3, 2e-3])).count) == 3


def test_unbatched_input_required():
    layer = lif(2, 3, jnp.zeros((2, 3)))
    batch = snn.Spikes(jnp.zeros((4, 2)), jnp.zeros((4, 2), jnp.int32))
    with pytest.raises(ValueError, match="vmap"):
        layer(batch)


# ----------------------------------------------------------------------------- params
@pytest.mark.parametrize(
    "kw, name",
    [(dict(tau_mem=-1e-2), "tau_mem"), (dict(tau_syn=0.0), "tau_syn"),
     (dict(v_th=0.0, v_leak=0.5), "v_th"), (dict(v_reset=1.5), "v_reset"),
     (dict(t_refrac=-1e-3), "t_refrac")],
)
def test_bad_params_raise_naming_the_argument(kw, name):
    with pytest.raises(ValueError, match=name):
        event.LIFParams(**kw)


def test_layer_argument_errors():
    with pytest.raises(ValueError, match="key"):
        event.LIF(2, 3, params=P, t_max=T_MAX, max_spikes=4)
    with pytest.raises(ValueError, match="`weight` must have shape"):
        lif(2, 3, jnp.zeros((3, 2)))
    with pytest.raises(ValueError, match="max_spikes"):
        lif(2, 3, jnp.zeros((2, 3)), max_spikes=0)


def test_default_init_makes_neurons_fire():
    layer = event.LIF(5, 200, params=P, t_max=T_MAX, max_spikes=200, single_spike=True,
                      key=jax.random.PRNGKey(0))
    out = _run(layer, spikes(jnp.linspace(0.0, 0.01, 5)))
    assert 100 < int(out.count) <= 200


# ----------------------------------------------------------------------------- user neuron
class PerfectIF(event.EventNeuron):
    """Non-leaky integrate-and-fire with a constant current between inputs: dV/dt = I,
    an input of weight w raises I by w; spike at V = v_th, then V = 0 (no refractoriness)."""

    v_th: float | jax.Array = 1.0

    def init_state(self, n, dtype):
        return (jnp.zeros((n,), dtype), jnp.zeros((n,), dtype))

    def next_threshold_crossing(self, state, t_max):
        v, i = state
        pos = i > 0
        dt = (self.v_th - v) / jnp.where(pos, i, 1.0)
        return jnp.where(pos & (dt <= t_max), dt, jnp.inf)

    def integrate(self, state, dt):
        v, i = state
        return (v + i * dt, i)

    def transition(self, state, spike):
        v, i = state
        return (jnp.where(spike.fired, 0.0, v), i + spike.weight)


def perfect_if_reference(w, t_in, i_in, v_th, t_max):
    """Closed-form reference for one PerfectIF population (feed-forward)."""
    out = []
    for j in range(w.shape[1]):
        v, cur, t = 0.0, 0.0, 0.0
        for tk, ik in list(zip(t_in, i_in, strict=True)) + [(t_max, None)]:
            while cur > 0 and t + (v_th - v) / cur <= tk:
                t = t + (v_th - v) / cur
                v = 0.0
                out.append((t, j))
            v += cur * (tk - t)
            t = tk
            if ik is not None:
                cur += w[ik, j]
    out.sort()
    return np.array([o[0] for o in out]), np.array([o[1] for o in out])


def test_user_defined_neuron_runs_in_kernel_and_containers():
    rng = np.random.default_rng(2)
    w = rng.uniform(0, 100, (3, 4))
    t_in, i_in = np.array([1e-3, 5e-3, 5e-3, 9e-3]), np.array([0, 1, 2, 0])
    layer = event.EventLayer(PerfectIF(v_th=jnp.asarray(1.0)), jnp.asarray(w), t_max=T_MAX,
                             max_spikes=64)
    out = _run(layer, spikes(t_in, i_in))
    rt, ri = perfect_if_reference(w, t_in, i_in, 1.0, T_MAX)
    real = np.isfinite(np.asarray(out.time))
    assert real.sum() == len(rt) > 4
    np.testing.assert_array_equal(np.asarray(out.idx)[real], ri)
    np.testing.assert_allclose(np.asarray(out.time)[real], rt, rtol=1e-12)

    # in a Sequential with a LIF layer, batched, and differentiated (vs finite differences)
    net = snn.Sequential([layer, lif(4, 2, jnp.full((4, 2), 0.5 * W1), max_spikes=64)])
    batch = jax.tree.map(lambda a: jnp.stack([a, a]), spikes(t_in, i_in))
    assert eqx.filter_jit(lambda m, b: jax.vmap(m)(b))(net, batch).time.shape == (2, 64)

    @eqx.filter_jit
    def loss(m):
        return finite_sum(m(spikes(t_in, i_in)))

    g = eqx.filter_jit(eqx.filter_grad(loss))(net)
    h = 1e-6
    for ix in [(0, 0), (1, 2), (2, 3)]:
        wp = eqx.tree_at(lambda m: m.layers[0].weight, net, net.layers[0].weight.at[ix].add(h))
        wm = eqx.tree_at(lambda m: m.layers[0].weight, net, net.layers[0].weight.at[ix].add(-h))
        fd = (loss(wp) - loss(wm)) / (2 * h)
        np.testing.assert_allclose(g.layers[0].weight[ix], fd, rtol=1e-5, atol=1e-12)

    # recurrent, through the shared container
    rec = snn.Recurrent(layer, jnp.full((4, 4), -5.0))
    assert int(_run(rec, spikes(t_in, i_in)).count) < len(rt)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_merge_sort_order_is_a_stable_argsort(dtype):
    # the rank-counting sort that merges per-neuron spikes: equal to numpy's stable argsort,
    # with ties, +-0.0 (equal), +-inf and negative values, for every length it is used at
    from jaxsnn_eqx.event.merge import RANK_SORT_MAX, sort_order

    rng = np.random.default_rng(0)
    pool = np.array([-np.inf, -3.5, -1.0, -0.0, 0.0, 1e-30, 2.0, np.nextafter(dtype(2), 3),
                     7.0, np.inf], dtype)
    sort = jax.jit(sort_order)
    for n in (1, 2, 3, 17, 64, RANK_SORT_MAX):
        for _ in range(5):
            v = rng.choice(pool, n)
            v = np.where(rng.uniform(size=n) < 0.3, rng.normal(size=n), v).astype(dtype)
            np.testing.assert_array_equal(np.asarray(sort(jnp.asarray(v))),
                                          np.argsort(v, kind="stable"))
