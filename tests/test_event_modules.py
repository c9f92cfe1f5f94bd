"""Equinox's own tools on the event layers (tree_at, filter_jit, the abstract/final pattern)."""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsnn_eqx import Spikes, event


@pytest.mark.parametrize("cls", [event.LIF, event.EventPropLIF])
def test_tree_at_then_filter_jit(cls):
    """An edited layer is a normal module: `eqx.filter_jit` takes it (this raised
    'TypeError: __name__ must be set to a string object' while the abstract fields were
    declared under string annotations and became dataclass fields)."""
    layer = cls(5, 4, t_max=2e-2, max_spikes=8, key=jax.random.PRNGKey(0))
    assert "neuron" not in [f.name for f in dataclasses.fields(cls)]
    edited = eqx.tree_at(lambda m: m.weight, layer, 2 * layer.weight)
    s = Spikes(jnp.array([1e-3, 2e-3]), jnp.array([0, 1], jnp.int32))
    np.testing.assert_array_equal(eqx.filter_jit(edited)(s).time, edited(s).time)
    assert not np.array_equal(edited(s).time, layer(s).time)


def test_an_incomplete_event_layer_is_refused():
    class Incomplete(event.AbstractEventLayer):
        weight: jax.Array

    with pytest.raises(TypeError, match="abstract"):
        Incomplete(weight=jnp.zeros((2, 2)))


def test_layers_build_from_traced_per_neuron_parameters():
    """`lif_weight_scale` (the init's weight unit) works on traced parameters, so a layer with
    calibrated per-neuron parameters can be rebuilt under `eqx.filter_eval_shape` (as loading a
    saved hardware run does) or `jax.jit`; concrete parameters give the same value."""
    def make(tau_mem):
        p = event.LIFParams(tau_mem=tau_mem * 1.0, tau_syn=jnp.full((5,), 6e-6))
        return event.RecurrentEventPropLIF(3, 5, params=p, t_max=3e-5, max_spikes=20,
                                           key=jax.random.PRNGKey(0))

    like = eqx.filter_eval_shape(make, jnp.full((5,), 12e-6))
    assert like.weight_in.shape == (3, 5)
    p = event.LIFParams(tau_mem=12e-6, tau_syn=6e-6)
    traced = jax.jit(lambda t: event.lif_weight_scale(event.LIFParams(tau_mem=t, tau_syn=6e-6)))
    np.testing.assert_allclose(traced(12e-6), event.lif_weight_scale(p), rtol=1e-6)
