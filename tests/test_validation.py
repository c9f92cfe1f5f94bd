"""Every misuse fails loudly: bad input spikes (eager, jit, vmap), bad constructor arguments,
containers, discrete inputs, the debug switch for non-finite parameters."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsnn_eqx as snn
from jaxsnn_eqx import Spikes, checks, data, discrete, event, hardware

KEY = jax.random.PRNGKey(0)
INF = jnp.inf
GOOD = (jnp.array([0.0, 1e-3, 2e-3, INF]), jnp.array([0, 1, 2, -1]))

# name -> (time, idx, what the message says)
BAD = {
    "nan": ([0.0, np.nan, 2e-3, INF], [0, 1, 2, -1], "NaN time"),
    "negative": ([-1e-3, 1e-3, 2e-3, INF], [0, 1, 2, -1], "negative time"),
    "minus_inf": ([-INF, 1e-3, 2e-3, INF], [0, 1, 2, -1], "negative time"),
    "index_too_big": ([0.0, 1e-3, 2e-3, INF], [0, 1, 3, -1], "index out of range"),
    "index_negative": ([0.0, 1e-3, 2e-3, INF], [0, -2, 1, -1], "index out of range"),
    "inf_with_index": ([0.0, 1e-3, 2e-3, INF], [0, 1, 2, 0], "inconsistent padding"),
    "time_with_minus_one": ([0.0, 1e-3, 2e-3, 3e-3], [0, 1, 2, -1], "inconsistent padding"),
    "unsorted": ([2e-3, 1e-3, 3e-3, INF], [0, 1, 2, -1], "unsorted times"),
    "padding_first": ([INF, 1e-3, 2e-3, 3e-3], [-1, 0, 1, 2], "unsorted times"),
}


def _layers():
    p = event.LIFParams(tau_mem=1e-2, tau_syn=5e-3)
    mask = jnp.zeros((6, 6), bool).at[:4, 4:].set(True)
    mask_in = jnp.zeros((3, 6), bool).at[:, :4].set(True)
    return {
        "LIF": event.LIF(3, 4, params=p, t_max=0.05, max_spikes=40, key=KEY),
        "LIF-parallel": event.LIF(3, 4, params=p, t_max=0.05, max_spikes=4, key=KEY,
                                  single_spike=True),
        "EventPropLIF": event.EventPropLIF(3, 4, params=p, t_max=0.05, max_spikes=40, key=KEY),
        "RecurrentEventPropLIF": event.RecurrentEventPropLIF(3, 4, params=p, t_max=0.05,
                                                             max_spikes=40, key=KEY),
        "HardwareRecurrentLIF": event.HardwareRecurrentLIF(
            3, 6, params=p, t_max=0.05, max_spikes=6, key=KEY, mask=mask, mask_in=mask_in,
            single_spike=True, backend=hardware.JaxSimulation()),
        "Sequential": snn.Sequential([event.LIF(3, 4, params=p, t_max=0.05, max_spikes=40,
                                                key=KEY)]),
    }


LAYERS = _layers()


@pytest.mark.parametrize("layer", LAYERS, ids=str)
def test_good_input_runs(layer):
    out = LAYERS[layer](Spikes(*GOOD))
    assert isinstance(out, Spikes)


@pytest.mark.parametrize("case", BAD, ids=str)
@pytest.mark.parametrize("layer", ["LIF", "LIF-parallel", "EventPropLIF",
                                   "RecurrentEventPropLIF", "HardwareRecurrentLIF"])
def test_bad_spikes_raise_eagerly_with_values(layer, case):
    t, i, what = BAD[case]
    with pytest.raises(ValueError, match=what) as info:
        LAYERS[layer](Spikes(jnp.array(t), jnp.array(i)))
    msg = str(info.value)
    assert layer.split("-")[0] in msg  # names the layer
    assert "position" in msg and "expected" in msg  # where, and what is expected


@pytest.mark.parametrize("case", BAD, ids=str)
def test_bad_spikes_raise_under_jit_vmap_and_grad(case):
    t, i, what = BAD[case]
    bad = Spikes(jnp.array(t), jnp.array(i))
    layer = LAYERS["LIF"]
    with pytest.raises(Exception, match=what):
        jax.block_until_ready(eqx.filter_jit(layer)(bad))
    batch = jax.tree.map(lambda a, b: jnp.stack([a, b]), Spikes(*GOOD), bad)
    with pytest.raises(Exception, match=what):
        jax.block_until_ready(eqx.filter_jit(jax.vmap(layer))(batch))

    def loss(w):
        out = eqx.tree_at(lambda m: m.weight, layer, w)(bad)
        return jnp.sum(jnp.where(jnp.isfinite(out.time), out.time, 0.0))

    with pytest.raises(Exception, match=what):
        jax.block_until_ready(eqx.filter_jit(jax.grad(loss))(layer.weight))


def test_good_batch_under_vmap_passes_and_matches_eager():
    layer = LAYERS["EventPropLIF"]
    batch = jax.tree.map(lambda a: jnp.stack([a, a]), Spikes(*GOOD))
    out = eqx.filter_jit(jax.vmap(layer))(batch)
    np.testing.assert_array_equal(out.time[0], layer(Spikes(*GOOD)).time)


def test_raw_array_says_expected_spikes():
    with pytest.raises(TypeError, match="expected `spikes` to be a jaxsnn_eqx.Spikes"):
        LAYERS["LIF"](jnp.zeros(4))
    with pytest.raises(TypeError, match="Spikes"):
        LAYERS["RecurrentEventPropLIF"](np.zeros((2, 4)))


def test_batched_spikes_without_vmap_say_so():
    batch = jax.tree.map(lambda a: jnp.stack([a, a]), Spikes(*GOOD))
    with pytest.raises(ValueError, match="vmap"):
        LAYERS["LIF"](batch)


def test_sorted_helpers_fix_unsorted_input():
    t, i, _ = BAD["unsorted"]
    fixed = Spikes.from_arrays(jnp.array(t), jnp.array(i))
    ref = Spikes(jnp.array([1e-3, 2e-3, 3e-3, INF]), jnp.array([1, 0, 2, -1]))
    np.testing.assert_array_equal(LAYERS["LIF"](fixed).time, LAYERS["LIF"](ref).time)


def test_overflow_names_the_layer():
    p = event.LIFParams(tau_mem=1e-2, tau_syn=5e-3)
    lif = event.LIF(3, 4, params=p, t_max=0.05, max_spikes=2,
                    weight=jnp.full((3, 4), 0.05))
    with pytest.raises(Exception, match=r"LIF\(3->4\).*more than (max_spikes=)?2 spikes"):
        jax.block_until_ready(lif(Spikes(*GOOD)))


@pytest.mark.parametrize("make, match", [
    (lambda: event.LIF(0, 3, t_max=1.0, max_spikes=3, key=KEY), "`in_size` must be >= 1"),
    (lambda: event.LIF(2, -1, t_max=1.0, max_spikes=3, key=KEY), "`out_size` must be >= 1"),
    (lambda: event.LIF(2.5, 3, t_max=1.0, max_spikes=3, key=KEY), "`in_size` must be an integer"),
    (lambda: event.LIF(2, 3, t_max=0.0, max_spikes=3, key=KEY), "t_max must be positive"),
    (lambda: event.LIF(2, 3, t_max=1.0, max_spikes=0, key=KEY), "max_spikes must be >= 1"),
    (lambda: event.LIF(2, 3, t_max=1.0, max_spikes=3, weight=jnp.full((2, 3), jnp.nan)),
     "non-finite value nan at"),
    (lambda: event.LIF(2, 3, t_max=1.0, max_spikes=3, weight=jnp.ones((2, 3), int)),
     "floating-point"),
    (lambda: event.LIF(2, 3, t_max=1.0, max_spikes=3, weight=jnp.ones((3, 2))),
     r"shape \(2, 3\)"),
    (lambda: event.LIF(2, 3, t_max=1.0, max_spikes=3), "pass `key`"),
    (lambda: event.LIF(2, 3, t_max=1.0, max_spikes=3, key=KEY, method="fast"), "method"),
    (lambda: event.EventPropLIF(2, 3, t_max=-1.0, max_spikes=3, key=KEY), "t_max"),
    (lambda: event.RecurrentEventPropLIF(2, 0, t_max=1.0, max_spikes=3, key=KEY),
     "`size` must be >= 1"),
    (lambda: event.RecurrentEventPropLIF(2, 3, t_max=1.0, max_spikes=0, key=KEY),
     "`max_spikes` must be >= 1"),
    (lambda: event.RecurrentEventPropLIF(2, 3, t_max=0.0, max_spikes=3, key=KEY), "t_max"),
    (lambda: event.RecurrentEventPropLIF(2, 3, t_max=1.0, max_spikes=3, key=KEY,
                                         weight_rec=jnp.zeros((2, 2))), "weight_rec"),
    (lambda: event.LIFParams(tau_mem=0.0), "tau_mem must be positive"),
    (lambda: event.LIFParams(tau_syn=-1.0), "tau_syn must be positive"),
    (lambda: event.LIFParams(tau_mem=float("nan")), "tau_mem"),
    (lambda: event.LIFParams(v_th=1.0, v_reset=1.0), "v_reset must be smaller than v_th"),
    (lambda: event.LIFParams(t_refrac=-1.0), "t_refrac"),
    (lambda: event.EventLayer("lif", jnp.ones((2, 3)), t_max=1.0, max_spikes=3),
     "EventNeuron"),
    (lambda: Spikes(jnp.zeros((2, 3)), jnp.zeros(3, int)), "same shape"),
    (lambda: Spikes(jnp.zeros(3), jnp.zeros(3)), "integer"),
    (lambda: Spikes.empty(-1), "non-negative integer"),
    (lambda: Spikes.empty(3).first_times(0), "positive integer"),
    (lambda: Spikes.empty(3).counts(-1), "positive integer"),
    (lambda: Spikes.from_arrays(jnp.array([0.1, 0.2]), jnp.array([0, 1]), size=1),
     "more than size=1"),
    (lambda: data.yinyang(KEY, 0), "positive integer"),
    (lambda: data.encode_latency(jnp.array([[jnp.nan, 0.5]]), 0.0, 1.0), "non-finite"),
    (lambda: data.encode_latency(jnp.array([[0.1, 0.5]]), 1.0, 0.0), "t_late > t_early"),
    (lambda: data.encode_latency(jnp.array([[0.1, 0.5]]), -1.0, 1.0), ">= 0"),
    (lambda: discrete.LIF(2, 3, dt=0.0, key=KEY), "dt must be positive"),
    (lambda: discrete.LIF(0, 3, dt=1e-3, key=KEY), "in_size must be >= 1"),
    (lambda: discrete.LIF(2, 3, dt=1e-3, key=KEY)(jnp.full((5, 2), jnp.nan)), "non-finite"),
    (lambda: discrete.LIF(2, 3, dt=1e-3, key=KEY)(jnp.zeros((5, 4))), "shape"),
    (lambda: snn.Sequential([]), "at least one layer"),
    (lambda: snn.Sequential([1]), "callable"),
    (lambda: snn.Sequential([event.LIF(2, 3, t_max=1.0, max_spikes=3, key=KEY),
                             event.LIF(4, 3, t_max=1.0, max_spikes=3, key=KEY)]),
     "out_size=3 but layer 1"),
    (lambda: snn.Recurrent(discrete.LI(3, 3, dt=1e-3, key=KEY), jnp.zeros((3, 3))),
     "does not accept `weight_rec=`"),
    (lambda: snn.Recurrent(lambda x: x, jnp.zeros((3, 3))), "does not accept `weight_rec=`"),
])
def test_bad_arguments_name_the_argument(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_discrete_nan_input_under_jit():
    lif = discrete.LIF(2, 3, dt=1e-3, key=KEY)
    with pytest.raises(Exception, match="non-finite|NaN"):
        jax.block_until_ready(eqx.filter_jit(lif)(jnp.full((5, 2), jnp.nan)))


def test_debug_switch_catches_non_finite_weights():
    lif = LAYERS["LIF"]
    bad = eqx.tree_at(lambda m: m.weight, lif, lif.weight.at[1, 2].set(jnp.nan))
    spikes = Spikes(*GOOD)
    assert not checks.debug_enabled()
    bad(spikes)  # off: no check (and the NaN weight gives NaN-free but wrong spikes)
    with checks.debug():
        assert checks.debug_enabled()
        with pytest.raises(ValueError, match="parameter `weight` has non-finite"):
            bad(spikes)
        with pytest.raises(Exception, match="parameter `weight` has non-finite"):
            jax.block_until_ready(eqx.filter_jit(lambda m, s: m(s))(bad, spikes))
        rec = LAYERS["RecurrentEventPropLIF"]
        rec_bad = eqx.tree_at(lambda m: m.params.v_th, rec, jnp.array(jnp.nan))
        with pytest.raises(Exception, match=r"`neuron\.params\.v_th`"):
            jax.block_until_ready(eqx.filter_jit(lambda m, s: m(s))(rec_bad, spikes))
    assert not checks.debug_enabled()


def test_debug_switch_reaches_functions_compiled_before_it():
    """A function compiled with the switch off follows it once switched on (no silent stale
    trace), and back off again."""
    lif = LAYERS["LIF"]
    bad = eqx.tree_at(lambda m: m.weight, lif, lif.weight.at[1, 2].set(jnp.nan))
    spikes = Spikes(*GOOD)
    run = eqx.filter_jit(lambda m, s: m(s))
    jax.block_until_ready(run(bad, spikes))  # compiled with the switch off: no check
    checks.set_debug(True)
    try:
        with pytest.raises(Exception, match="parameter `weight` has non-finite"):
            jax.block_until_ready(run(bad, spikes))
    finally:
        checks.set_debug(False)
    jax.block_until_ready(run(bad, spikes))  # off again: the unchecked trace


@pytest.mark.parametrize("layer", ["LIF", "EventPropLIF", "RecurrentEventPropLIF",
                                   "HardwareRecurrentLIF"])
def test_static_settings_change_with_dataclasses_replace(layer):
    import dataclasses

    m = LAYERS[layer]
    m2 = dataclasses.replace(m, t_max=0.04)
    assert type(m2) is type(m) and m2.t_max == 0.04
    out = m2(Spikes(*GOOD))
    assert isinstance(out, Spikes)
    with pytest.raises(ValueError, match="max_spikes"):
        dataclasses.replace(m, max_spikes=0)


def test_layer_outputs_skip_the_check_but_edited_ones_do_not():
    layer = LAYERS["LIF"]
    out = layer(Spikes(*GOOD))
    assert checks.check_spikes(out, 4, "next") is out  # trusted: returned as it is
    nan = Spikes(out.time.at[0].set(jnp.nan), out.idx)
    with pytest.raises(ValueError, match="NaN time"):
        checks.check_spikes(nan, 4, "next")
    # a network: a NaN entering the first layer is still caught under jit
    net = snn.Sequential([layer, event.LIF(4, 2, t_max=0.05, max_spikes=40, key=KEY)])
    t, i, _ = BAD["nan"]
    with pytest.raises(Exception, match="NaN time"):
        jax.block_until_ready(eqx.filter_jit(net)(Spikes(jnp.array(t), jnp.array(i))))
