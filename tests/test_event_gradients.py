"""Exact gradients of spike times (IFT) against central finite differences in float64."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_event_reference import T_MAX, lif_params, random_inputs

import jaxsnn_eqx as snn
from jaxsnn_eqx import event

PARAM_NAMES = ("tau_mem", "tau_syn", "v_th", "v_reset", "v_leak", "t_refrac")


def _loss(model, s, coef):
    out = model(s)
    t = jnp.where(jnp.isfinite(out.time), out.time, 0.0)
    return jnp.sum(coef[: t.shape[0]] * t) / T_MAX


# module level: compiled once per model structure, shared by the parametrised tests
_loss_jit = eqx.filter_jit(_loss)
_grad_jit = eqx.filter_jit(eqx.filter_grad(_loss))
_count_jit = eqx.filter_jit(lambda model, s: model(s).count)


def _check_fd(coef, model, s, getters, h_rel=1e-6, rtol=1e-5):
    """Compare eqx.filter_grad with central differences for every entry of each getter."""
    g = _grad_jit(model, s, coef)
    n0 = int(_count_jit(model, s))
    checked = 0
    for get in getters:
        x0 = get(model)
        ga = np.asarray(get(g))
        fd = np.zeros(x0.shape)
        for ix in np.ndindex(x0.shape):
            h = h_rel * max(abs(float(x0[ix])), 1e-3 * T_MAX if x0.ndim == 0 else 1e-3)
            mp = eqx.tree_at(get, model, x0.at[ix].add(h))
            mm = eqx.tree_at(get, model, x0.at[ix].add(-h))
            # spike counts must not change under the perturbation
            assert int(_count_jit(mp, s)) == n0 == int(_count_jit(mm, s))
            fd[ix] = (float(_loss_jit(mp, s, coef)) - float(_loss_jit(mm, s, coef))) / (2 * h)
        err = np.linalg.norm(ga - fd) / max(np.linalg.norm(fd), 1e-300)
        assert err < rtol, (get, err, ga, fd)
        assert np.linalg.norm(fd) > 0
        checked += 1
    return checked


@pytest.mark.parametrize("ratio", [1.0, 1.7, 2.0])
def test_feedforward_gradients_match_finite_differences(ratio):
    rng = np.random.default_rng(5)
    _, p = lif_params(ratio)
    t_in, i_in = random_inputs(rng, 4, 9)
    w1 = rng.normal(0.5, 0.5, (4, 5)) * event.lif_weight_scale(p)
    w2 = rng.normal(0.8, 0.6, (5, 3)) * event.lif_weight_scale(p)
    p2 = event.LIFParams(tau_mem=p.tau_mem * 1.1, tau_syn=p.tau_syn * 0.9, v_th=p.v_th,
                         v_reset=p.v_reset, v_leak=p.v_leak, t_refrac=p.t_refrac)
    net = snn.Sequential([
        event.LIF(4, 5, params=p, t_max=T_MAX, max_spikes=40, weight=w1),
        event.LIF(5, 3, params=p2, t_max=T_MAX, max_spikes=40, weight=w2),
    ])
    s = snn.Spikes.from_arrays(t_in, i_in)
    assert int(_count_jit(net, s)) >= 4
    coef = jnp.asarray(rng.normal(size=40))
    getters = [lambda m: m.layers[0].weight, lambda m: m.layers[1].weight]
    getters += [lambda m, k=k, i=i: getattr(m.layers[i].params, k)
                for i in (0, 1) for k in PARAM_NAMES]
    assert _check_fd(coef, net, s, getters) == len(getters)


@pytest.mark.parametrize("ratio", [1.7, 2.0])
def test_recurrent_gradients_match_finite_differences(ratio):
    rng = np.random.default_rng(8)
    _, p = lif_params(ratio)
    t_in, i_in = random_inputs(rng, 4, 8)
    w = rng.normal(0.5, 0.5, (4, 6)) * event.lif_weight_scale(p)
    w_rec = rng.normal(0.0, 0.5, (6, 6)) * event.lif_weight_scale(p)
    net = snn.Recurrent(event.LIF(4, 6, params=p, t_max=T_MAX, max_spikes=64, weight=w), w_rec)
    s = snn.Spikes.from_arrays(t_in, i_in)
    assert int(_count_jit(net, s)) > 6
    coef = jnp.asarray(rng.normal(size=64))
    getters = [lambda m: m.layer.weight, lambda m: m.weight_rec]
    getters += [lambda m, k=k: getattr(m.layer.params, k) for k in PARAM_NAMES]
    assert _check_fd(coef, net, s, getters) == len(getters)


def test_input_time_gradients_match_finite_differences():
    rng = np.random.default_rng(9)
    _, p = lif_params(1.7)
    t_in = np.sort(rng.uniform(0, 0.02, 6))
    i_in = rng.integers(0, 3, 6)
    w = rng.normal(0.6, 0.5, (3, 4)) * event.lif_weight_scale(p)
    layer = event.LIF(3, 4, params=p, t_max=T_MAX, max_spikes=40, weight=w)
    coef = jnp.asarray(rng.normal(size=40))

    def loss(t):
        out = layer(snn.Spikes(t, jnp.asarray(i_in)))
        return jnp.sum(coef * jnp.where(jnp.isfinite(out.time), out.time, 0.0)) / T_MAX

    t0 = jnp.asarray(t_in)
    g = jax.jit(jax.grad(loss))(t0)
    lf = jax.jit(loss)
    h = 1e-9
    fd = np.array([(lf(t0.at[k].add(h)) - lf(t0.at[k].add(-h))) / (2 * h) for k in range(6)])
    assert np.linalg.norm(fd) > 0
    assert np.linalg.norm(np.asarray(g) - fd) / np.linalg.norm(fd) < 1e-5


def test_single_spike_gradients_match_finite_differences():
    rng = np.random.default_rng(4)
    _, p = lif_params(2.0)
    t_in = np.sort(rng.uniform(0, 0.01, 5))
    w1 = rng.normal(2.0, 1.0, (5, 8)) * event.lif_weight_scale(p) / 5
    w2 = rng.normal(4.0, 2.0, (8, 3)) * event.lif_weight_scale(p) / 8
    net = snn.Sequential([
        event.LIF(5, 8, params=p, t_max=T_MAX, max_spikes=8, weight=w1, single_spike=True),
        event.LIF(8, 3, params=p, t_max=T_MAX, max_spikes=3, weight=w2, single_spike=True),
    ])
    s = snn.Spikes.from_arrays(t_in, np.arange(5))
    assert int(_count_jit(net, s)) == 3
    coef = jnp.asarray([1.0, -2.0, 0.5])
    getters = [lambda m: m.layers[0].weight, lambda m: m.layers[1].weight,
               lambda m: m.layers[0].params.tau_mem, lambda m: m.layers[1].params.tau_syn]
    assert _check_fd(coef, net, s, getters) == len(getters)
