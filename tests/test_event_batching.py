"""A vmapped event loop runs sample by sample (`event.loop.LOOP_BATCHING`, ``"map"``) or by
JAX's while-loop batching (``"vmap"``): the same spikes and gradients up to float rounding
(XLA's vectorised and scalar code for exp/log may differ in the last bit), nested vmaps (batch
x per-neuron lanes) included; each sample under ``"map"`` is bit for bit its own unbatched run;
``"auto"`` picks by loop length and backend."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsnn_eqx import event
from jaxsnn_eqx.event import loop
from jaxsnn_eqx.spikes import Spikes


@pytest.fixture
def batching():
    """Set `LOOP_BATCHING` for a test; restored afterwards."""
    old = loop.LOOP_BATCHING
    yield lambda mode: setattr(loop, "LOOP_BATCHING", mode)
    loop.LOOP_BATCHING = old


def _inputs(batch=5, n_in=8, k=20):
    t = jnp.sort(jax.random.uniform(jax.random.PRNGKey(0), (batch, k), maxval=0.04), axis=-1)
    idx = jax.random.randint(jax.random.PRNGKey(1), (batch, k), 0, n_in)
    # one sample with fewer inputs (padding: inf / -1), so the samples stop at different times
    t = t.at[0, 12:].set(jnp.inf)
    idx = idx.at[0, 12:].set(-1)
    return Spikes(t, idx)


def _models(n_in=8, n=6):
    p = event.LIFParams(t_refrac=1e-3)
    w = 0.03 * jax.random.uniform(jax.random.PRNGKey(3), (n_in, n))
    w_rec = 0.01 * jax.random.normal(jax.random.PRNGKey(4), (n, n))
    kw = dict(params=p, t_max=0.05, single_spike=False)
    return {
        # per-neuron lanes (a vmap inside the batch's vmap), autodiff backward (recorded loop)
        "lanes, autodiff": event.LIF(n_in, n, max_spikes=400, max_spikes_per_neuron=100,
                                     method="kernel", weight=w, **kw),
        # one loop for the population, EventProp backward
        "recurrent, EventProp": event.RecurrentEventPropLIF(
            n_in, n, max_spikes=400, weight_in=w, weight_rec=w_rec, method="kernel", **kw),
        # one loop for the population, autodiff backward
        "recurrent, autodiff": _Recurrent(w, w_rec),
    }


class _Recurrent(eqx.Module):
    """A recurrent LIF population through `event.simulate` with the default (autodiff)
    backward pass, which replays the recorded loop."""

    weight: jax.Array
    weight_rec: jax.Array

    def __call__(self, x):
        neuron = event.LIFNeuron(event.LIFParams(t_refrac=1e-3))
        return event.simulate(neuron, self.weight, x, t_max=0.05, max_spikes=400,
                              weight_rec=self.weight_rec)


def _value_and_grad(model, x):
    def loss(m, x):
        out = jax.vmap(m)(x)
        return jnp.sum(jnp.where(jnp.isfinite(out.time), out.time ** 2, 0.0)), out

    return eqx.filter_jit(eqx.filter_value_and_grad(loss, has_aux=True))(model, x)


@pytest.mark.parametrize("name", ["lanes, autodiff", "recurrent, EventProp",
                                  "recurrent, autodiff"])
def test_map_and_vmap_give_the_same_spikes_and_gradients(name, batching):
    model, x = _models()[name], _inputs()
    got = {}
    for mode in ("vmap", "map"):
        batching(mode)
        (_, out), grads = _value_and_grad(model, x)
        got[mode] = (out, eqx.filter(grads, eqx.is_inexact_array))
    (out_v, g_v), (out_m, g_m) = got["vmap"], got["map"]
    counts = np.sum(np.isfinite(np.asarray(out_v.time)), axis=1)
    assert counts.min() > 3 and len(set(counts.tolist())) > 1  # spiking, unequal samples
    np.testing.assert_array_equal(out_m.idx, out_v.idx)
    np.testing.assert_allclose(out_m.time, out_v.time, rtol=1e-14, atol=0)
    for a, b in zip(jax.tree.leaves(g_m), jax.tree.leaves(g_v), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-14 * np.max(np.abs(b)))
    assert any(np.any(np.asarray(a) != 0) for a in jax.tree.leaves(g_m))


def test_map_equals_one_sample_at_a_time(batching):
    """Sample by sample under vmap is each sample's own unbatched run, bit for bit."""
    batching("map")
    model, x = _models()["recurrent, EventProp"], _inputs()
    batched = eqx.filter_jit(lambda m, x: jax.vmap(m)(x))(model, x)
    for b in range(x.time.shape[0]):
        one = eqx.filter_jit(model)(Spikes(x.time[b], x.idx[b]))
        np.testing.assert_array_equal(batched.time[b], one.time)
        np.testing.assert_array_equal(batched.idx[b], one.idx)


def test_overflow_is_still_an_error_under_map(batching):
    batching("map")
    p = event.LIFParams()
    w = 0.05 * jnp.ones((8, 6))
    model = event.RecurrentEventPropLIF(8, 6, params=p, t_max=0.05, max_spikes=3, weight_in=w,
                                        weight_rec=jnp.zeros((6, 6)), single_spike=False,
                                        method="kernel")
    with pytest.raises(Exception, match="max_spikes=3"):
        jax.block_until_ready(eqx.filter_jit(lambda m, x: jax.vmap(m)(x))(model, _inputs()))


def test_auto_picks_map_for_long_population_loops_on_cpu(batching):
    batching("auto")
    on_cpu = jax.default_backend() == "cpu"
    long_loop = loop.MAP_MIN_STEPS
    assert loop.loop_batching(long_loop, 128) == ("map" if on_cpu else "vmap")
    assert loop.loop_batching(long_loop - 1, 128) == "vmap"  # short loop
    assert loop.loop_batching(10 * long_loop, 1) == "vmap"  # one-neuron lanes
    batching("vmap")
    assert loop.loop_batching(10 * long_loop, 128) == "vmap"
    batching("sequential")
    with pytest.raises(ValueError, match="LOOP_BATCHING"):
        loop.loop_batching(10, 10)


@pytest.mark.slow  # 16 s: compiles every case twice
def test_benchmark_script_runs(tmp_path):
    """``benchmarks/event_batching.py --quick`` prints its table; both modes agree on the loss."""
    import json
    import os
    import pathlib
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parents[1]
    out = tmp_path / "rows.json"
    proc = subprocess.run(
        [sys.executable, "benchmarks/event_batching.py", "--quick", "--repeat", "1", "--json",
         str(out)], cwd=root, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, JAX_ENABLE_X64="0"))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    rows = json.loads(out.read_text())
    assert len(rows) == 3 and all(r["vmap"] > 0 and r["map"] > 0 for r in rows)
    assert [r["auto"] for r in rows[1:]] == ["vmap", "vmap"]  # short loop; one-neuron lanes
    assert all(np.isclose(r["loss_vmap"], r["loss_map"], rtol=1e-6) for r in rows)
