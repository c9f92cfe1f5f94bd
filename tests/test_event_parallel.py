"""The all-at-once solution of single-spike feed-forward LIF layers (`lif.first_spike_times`)
against the event loop (`method="kernel"`), which is itself checked against a scipy reference
(`test_event_reference.py`) and finite differences (`test_event_gradients.py`)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_event_reference import lif_params, lif_population

import jaxsnn_eqx as snn
from jaxsnn_eqx import event
from jaxsnn_eqx.event.lif import first_spike_times

T_MAX = 0.03


def _inputs(rng, n_in, k, pad=2):
    """Sorted input spikes with two exactly equal times, one after t_max, and padding."""
    t = np.sort(rng.uniform(0.0, 0.8 * T_MAX, k))
    t[3] = t[2]  # simultaneous inputs
    t[-1] = T_MAX * 1.1  # after t_max: ignored
    idx = rng.integers(0, n_in, k)
    return snn.Spikes(jnp.concatenate([jnp.asarray(t), jnp.full((pad,), jnp.inf)]),
                      jnp.concatenate([jnp.asarray(idx), jnp.full((pad,), -1)]))


def _first_times(params, w, s, method):
    neuron = event.LIFNeuron(params, single_spike=True)
    out = event.simulate(neuron, w, s, t_max=T_MAX, max_spikes=w.shape[1], method=method)
    return out.first_times(w.shape[1])


def _loss(diff, s_idx, method, coef):
    params, w, t_in = diff
    t = _first_times(params, w, snn.Spikes(t_in, s_idx), method)
    return jnp.sum(coef * jnp.where(jnp.isfinite(t), t, 0.0)) / T_MAX


_first_times_jit = jax.jit(_first_times, static_argnums=3)
_grad_jit = jax.jit(jax.grad(_loss), static_argnums=2)


@pytest.mark.parametrize("per_neuron", [False, True])
@pytest.mark.parametrize("ratio", [0.5, 1.0, 1.7, 2.0, 3.0])
def test_parallel_equals_event_loop_times_and_gradients(ratio, per_neuron):
    rng = np.random.default_rng(int(ratio * 10) + per_neuron)
    n_in, n = 6, 40
    _, p = lif_params(ratio, arrays=True)
    if per_neuron:  # every parameter an (n,) array
        p = jax.tree.map(lambda x: x * (1 + 0.1 * jnp.asarray(rng.uniform(-1, 1, n))), p)
    w = jnp.asarray(rng.normal(0.1, 0.8, (n_in, n))) * event.lif_weight_scale(p)
    s = _inputs(rng, n_in, 37)
    t_k = _first_times_jit(p, w, s, "kernel")
    t_p = _first_times_jit(p, w, s, "parallel")
    fired = np.isfinite(np.asarray(t_k))
    assert 5 < fired.sum() < n  # some neurons fire, some stay silent
    np.testing.assert_array_equal(np.isfinite(np.asarray(t_p)), fired)
    np.testing.assert_allclose(np.asarray(t_p)[fired], np.asarray(t_k)[fired],
                               rtol=0, atol=1e-13 * T_MAX)

    coef = jnp.asarray(rng.normal(size=n))
    diff = (eqx.filter(p, eqx.is_inexact_array), w, s.time)
    g_k = _grad_jit(diff, s.idx, "kernel", coef)
    g_p = _grad_jit(diff, s.idx, "parallel", coef)
    names = ("tau_mem", "tau_syn", "v_th", "v_leak")
    pairs = [(getattr(g_k[0], k), getattr(g_p[0], k), k) for k in names]
    pairs += [(g_k[1], g_p[1], "weight"), (g_k[2], g_p[2], "input times")]
    for a, b, name in pairs:
        a, b = np.asarray(a), np.asarray(b)
        assert np.all(np.isfinite(b)), name
        assert np.linalg.norm(a) > 0, name
        assert np.linalg.norm(a - b) <= 1e-10 * np.linalg.norm(a), name
    # single-spike mode ignores the reset and refractory parameters
    for name in ("v_reset", "t_refrac"):
        assert not np.any(np.asarray(getattr(g_p[0], name)))


@jax.jit
def _scans_loss(diff, s_idx, coef):
    """Weighted first-spike times with the sequential and with the associative scan."""
    params, w, t_in = diff
    s = snn.Spikes(t_in, s_idx)
    out = []
    for assoc in (False, True):
        t = first_spike_times(params, w, s, T_MAX, associative=assoc)
        out.append(jnp.sum(coef * jnp.where(jnp.isfinite(t), t, 0.0)) / T_MAX)
    return out


@pytest.mark.parametrize("ratio", [0.5, 1.0, 1.7, 2.0, 3.0])
def test_associative_and_sequential_scans_agree(ratio):
    # the all-at-once path composes the per-input flows sequentially on CPU and with an
    # associative scan on accelerators: both must give the same spike times and gradients
    rng = np.random.default_rng(int(ratio * 10) + 7)
    n_in, n = 6, 40
    _, p = lif_params(ratio, arrays=True)
    w = jnp.asarray(rng.normal(0.1, 0.8, (n_in, n))) * event.lif_weight_scale(p)
    s = _inputs(rng, n_in, 37)
    seq, assoc = (np.asarray(jax.jit(lambda p, w, s, a=a: first_spike_times(
        p, w, s, T_MAX, associative=a))(p, w, s)) for a in (False, True))
    fired = np.isfinite(seq)
    assert 5 < fired.sum() < n
    np.testing.assert_array_equal(np.isfinite(assoc), fired)
    np.testing.assert_allclose(assoc[fired], seq[fired], rtol=0, atol=1e-13 * T_MAX)
    coef = jnp.asarray(rng.normal(size=n))
    diff = (eqx.filter(p, eqx.is_inexact_array), w, s.time)
    g_seq, g_assoc = (jax.grad(lambda d, k=k: _scans_loss(d, s.idx, coef)[k])(diff)
                      for k in (0, 1))
    assert np.linalg.norm(g_seq[1]) > 0  # weights
    for a, b in zip(jax.tree.leaves(g_seq), jax.tree.leaves(g_assoc), strict=True):
        a, b = np.asarray(a), np.asarray(b)
        assert np.linalg.norm(a - b) <= 1e-10 * np.linalg.norm(a)


@pytest.mark.parametrize("ratio", [0.5, 1.7])
def test_parallel_matches_scipy_reference(ratio):
    rng = np.random.default_rng(7)
    prm, p = lif_params(ratio)
    n_in, n = 5, 25
    s = _inputs(rng, n_in, 12)
    w = rng.normal(0.6, 0.7, (n_in, n)) * event.lif_weight_scale(p)
    layer = event.LIF(n_in, n, params=p, t_max=T_MAX, max_spikes=n, weight=w, single_spike=True,
                      method="parallel")
    out = eqx.filter_jit(layer)(s)
    rt, ri = lif_population(prm, w, np.asarray(s.time), np.asarray(s.idx), T_MAX,
                            single_spike=True)
    assert 5 < len(rt) < n
    k = len(rt)
    np.testing.assert_array_equal(np.asarray(out.idx[:k]), ri)
    np.testing.assert_allclose(np.asarray(out.time[:k]), rt, rtol=0, atol=1e-9 * T_MAX)
    assert np.all(np.isinf(np.asarray(out.time[k:])))


def test_spike_tied_with_an_input_comes_first():
    # one input reaches threshold exactly at its peak time; a second input arrives then
    p = event.LIFParams(tau_mem=1e-2, tau_syn=5e-3)
    w1 = event.lif_weight_scale(p) * 1.5
    t_cross = float(_first_times_jit(p, jnp.asarray([[w1]]),
                                     snn.Spikes(jnp.asarray([1e-3]), jnp.asarray([0])),
                                     "kernel")[0])
    w = jnp.asarray([[w1], [-5 * w1]])
    s = snn.Spikes(jnp.asarray([1e-3, t_cross]), jnp.asarray([0, 1]))
    for method in ("kernel", "parallel"):
        assert float(_first_times_jit(p, w, s, method)[0]) == pytest.approx(t_cross, abs=1e-15)


def test_overflow_raises_and_exact_fit_does_not():
    p = event.LIFParams()
    w = jnp.full((1, 4), 3 * event.lif_weight_scale(p))
    s = snn.Spikes(jnp.asarray([1e-3]), jnp.asarray([0]))
    layer = event.LIF(1, 4, params=p, t_max=T_MAX, max_spikes=3, weight=w, single_spike=True)
    with pytest.raises(Exception, match="max_spikes"):
        jax.block_until_ready(layer(s).time)
    layer = event.LIF(1, 4, params=p, t_max=T_MAX, max_spikes=4, weight=w, single_spike=True)
    assert int(layer(s).count) == 4


def test_method_selection_and_errors():
    p = event.LIFParams()
    layer = event.LIF(2, 3, params=p, t_max=T_MAX, max_spikes=3, key=jax.random.PRNGKey(0))
    s = snn.Spikes(jnp.asarray([1e-3, 2e-3]), jnp.asarray([0, 1]))
    with pytest.raises(ValueError, match="single-spike"):
        event.simulate(layer.neuron, layer.weight, s, t_max=T_MAX, max_spikes=3,
                       method="parallel")
    with pytest.raises(ValueError, match="method"):
        event.LIF(2, 3, params=p, t_max=T_MAX, max_spikes=3, key=jax.random.PRNGKey(0),
                  method="fast")
    single = event.LIF(2, 3, params=p, t_max=T_MAX, max_spikes=3, weight=layer.weight,
                       single_spike=True)
    with pytest.raises(ValueError, match="weight_rec"):
        event.simulate(single.neuron, single.weight, s, t_max=T_MAX, max_spikes=3,
                       weight_rec=jnp.zeros((3, 3)), method="parallel")
    # a recurrent single-spike population runs the event loop under "auto"
    out = snn.Recurrent(single, jnp.zeros((3, 3)))(s)
    np.testing.assert_allclose(np.asarray(out.time), np.asarray(single(s).time), rtol=1e-15)


def test_eventprop_layers_use_the_parallel_forward():
    rng = np.random.default_rng(2)
    _, p = lif_params(2.0, arrays=True)
    w = jnp.asarray(rng.normal(1.0, 1.0, (5, 12))) * event.lif_weight_scale(p)
    s = _inputs(rng, 5, 10)
    lif = event.LIF(5, 12, params=p, t_max=T_MAX, max_spikes=12, weight=w, single_spike=True)
    ep = event.EventPropLIF.from_lif(lif)
    ep_loop = event.EventPropLIF(5, 12, params=p, t_max=T_MAX, max_spikes=12, weight=w,
                                 single_spike=True, method="kernel")
    assert isinstance(ep, event.LIF) and ep.backward is not None

    def loss(m):
        t = m(s).first_times(12)
        return jnp.sum(jnp.arange(12.0) * jnp.where(jnp.isfinite(t), t, 0.0))

    grad = eqx.filter_jit(eqx.filter_grad(loss))
    fwd = eqx.filter_jit(lambda m: m(s).time)
    g_lif = grad(lif).weight
    for m in (ep, ep_loop):
        np.testing.assert_allclose(np.asarray(fwd(m)), np.asarray(fwd(lif)), atol=1e-15)
        g = grad(m).weight
        assert np.linalg.norm(g - g_lif) <= 1e-10 * np.linalg.norm(g_lif)
