"""Defects of the event core found by an expert review (issue 26): each with its smallest
reproduction, and the siblings of its class."""

import dataclasses
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest
from sweeps import slow_beyond

import jaxsnn_eqx as snn
from jaxsnn_eqx import Spikes, checks, event, hardware

KEY = jax.random.PRNGKey(0)
P = event.LIFParams(tau_mem=1e-2, tau_syn=5e-3)
IN = Spikes(jnp.array([0.0, 1e-3, 2e-3, jnp.inf]), jnp.array([0, 1, 2, -1]))


def _hidden():
    w = jnp.full((3, 10), 2.0)  # every hidden neuron fires: indices up to 9
    return event.LIF(3, 10, params=P, t_max=0.05, max_spikes=10, weight=w, single_spike=True)


# ---------------------------------------------------------------- 1. trusted spikes and in_size
def test_a_layer_output_is_checked_against_a_smaller_consumer():
    h = _hidden()(IN)
    assert int(h.idx.max()) >= 4
    small = event.LIF(4, 2, params=P, t_max=0.05, max_spikes=40, key=KEY)
    with pytest.raises(ValueError, match=r"LIF\(4->2\).*index out of range"):
        small(h)
    with pytest.raises(Exception, match="index out of range"):
        jax.block_until_ready(eqx.filter_jit(lambda m, x: m(_hidden()(x)))(small, IN))


def test_edited_indices_of_a_layer_output_are_checked():
    h = _hidden()(IN)
    big = event.LIF(10, 2, params=P, t_max=0.05, max_spikes=40, key=KEY)
    big(h)  # unchanged: trusted
    shifted = Spikes(h.time, jnp.where(h.idx >= 0, h.idx + 100, -1))
    with pytest.raises(ValueError, match="index out of range"):
        big(shifted)
    with pytest.raises(Exception, match="index out of range"):
        jax.block_until_ready(eqx.filter_jit(
            lambda m, x: m(Spikes((o := _hidden()(x)).time, o.idx + 100)))(big, IN))


def test_trust_holds_for_any_consumer_at_least_as_wide():
    h = _hidden()(IN)
    assert checks.is_trusted(h, 10) and checks.is_trusted(h, 11)
    assert not checks.is_trusted(h, 9)
    assert checks.check_spikes(h, 12, "next") is h
    assert not checks.is_trusted(Spikes(h.time, h.idx + 0), 10)


def test_hardware_output_is_checked_against_its_consumer():
    hw = event.HardwareRecurrentLIF(3, 10, params=P, t_max=0.05, max_spikes=10, key=KEY,
                                    single_spike=True,
                                    weight_in=jnp.full((3, 10), 2.0),
                                    backend=hardware.JaxSimulation())
    h = hw(IN)
    assert checks.is_trusted(h, 10) and not checks.is_trusted(h, 4)


# ---------------------------------------------------------------- 7. a backend with array fields
class _Shifted(event.Backend):
    """A tiny backend with an array field: the exact simulation, every spike later by shift."""

    shift: jax.Array

    def run(self, population, spikes, key=None):
        out = event.JaxSimulation().run(population, spikes)
        return Spikes(jnp.where(out.idx >= 0, out.time + self.shift, out.time), out.idx)


def _first_times_loss(m):
    t = m(IN).time
    return jnp.sum(jnp.where(jnp.isfinite(t), t, 0.0))


def test_a_backend_with_an_array_field_does_not_break_gradients():
    hw = event.HardwareRecurrentLIF(3, 4, params=P, t_max=0.05, max_spikes=10, key=KEY,
                                    weight_in=jnp.full((3, 4), 2.0), single_spike=True,
                                    backend=_Shifted(jnp.array(1e-4)))
    g = eqx.filter_grad(_first_times_loss)(hw)
    assert jnp.all(jnp.isfinite(g.weight_in)) and float(jnp.abs(g.weight_in).sum()) > 0
    assert float(g.backend.shift) == 0.0  # the backend is not trained
    g_jit = eqx.filter_jit(eqx.filter_grad(_first_times_loss))(hw)
    assert jnp.allclose(g_jit.weight_in, g.weight_in)


# ---------------------------------------------------------------- 3. one dtype rule on every path
def _f64(**kw):
    return {k: jnp.array(v, jnp.float64) for k, v in kw.items()}


def _mixed_layers():
    """float32 weights, float64 parameter arrays (x64 is on in the tests): every path."""
    w = jnp.full((3, 4), 1.0, jnp.float32)
    lp = event.LIFParams(**_f64(tau_mem=1e-2, tau_syn=5e-3, t_refrac=1e-2))
    zero = jnp.zeros((4, 4), jnp.float32)
    chain = jnp.zeros((4, 4), bool).at[:2, 2:].set(True)
    return {
        "LIF single-spike all-at-once": event.LIF(3, 4, params=lp, t_max=0.05, max_spikes=4,
                                                  weight=w, single_spike=True),
        "LIF single-spike loop": event.LIF(3, 4, params=lp, t_max=0.05, max_spikes=4, weight=w,
                                           single_spike=True, method="kernel"),
        "LIF multi-spike": event.LIF(3, 4, params=lp, t_max=0.05, max_spikes=40, weight=w),
        "EventPropLIF": event.EventPropLIF(3, 4, params=lp, t_max=0.05, max_spikes=40,
                                           weight=w),
        "LIF delays": event.LIF(3, 4, params=lp, t_max=0.05, max_spikes=40, weight=w,
                                delay=jnp.full((3, 4), 1e-3)),
        "RecurrentEventPropLIF": event.RecurrentEventPropLIF(
            3, 4, params=lp, t_max=0.05, max_spikes=40, weight_in=w, weight_rec=zero),
        "RecurrentEventPropLIF stages": event.RecurrentEventPropLIF(
            3, 4, params=lp, t_max=0.05, max_spikes=40, weight_in=w, weight_rec=zero + 0.5,
            mask=chain, mask_in=jnp.zeros((3, 4), bool).at[:, :2].set(True)),
        "HardwareRecurrentLIF": event.HardwareRecurrentLIF(
            3, 4, params=lp, t_max=0.05, max_spikes=40, weight_in=w, weight_rec=zero,
            backend=hardware.JaxSimulation(), target_params=lp),
        "IF": event.IF(3, 4, params=event.IFParams(**_f64(tau_mem=1e-2, tau_syn=5e-3,
                                                          t_refrac=1e-2)),
                       t_max=0.05, max_spikes=40, weight=w),
        "AdaptiveLIF": event.AdaptiveLIF(
            3, 4, params=event.AdaptiveLIFParams(**_f64(tau_mem=1e-2, tau_syn=5e-3,
                                                        t_refrac=1e-2)),
            t_max=0.05, max_spikes=40, weight=w),
    }


# every layer type with -m slow; the default run keeps a feed-forward and a recurrent one
@pytest.mark.parametrize("name", slow_beyond(list(_mixed_layers()),
                                             keep={"LIF multi-spike", "RecurrentEventPropLIF"}))
def test_float64_parameters_follow_a_float32_layer(name):
    assert jax.config.jax_enable_x64
    m = _mixed_layers()[name]
    x = Spikes(IN.time.astype(jnp.float32), IN.idx)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no scatter FutureWarning either
        out = m(x)
        assert out.time.dtype == jnp.float32
        assert int(jnp.sum(out.idx >= 0)) > 0
        out_jit = eqx.filter_jit(lambda m, x: m(x))(m, x)
        g = eqx.filter_jit(eqx.filter_grad(
            lambda m: jnp.sum(jnp.where(out.idx >= 0, m(x).time, 0.0))))(m)
    assert jnp.allclose(out.time, out_jit.time, rtol=1e-5) and jnp.array_equal(out.idx, out_jit.idx)
    g_params = g.params if hasattr(g, "params") else g.neuron.params
    assert g_params.tau_mem.dtype == jnp.float64  # gradients come back in the leaf's dtype
    assert all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in jax.tree.leaves(g))


# ---------------------------------------------------------------- 8. dataclasses.replace
def _lif_weight():
    return event.LIF(3, 4, params=P, t_max=0.05, max_spikes=40, key=KEY).weight


def _every_layer():
    return {
        "EventLayer": event.EventLayer(event.LIFNeuron(P), _lif_weight(), t_max=0.05,
                                       max_spikes=40),
        "LIF": event.LIF(3, 4, params=P, t_max=0.05, max_spikes=40, key=KEY),
        "LIF single-spike": event.LIF(3, 4, params=P, t_max=0.05, max_spikes=4, key=KEY,
                                      single_spike=True),
        "LIF delays": event.LIF(3, 4, params=P, t_max=0.05, max_spikes=40, key=KEY,
                                delay=jnp.full((3, 4), 1e-3)),
        "EventPropLIF": event.EventPropLIF(3, 4, params=P, t_max=0.05, max_spikes=40, key=KEY),
        "IF": event.IF(3, 4, t_max=0.05, max_spikes=40, key=KEY),
        "AdaptiveLIF": event.AdaptiveLIF(3, 4, t_max=0.05, max_spikes=40, key=KEY),
        "RecurrentEventPropLIF": event.RecurrentEventPropLIF(3, 4, params=P, t_max=0.05,
                                                             max_spikes=40, key=KEY),
        "HardwareRecurrentLIF": event.HardwareRecurrentLIF(
            3, 4, params=P, t_max=0.05, max_spikes=40, key=KEY,
            backend=hardware.JaxSimulation()),
    }


@pytest.mark.parametrize("name", list(_every_layer()))
def test_dataclasses_replace_works_for_every_layer(name):
    m = _every_layer()[name]
    same = dataclasses.replace(m)
    assert bool(eqx.tree_equal(same, m))
    m2 = dataclasses.replace(m, t_max=0.04)
    assert type(m2) is type(m) and m2.t_max == 0.04
    assert bool(eqx.tree_equal(dataclasses.replace(m2, t_max=0.05), m))
    assert isinstance(m2(IN), Spikes)
    with pytest.raises(ValueError, match="max_spikes"):
        dataclasses.replace(m, max_spikes=0)


def test_event_layer_replace_checks_sizes_against_the_weight():
    m = _every_layer()["EventLayer"]
    with pytest.raises(ValueError, match="in_size=5"):
        dataclasses.replace(m, in_size=5)
    m2 = dataclasses.replace(m, weight=_lif_weight()[:2], in_size=2)
    assert m2.in_size == 2


# ---------------------------------------------------------------- 9. zero-length input spikes
EMPTY = Spikes(jnp.zeros((0,)), jnp.zeros((0,), jnp.int32))


def _silent(out, max_spikes):
    return (out.time.shape[-1] == max_spikes and bool(jnp.all(out.time == jnp.inf))
            and bool(jnp.all(out.idx == -1)))


# every layer type with -m slow; the default run keeps a feed-forward and a recurrent one
@pytest.mark.parametrize("name", slow_beyond(list(_every_layer()),
                                             keep={"LIF", "RecurrentEventPropLIF"}))
def test_zero_length_input_gives_a_silent_output(name):
    m = _every_layer()[name]
    for x in (EMPTY, Spikes.empty(0)):
        assert _silent(m(x), m.max_spikes)
    assert _silent(eqx.filter_jit(lambda m, x: m(x))(m, EMPTY), m.max_spikes)
    batch = Spikes(jnp.zeros((2, 0)), jnp.zeros((2, 0), jnp.int32))
    assert _silent(jax.vmap(m)(batch), m.max_spikes)
    g = eqx.filter_jit(eqx.filter_grad(
        lambda m: jnp.sum(jnp.where(jnp.isfinite(t := m(EMPTY).time), t, 0.0))))(m)
    assert all(bool(jnp.all(leaf == 0)) for leaf in jax.tree.leaves(g))


def test_zero_length_input_on_other_paths():
    # compiled (the eager path of a zero-length input is the test above)
    _run = eqx.filter_jit(lambda m, x, **kw: m(x, **kw))
    lp = event.LIFParams(tau_mem=1e-2, tau_syn=5e-3)
    chain = jnp.zeros((4, 4), bool).at[:2, 2:].set(True)
    staged = event.RecurrentEventPropLIF(3, 4, params=lp, t_max=0.05, max_spikes=8, key=KEY,
                                         mask=chain,
                                         mask_in=jnp.zeros((3, 4), bool).at[:, :2].set(True))
    assert staged.stages is not None and _silent(_run(staged, EMPTY), 8)
    emu = event.HardwareRecurrentLIF(3, 4, params=lp, t_max=0.05, max_spikes=8, key=KEY,
                                     backend=hardware.Emulator())
    assert _silent(_run(emu, EMPTY, key=KEY), 8)
    net = snn.Sequential([event.LIF(3, 5, params=lp, t_max=0.05, max_spikes=8, key=KEY),
                          event.LIF(5, 2, params=lp, t_max=0.05, max_spikes=4, key=KEY)])
    assert _silent(_run(net, EMPTY), 4)
    w = event.LIF(3, 4, params=lp, t_max=0.05, max_spikes=8, key=KEY).weight
    out = eqx.filter_jit(event.simulate)(event.LIFNeuron(lp), w, EMPTY, t_max=0.05,
                                         max_spikes=8, weight_rec=jnp.zeros((4, 4)))
    assert _silent(out, 8)


# ---------------------------------------------------------------- 11. times in the wrong unit
LATE = Spikes(jnp.array([1.0, 10.0, jnp.inf]), jnp.array([0, 1, -1]))  # ms against t_max in s


@pytest.mark.parametrize("name", ["LIF", "LIF single-spike", "RecurrentEventPropLIF",
                                  "HardwareRecurrentLIF", "IF", "EventLayer"])
def test_input_entirely_after_t_max_warns(name):
    m = _every_layer()[name]
    with pytest.warns(UserWarning, match=r"every input spike lies at or after t_max=0\.05"):
        out = m(LATE)
    assert _silent(out, m.max_spikes)


def test_no_warning_for_normal_empty_or_traced_input():
    m = _every_layer()["LIF"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m(IN)  # normal input
        m(Spikes.empty(3))  # nothing at all: nothing to warn about
        m(Spikes(jnp.array([1e-3, 1.0, jnp.inf]), jnp.array([0, 1, -1])))  # one spike in time
        eqx.filter_jit(lambda m, x: m(x))(m, LATE)  # values unknown while tracing


def test_encoding_in_the_wrong_unit_warns():
    from jaxsnn_eqx import data

    x = jnp.array([[0.2, 0.7]])
    late = data.encode_latency(x, t_early=0.0, t_late=10.0)
    m = event.LIF(int(late.idx.max()) + 1, 3, params=P, t_max=0.04, max_spikes=4, key=KEY)
    with pytest.warns(UserWarning, match="are the times in seconds"):
        m(Spikes(late.time[0], late.idx[0]))


# ---------------------------------------------------------------- 12. static settings
def test_tree_at_on_a_static_setting_and_the_documented_way():
    from pathlib import Path

    m = _every_layer()["LIF"]
    with pytest.raises(TypeError, match="0.05 is not a leaf"):
        eqx.tree_at(lambda m: m.t_max, m, 1e-2)
    assert dataclasses.replace(m, t_max=1e-2).t_max == 1e-2
    text = (Path(__file__).parents[1] / "docs" / "checks.md").read_text()
    errors = text.split("## Errors you may meet", 1)[1].split("\n## ", 1)[0]
    assert "is not a leaf of the pytree" in errors and "dataclasses.replace" in errors
