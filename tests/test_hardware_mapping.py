"""`hardware.mapping`: placement of a network on one BrainScaleS-2 chip."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsnn_eqx import event
from jaxsnn_eqx.containers import Sequential
from jaxsnn_eqx.event.lif import lif_weight_scale
from jaxsnn_eqx.hardware import weights
from jaxsnn_eqx.hardware.mapping import NEURONS, ROWS, Mapping, PopulationSpec, Projection
from jaxsnn_eqx.spikes import Spikes

PARAMS = event.LIFParams(tau_mem=2e-2, tau_syn=1e-2, v_th=1.0)
T_MAX = 0.1


def published_masks(n_in=25, n_hid=100, n_out=3):
    size = n_hid + n_out
    mask_in = np.zeros((n_in, size), bool)
    mask_in[:, :n_hid] = True
    mask = np.zeros((size, size), bool)
    mask[:n_hid, n_hid:] = True
    return mask_in, mask


def normal(seed, shape, std=0.05):
    return np.random.default_rng(seed).normal(0.0, std, shape)  # no per-shape jax compiles


def sequential(sizes, seed=0, layer=event.LIF, **kw):
    return Sequential([layer(a, b, params=PARAMS, t_max=T_MAX, max_spikes=20,
                             weight=normal(seed + k, (a, b)), **kw)
                       for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True))])


def population(in_size, size, seed=0, mask=None, mask_in=None, **kw):
    return event.RecurrentEventPropLIF(
        in_size, size, params=PARAMS, t_max=T_MAX, max_spikes=20, mask=mask, mask_in=mask_in,
        weight_in=normal(seed, (in_size, size)), weight_rec=normal(seed + 1, (size, size)), **kw)


# ------------------------------------------------------------------ structure
def test_published_network():
    m = Mapping.layered(25, (100, 3))
    assert m.in_size == 25 and m.size == 103
    assert m.populations == (PopulationSpec("hidden", 100, 0), PopulationSpec("output", 3, 100))
    assert [q.name for q in m.projections] == ["input->hidden", "hidden->output"]
    mask_in, mask = m.masks()
    ref_in, ref = published_masks()
    np.testing.assert_array_equal(mask_in, ref_in)
    np.testing.assert_array_equal(mask, ref)
    assert m.row_count == 250 <= ROWS and m.size <= NEURONS
    np.testing.assert_array_equal(m.source_neurons, np.arange(100))
    rows = m.rows()
    assert set(rows) == {"input", "hidden"}  # outputs project nowhere: no rows
    np.testing.assert_array_equal(rows["input"][:, 0], 2 * np.arange(25))
    np.testing.assert_array_equal(rows["input"][:, 1], 2 * np.arange(25) + 1)
    np.testing.assert_array_equal(rows["hidden"][:, 0], 50 + 2 * np.arange(100))
    assert rows["hidden"].max() == 249
    s = m.summary()
    assert "hidden" in s and "output" in s and "0..99" in s and "100..102" in s
    assert "250/256" in s and "103/512" in s and "input -> hidden" in s
    assert "hidden" in repr(m) and "input->hidden" in repr(m) and str(m) == s
    assert hash(m) == hash(Mapping.layered(25, [100, 3]))


def test_layered_names():
    assert Mapping.layered(5, [4]).names == ("output",)
    assert Mapping.layered(5, [4, 4, 2]).names == ("hidden", "hidden_1", "output")
    m = Mapping.layered(5, [4, 2], names=["a", "b"])
    assert [q.name for q in m.projections] == ["input->a", "a->b"]
    assert m.span("b") == slice(4, 6) and m.span("input") == slice(0, 5)
    with pytest.raises(ValueError, match="names"):
        Mapping.layered(5, [4, 2], names=["a"])
    with pytest.raises(ValueError, match="unique"):
        Mapping.layered(5, [4, 2], names=["a", "a"])
    with pytest.raises(ValueError, match="consecutively"):
        Mapping(5, (PopulationSpec("a", 4, 1),), (Projection("input", "a"),))
    with pytest.raises(ValueError, match="unknown"):
        Mapping(5, (PopulationSpec("a", 4),), (Projection("input", "b"),))
    with pytest.raises(ValueError, match="mask shape"):
        Mapping(5, (PopulationSpec("a", 4),), (Projection("input", "a", np.eye(4, dtype=bool)),))


def test_from_model_sequential_and_masked_population_agree():
    m_seq = Mapping.from_model(sequential((25, 100, 3)))
    mask_in, mask = published_masks()
    m_pop = Mapping.from_model(population(25, 103, mask=mask, mask_in=mask_in))
    assert m_seq == m_pop == Mapping.layered(25, (100, 3))
    assert all(q.mask is None for q in m_pop.projections)
    # EventPropLIF layers are event layers with a weight too
    assert Mapping.from_model(sequential((25, 100, 3), layer=event.EventPropLIF)) == m_seq


def test_from_model_all_to_all_population():
    for mask in (None, np.ones((8, 8), bool)):
        m = Mapping.from_model(population(5, 8, mask=mask))
        assert m.names == ("population",)
        assert [q.name for q in m.projections] == ["input->population", "population->population"]
        assert all(q.mask is None for q in m.projections)
        mask_in, mask_rec = m.masks()
        assert mask_in.all() and mask_rec.all()
        assert m.row_count == 2 * (5 + 8)
    # a partially recurrent population: only the neurons with synapses take rows
    mask = np.zeros((8, 8), bool)
    mask[2, 5] = mask[6, 0] = True
    m = Mapping.from_model(population(5, 8, mask=mask))
    np.testing.assert_array_equal(m.masks()[1], mask)
    np.testing.assert_array_equal(m.source_neurons, [2, 6])
    assert m.row_count == 2 * (5 + 2)
    r = m.rows()["population"]
    assert tuple(r[2]) == (10, 11) and tuple(r[6]) == (12, 13) and r[0, 0] == -1


def test_from_model_keeps_partial_block_masks():
    mask_in, mask = published_masks(6, 5, 2)
    mask_in[0, 3] = False
    mask[1, 6] = False
    m = Mapping.from_model(population(6, 7, mask=mask, mask_in=mask_in))
    assert m.names == ("hidden", "output")
    assert all(q.mask is not None for q in m.projections)
    got_in, got = m.masks()
    np.testing.assert_array_equal(got_in, mask_in)
    np.testing.assert_array_equal(got, mask)
    assert "masked" in repr(m)


def test_from_model_refuses():
    layers = (*sequential((5, 4)).layers, *sequential((3, 2)).layers)
    with pytest.raises(ValueError, match="out_size=4 but layer 1"):  # refused at construction
        Sequential(layers)
    # built around the constructor's check (eqx.tree_at does not call __init__): Mapping refuses
    bad = eqx.tree_at(lambda s: s.layers, sequential((5, 4)), layers)
    with pytest.raises(ValueError, match="in_size 3.*out_size 4"):
        Mapping.from_model(bad)
    with pytest.raises(TypeError, match="int"):
        Mapping.from_model(3)
    with pytest.raises(TypeError, match="weight"):
        Mapping.from_model(Sequential([jnp.tanh]))


# ------------------------------------------------------------------ fitting on a chip
def test_too_many_neurons():
    with pytest.raises(ValueError, match="needs 600 neuron circuits, a chip has 512"):
        Mapping.layered(25, (597, 3))
    # neurons that project nowhere take no rows: 512 neurons fit with few sources
    m = Mapping.layered(25, (100, 412))
    assert m.size == NEURONS and m.row_count == 250


def test_too_many_rows():
    with pytest.raises(ValueError) as e:
        Mapping.layered(200, (100, 3))
    msg = str(e.value)
    assert "needs 600 synapse rows" in msg and "200 inputs + 100 projecting neurons" in msg
    assert "256" in msg and "neuron circuits" not in msg
    with pytest.raises(ValueError, match="needs 258 synapse rows"):
        Mapping.layered(29, (100, 3))
    # exactly full: 2 (28 + 100) = 256 rows, 512 neurons
    m = Mapping.layered(28, (100, 412))
    assert m.row_count == ROWS and m.size == NEURONS


def test_both_limits_in_one_message():
    with pytest.raises(ValueError) as e:
        Mapping.from_model(population(10, 600))
    msg = str(e.value)
    assert "needs 600 neuron circuits, a chip has 512" in msg
    assert "needs 1220 synapse rows (2 per signed source: 10 inputs + 600 projecting neurons)" \
        in msg


# ------------------------------------------------------------------ weights
def test_population_and_layer_weights_round_trip():
    net = sequential((6, 5, 3, 2))
    m = Mapping.from_model(net)
    w_in, w_rec = m.population_weights(net)
    assert w_in.shape == (6, 10) and w_rec.shape == (10, 10)
    mask_in, mask = m.masks()
    assert not np.any(np.asarray(w_in)[~mask_in]) and not np.any(np.asarray(w_rec)[~mask])
    blocks = m.layer_weights(w_in, w_rec)
    for b, layer in zip(blocks, net.layers, strict=True):
        np.testing.assert_array_equal(b, layer.weight)
    # rebuild the Sequential from (scaled) one-population weights
    net2 = m.with_weights(net, 2 * w_in, 2 * w_rec)
    for a, b in zip(net2.layers, net.layers, strict=True):
        np.testing.assert_array_equal(a.weight, 2 * b.weight)
    # a population object: its effective weights
    pop = population(6, 10, mask=mask, mask_in=mask_in)
    for a, b in zip(m.population_weights(pop), pop.effective_weights, strict=True):
        np.testing.assert_array_equal(a, b)
    pop2 = m.with_weights(pop, w_in, w_rec)
    np.testing.assert_array_equal(pop2.weight_in, w_in)
    # wrong model shapes
    with pytest.raises(ValueError, match="layers"):
        m.population_weights(net[:2])
    with pytest.raises(ValueError, match="do not match"):
        m.population_weights(population(6, 9))


def test_population_weights_under_jit():
    net = sequential((4, 3, 2))
    m = Mapping.from_model(net)
    w = eqx.filter_jit(m.population_weights)(net)
    for a, b in zip(w, m.population_weights(net), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("per_neuron_tau", [False, True])
def test_to_from_hardware_round_trip(per_neuron_tau):
    m = Mapping.layered(25, (100, 3))
    mask_in, mask = m.masks()
    rng = np.random.default_rng(6)
    tau = 5e-3 * (1 + rng.uniform(size=m.size)) if per_neuron_tau else 5e-3
    scale = 40.0
    # weights spanning the whole range and beyond (some clip at 63)
    w_in = jnp.asarray(rng.normal(size=(25, 103)) * 6e-3)
    w_rec = jnp.asarray(rng.normal(size=(103, 103)) * 6e-3)
    hw = m.to_hardware(w_in, w_rec, scale=scale, tau_syn=tau)
    assert set(hw) == {"input->hidden", "hidden->output"}
    signed = {}
    for name, (exc, inh) in hw.items():
        assert exc.dtype == jnp.int32 and inh.dtype == jnp.int32
        assert int(exc.min()) >= 0 and int(inh.min()) >= 0
        assert int(exc.max()) == 63 and int(inh.max()) == 63  # clipped
        assert not np.any((np.asarray(exc) > 0) & (np.asarray(inh) > 0))
        signed[name] = np.asarray(exc) - np.asarray(inh)
    # sign: positive weights only excitatory, negative only inhibitory
    ref = weights.to_hardware(w_in, scale=scale, tau_syn=tau)[:, :100]
    np.testing.assert_array_equal(signed["input->hidden"], ref)
    exc, inh = hw["input->hidden"]
    assert np.all(np.asarray(exc)[np.asarray(w_in[:, :100]) < 0] == 0)
    assert np.all(np.asarray(inh)[np.asarray(w_in[:, :100]) > 0] == 0)
    # round trip: quantized on the masks, zero elsewhere
    b_in, b_rec = m.from_hardware(hw, scale=scale, tau_syn=tau)
    q_in = weights.quantize(w_in, scale=scale, tau_syn=tau)
    q_rec = weights.quantize(w_rec, scale=scale, tau_syn=tau)
    np.testing.assert_array_equal(b_in, np.where(mask_in, q_in, 0.0))
    np.testing.assert_array_equal(b_rec, np.where(mask, q_rec, 0.0))
    assert b_in.dtype == jnp.float64
    with pytest.raises(ValueError, match="projections"):
        m.from_hardware({"input->hidden": hw["input->hidden"]}, scale=scale, tau_syn=tau)
    with pytest.raises(ValueError, match="tau_syn"):
        m.to_hardware(w_in, w_rec, scale=scale, tau_syn=jnp.ones(7))


def test_synapse_matrix_rows():
    m = Mapping.layered(3, (2, 2))
    w_in = jnp.array([[1.0, -1.0], [0.5, 0.0], [-2.0, 9.0]]) * 1e-3
    w_in = jnp.concatenate([w_in, jnp.full((3, 2), 7.0)], axis=1)  # off the mask: ignored
    w_rec = jnp.zeros((4, 4)).at[0, 2].set(-1e-3).at[1, 3].set(2e-3).at[2, 0].set(5.0)
    hw = m.to_hardware(w_in, w_rec, scale=50.0, tau_syn=5e-3)  # 1e-3 V s -> 10 units
    syn = np.asarray(m.synapse_matrix(hw))
    assert syn.shape == (m.row_count, m.size) == (10, 4)
    expect = np.zeros((10, 4), int)
    expect[0, 0], expect[1, 1] = 10, 10  # input 0: +10 on exc row, -10 on inh row
    expect[2, 0] = 5  # input 1
    expect[5, 0], expect[4, 1] = 20, 63  # input 2 (9e-3 V s: 90, clipped)
    expect[7, 2], expect[8, 3] = 10, 20  # hidden 0 (rows 6, 7), hidden 1 (rows 8, 9)
    np.testing.assert_array_equal(syn, expect)
    # hardware arrays as read from a chip (uint8) round trip too
    hw8 = {k: tuple(np.asarray(a, np.uint8) for a in v) for k, v in hw.items()}
    for a, b in zip(m.from_hardware(hw8, scale=50.0, tau_syn=5e-3),
                    m.from_hardware(hw, scale=50.0, tau_syn=5e-3), strict=True):
        np.testing.assert_array_equal(a, b)
    assert float(m.from_hardware(hw8, scale=50.0, tau_syn=5e-3)[0][0, 1]) == -1e-3


# ------------------------------------------------------------------ spikes
def hand_spikes():
    time = jnp.array([0.1, 0.2, 0.2, 0.3, 0.4, 0.5, jnp.inf, jnp.inf])
    idx = jnp.array([100, 3, 101, 99, 0, 102, -1, -1])
    return Spikes(time, idx)


def test_split():
    m = Mapping.layered(25, (100, 3))
    out = m.split(hand_spikes())
    assert set(out) == {"hidden", "output"}
    h, o = out["hidden"], out["output"]
    assert h.size == o.size == 8
    np.testing.assert_array_equal(h.time[:3], [0.2, 0.3, 0.4])
    np.testing.assert_array_equal(h.idx, [3, 99, 0, -1, -1, -1, -1, -1])
    np.testing.assert_array_equal(o.time[:3], [0.1, 0.2, 0.5])
    np.testing.assert_array_equal(o.idx, [0, 1, 2, -1, -1, -1, -1, -1])
    assert np.all(np.isinf(h.time[3:])) and np.all(np.isinf(o.time[3:]))


def test_split_batched_and_jit():
    m = Mapping.layered(25, (100, 3))
    s = hand_spikes()
    s2 = Spikes.from_arrays(jnp.array([0.05, 0.3, 0.15, 0.15]), jnp.array([102, 7, 50, 101]), 8)
    batch = Spikes(jnp.stack([s.time, s2.time])[None], jnp.stack([s.idx, s2.idx])[None])
    out = jax.jit(m.split)(batch)
    for b, single in enumerate((s, s2)):
        ref = m.split(single)
        for name in m.names:
            assert out[name].time.shape == (1, 2, 8)
            np.testing.assert_array_equal(out[name].time[0, b], ref[name].time)
            np.testing.assert_array_equal(out[name].idx[0, b], ref[name].idx)


def test_split_matches_layers_of_simulated_population():
    """The masked population with `population_weights` spikes like the Sequential layer by
    layer; `split` recovers each layer's spikes."""
    w1 = lif_weight_scale(PARAMS)  # one input of this weight just reaches threshold
    net = Sequential([
        event.LIF(4, 5, params=PARAMS, t_max=T_MAX, max_spikes=5, single_spike=True,
                  weight=w1 * (1.5 + normal(7, (4, 5), 1.0))),
        event.LIF(5, 2, params=PARAMS, t_max=T_MAX, max_spikes=2, single_spike=True,
                  weight=w1 * (1.0 + normal(8, (5, 2), 1.0))),
    ])
    m = Mapping.from_model(net)
    w_in, w_rec = m.population_weights(net)
    mask_in, mask = m.masks()
    pop = event.RecurrentEventPropLIF(4, 7, params=PARAMS, t_max=T_MAX, max_spikes=7,
                                      weight_in=w_in, weight_rec=w_rec, mask=mask,
                                      mask_in=mask_in, single_spike=True)
    assert Mapping.from_model(pop) == m
    x = Spikes.from_arrays(jnp.array([0.001, 0.004, 0.006, 0.01]), jnp.arange(4), 4)
    hid, out = eqx.filter_jit(lambda n, x: n.trace(x))(net, x)
    assert int(out.count) > 0 and int(hid.count) > 1
    parts = eqx.filter_jit(lambda p, x: m.split(p(x)))(pop, x)
    np.testing.assert_allclose(parts["hidden"].first_times(5), hid.first_times(5), rtol=1e-9)
    np.testing.assert_allclose(parts["output"].first_times(2), out.first_times(2), rtol=1e-9)
