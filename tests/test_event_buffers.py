"""Feed-forward layers size their per-neuron buffers by what fires (`event.feedforward`): with
``max_spikes_per_neuron=None`` the lanes first run with small buffers and grow only if a neuron
of the batch fills them. The spikes and gradients are bit for bit those of the layer with the
whole budget per neuron (``max_spikes_per_neuron=max_spikes``), whether the first rung is kept
or a larger one (autodiff replay, EventProp, delays); an overflow of the budget still raises.
float64 (conftest)."""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsnn_eqx import event
from jaxsnn_eqx.event.feedforward import lane_sizes
from jaxsnn_eqx.spikes import Spikes

N_IN, N, T_MAX, MAX_SPIKES = 6, 10, 0.1, 200  # rungs: 40 and 200 spikes per neuron


def _inputs(batch=3, k=120, seed=0):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, T_MAX, (batch, k)), axis=1)
    i = rng.integers(0, N_IN, (batch, k))
    return Spikes(jnp.asarray(t), jnp.asarray(i, jnp.int32))


def _layer(drive, cls=event.LIF, **kw):
    """A multi-spike layer; neuron 0 gets ``drive`` times the others' weights."""
    p = event.LIFParams(tau_mem=1e-2, tau_syn=5e-3, t_refrac=1e-3)
    w = np.random.default_rng(1).uniform(0.2, 1.0, (N_IN, N)) * 0.1 * event.lif_weight_scale(p)
    w[:, 0] *= drive
    return cls(N_IN, N, params=p, t_max=T_MAX, max_spikes=MAX_SPIKES, weight=jnp.asarray(w),
               **kw)


def _loss(m, x):
    out = jax.vmap(m)(x)
    return jnp.sum(jnp.where(jnp.isfinite(out.time), out.time ** 2, 0.0)), out


# module level: the "first rung" and "grown" cases differ only in weight values, so they share
# one compiled program per layer structure
_value_and_grad = eqx.filter_jit(eqx.filter_value_and_grad(_loss, has_aux=True))


def _run(layer, x):
    (_, out), grads = _value_and_grad(layer, x)
    return out, eqx.filter(grads, eqx.is_inexact_array)


def _assert_identical(a, b):
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


def test_rungs():
    assert lane_sizes(MAX_SPIKES, N, MAX_SPIKES, grow=True) == (40, MAX_SPIKES)
    assert lane_sizes(480, 30, 480, grow=True) == (32, 480)
    assert lane_sizes(480, 30, 16, grow=False) == (16,)
    assert lane_sizes(64, 4, 64, grow=True) == (64,)  # no rung worth it below the budget


@pytest.mark.parametrize("drive", [1.0, 12.0], ids=["first rung", "grown"])
@pytest.mark.parametrize("kind", ["autodiff", "eventprop", "eventprop delays"])
def test_growing_buffers_equal_the_full_buffer(drive, kind):
    kw = {}
    cls = event.EventPropLIF if kind.startswith("eventprop") else event.LIF
    if kind.endswith("delays"):
        kw["delay"] = jnp.asarray(np.random.default_rng(2).uniform(0, 5e-3, (N_IN, N)))
    x = _inputs()
    grow = _layer(drive, cls, **kw)
    full = dataclasses.replace(grow, max_spikes_per_neuron=MAX_SPIKES)
    out_g, g_g = _run(grow, x)
    out_f, g_f = _run(full, x)
    per_neuron = jax.vmap(lambda o: jnp.bincount(jnp.where(o.idx >= 0, o.idx, N), length=N + 1))(
        out_f)[:, :N]
    most = int(per_neuron.max())
    assert (most > 40) == (drive > 1.0), most  # the case: kept the first rung, or grew
    assert int(per_neuron.sum(1).min()) > N  # every sample spikes
    _assert_identical(out_g, out_f)
    _assert_identical(g_g, g_f)
    assert any(np.any(np.asarray(g) != 0) for g in jax.tree.leaves(g_g))


def test_overflow_of_the_budget_still_raises():
    layer = dataclasses.replace(_layer(12.0), max_spikes=60)
    with pytest.raises(Exception, match="max_spikes"):
        jax.block_until_ready(eqx.filter_jit(lambda m, x: jax.vmap(m)(x))(layer, _inputs()))
