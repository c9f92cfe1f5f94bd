"""Backends, the BSS-2 emulator and hardware-in-the-loop gradients (float64)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsnn_eqx import Spikes, event, hardware
from jaxsnn_eqx.event.backend import simulate_population

P = event.LIFParams(tau_mem=12e-6, tau_syn=6e-6, v_th=1.0)
T_MAX = 30e-6
N_IN, HID, OUT = 10, 12, 3
SIZE = HID + OUT


def _masks():
    """inputs -> HID hidden -> OUT outputs, as one population."""
    return hardware.Mapping.layered(N_IN, (HID, OUT)).masks()


def _inputs(seed, batch=None):
    """Sorted input spikes in [0, 12 us]; with equal times (two copies of each input)."""
    shape = (N_IN // 2,) if batch is None else (batch, N_IN // 2)
    t = jax.random.uniform(jax.random.PRNGKey(seed), shape, jnp.float64) * 12e-6
    t = jnp.concatenate([t, t], axis=-1)
    idx = jnp.broadcast_to(jnp.arange(N_IN, dtype=jnp.int32), t.shape)
    return Spikes(t, idx).sort()


def _layer(backend, seed=0, layered=True, **kw):
    mask_in, mask = _masks() if layered else (None, None)
    args = dict(params=P, t_max=T_MAX, max_spikes=SIZE, single_spike=True,
                key=jax.random.PRNGKey(seed), init_mean=4.0, init_std=2.0,
                rec_init_mean=6.0 if layered else 0.5, rec_init_std=4.0 if layered else 1.0)
    args.update(kw)
    return event.HardwareRecurrentLIF(N_IN, SIZE, backend=backend, mask=mask, mask_in=mask_in,
                                      **args)


def _loss(model, spikes, keys):
    out = jax.vmap(lambda s, k: model(s, key=k))(spikes, keys)
    t = out.first_times(model.size)
    t = jnp.where(jnp.isfinite(t), t, T_MAX)
    return jnp.sum(((t - 6e-6) / 6e-6) ** 2)


# ----------------------------------------------------------------------------- simulation
@pytest.mark.parametrize("layered", [True, False])
def test_ideal_emulator_equals_jax_simulation_bit_for_bit(layered):
    spikes = _inputs(1, batch=16)
    keys = jax.random.split(jax.random.PRNGKey(2), 16)
    sim = _layer(hardware.JaxSimulation(), layered=layered)
    ideal = eqx.tree_at(lambda m: m.backend, sim, hardware.Emulator.ideal())
    real = eqx.tree_at(lambda m: m.backend, sim, hardware.Emulator())
    run = eqx.filter_jit(lambda m, s, k: jax.vmap(lambda s, k: m(s, key=k))(s, k))
    a, b, c = run(sim, spikes, keys), run(ideal, spikes, keys), run(real, spikes, keys)
    assert int(jnp.sum(jnp.isfinite(a.time))) > 16 * HID // 2  # the network is active
    np.testing.assert_array_equal(a.time, b.time)
    np.testing.assert_array_equal(a.idx, b.idx)
    assert not np.array_equal(a.time, c.time)


def test_block_simulation_equals_the_event_loop():
    """The block-by-block path of a masked population gives the event loop's spikes."""
    model = _layer(hardware.JaxSimulation())
    assert model.blocks == (HID, OUT)
    spikes = _inputs(3)
    fast = eqx.filter_jit(simulate_population)(model.population(), spikes)
    w_in, w_rec = model.effective_weights
    loop = eqx.filter_jit(event.simulate)(model.neuron, w_in, spikes, t_max=T_MAX,
                                          max_spikes=SIZE, weight_rec=w_rec)
    np.testing.assert_array_equal(fast.idx, loop.idx)
    fin = np.isfinite(loop.time)
    np.testing.assert_allclose(fast.time[fin], loop.time[fin], rtol=0, atol=1e-13 * T_MAX)
    assert fin.sum() > HID // 2


def test_feedforward_blocks():
    mask_in, mask = _masks()
    assert event.feedforward_blocks(mask_in, mask) == (HID, OUT)
    assert event.feedforward_blocks(None, None) is None
    rec = mask.copy()
    rec[HID + 1, 0] = True  # output -> hidden: recurrent
    assert event.feedforward_blocks(mask_in, rec) is None
    skip = mask_in.copy()
    skip[0, HID] = True  # input -> output skips a block
    assert event.feedforward_blocks(skip, mask) is None


# ----------------------------------------------------------------------------- the emulator
def test_emulator_imperfections():
    spikes = _inputs(4, batch=8)
    keys = jax.random.split(jax.random.PRNGKey(0), 8)
    model = _layer(hardware.Emulator())
    pop = model.population()
    emu = hardware.Emulator()
    run = eqx.filter_jit(lambda pop, s, key: emu(pop, s, key=key))
    # time stamps on the 8 ns grid, and equal stamps occur
    out = run(pop, spikes, keys[0])
    fin = np.isfinite(out.time)
    stamps = np.asarray(out.time[fin]) / 8e-9
    np.testing.assert_allclose(stamps, np.round(stamps), atol=1e-6)
    assert np.all(np.diff(np.where(np.isfinite(out.time), out.time, 1.0), axis=-1) >= 0)
    # fixed pattern: fixed per chip_seed, different between chips, independent of the key
    same = run(pop, spikes, keys[0])
    np.testing.assert_array_equal(out.time, same.time)
    f0, f1 = emu.circuit_factors(SIZE), emu.replace(chip_seed=1).circuit_factors(SIZE)
    assert not np.allclose(f0["v_th"], f1["v_th"])
    np.testing.assert_array_equal(emu.circuit_factors(5)["gain"], f0["gain"][:5])
    # jitter: another key, other times
    other = run(pop, spikes, keys[1])
    assert not np.array_equal(out.time, other.time)
    # weights: multiples of tau_syn / scale, at most 63 of them
    chip = emu.chip_population(pop)
    q = hardware.Emulator.ideal(weight_bits=6).chip_population(pop).weight_in
    lsb = P.tau_syn / emu.weight_scale
    np.testing.assert_allclose(q / lsb, np.round(q / lsb), atol=1e-9)
    assert np.max(np.abs(q / lsb)) <= 63 + 1e-9
    assert chip.neuron.params.tau_mem.shape == (SIZE,)


def test_emulator_spike_loss_and_cap():
    spikes = _inputs(5, batch=32)
    pop = _layer(hardware.JaxSimulation()).population()
    run = eqx.filter_jit(lambda emu, pop, s, key=None: emu(pop, s, key=key))
    base = run(hardware.Emulator.ideal(), pop, spikes)
    lossy = run(hardware.Emulator.ideal(spike_loss=0.5), pop, spikes, key=jax.random.PRNGKey(0))
    n0, n1 = int(base.count.sum()), int(lossy.count.sum())
    assert 0.4 * n0 < n1 < 0.6 * n0
    # a multi-spike population, capped at 2 recorded spikes per neuron
    p_multi = event.LIFParams(tau_mem=12e-6, tau_syn=6e-6, v_th=1.0, t_refrac=2e-6)
    multi = event.Population(event.LIFNeuron(p_multi), pop.weight_in * 3, None, T_MAX, 128)
    free = run(hardware.Emulator.ideal(), multi, spikes)
    capped = run(hardware.Emulator.ideal(max_spikes_per_neuron=2), multi, spikes)
    assert int(free.counts(SIZE).max()) > 2
    assert int(capped.counts(SIZE).max()) == 2
    keep = jnp.minimum(free.counts(SIZE), 2)
    np.testing.assert_array_equal(capped.counts(SIZE), keep)


def test_emulator_validates_and_asks_for_a_key():
    with pytest.raises(ValueError, match="spike_loss"):
        hardware.Emulator(spike_loss=1.5)
    with pytest.raises(ValueError, match="weight bits"):
        hardware.Emulator(weight_bits=0)
    model = _layer(hardware.Emulator())
    with pytest.raises(ValueError, match="pass key"):
        model(_inputs(0))
    with pytest.raises(TypeError, match="Backend"):
        _layer("emulator")


def test_bss2_executor_names_the_missing_stack():
    model = _layer(hardware.BSS2Executor())
    with pytest.raises(ImportError, match="hxtorch.*Emulator"):
        model(_inputs(0))


# ----------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("adjoint_at", event.hardware_lif.ADJOINT_AT)
@pytest.mark.parametrize("layered", [True, False])
def test_ideal_gradients_equal_recurrent_eventprop(layered, adjoint_at):
    hw = _layer(hardware.Emulator.ideal(), layered=layered, adjoint_at=adjoint_at)
    mask_in, mask = _masks() if layered else (None, None)
    ref = event.RecurrentEventPropLIF(
        N_IN, SIZE, params=P, t_max=T_MAX, max_spikes=SIZE, single_spike=True,
        weight_in=hw.weight_in, weight_rec=hw.weight_rec, mask=mask, mask_in=mask_in)
    spikes = _inputs(6, batch=8)
    keys = jax.random.split(jax.random.PRNGKey(0), 8)
    g_hw = eqx.filter_jit(eqx.filter_grad(_loss))(hw, spikes, keys)
    g_ref = eqx.filter_jit(eqx.filter_grad(_loss))(ref, spikes, keys)
    for a, b in ((g_hw.weight_in, g_ref.weight_in), (g_hw.weight_rec, g_ref.weight_rec)):
        assert np.max(np.abs(b)) > 0
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9 * np.max(np.abs(b)))


def test_input_time_gradients_equal_recurrent_eventprop():
    hw = _layer(hardware.JaxSimulation())
    mask_in, mask = _masks()
    ref = event.RecurrentEventPropLIF(
        N_IN, SIZE, params=P, t_max=T_MAX, max_spikes=SIZE, single_spike=True,
        weight_in=hw.weight_in, weight_rec=hw.weight_rec, mask=mask, mask_in=mask_in)
    spikes = _inputs(7)

    def f(model, t):
        return _loss(model, Spikes(t[None], spikes.idx[None]),
                     jax.random.split(jax.random.PRNGKey(0), 1))

    grad_t = eqx.filter_jit(jax.grad(f, argnums=1))
    a, b = grad_t(hw, spikes.time), grad_t(ref, spikes.time)
    assert np.max(np.abs(b)) > 0
    np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9 * np.max(np.abs(b)))


def test_realistic_emulator_gradients_are_finite_with_ties():
    hw = _layer(hardware.Emulator())
    spikes = _inputs(8, batch=32)
    keys = jax.random.split(jax.random.PRNGKey(1), 32)
    out = eqx.filter_jit(jax.vmap(lambda s, k: hw(s, key=k)))(spikes, keys)
    t = np.asarray(out.time)
    ties = sum(np.sum(np.isfinite(r)) - len(np.unique(r[np.isfinite(r)])) for r in t)
    assert ties > 0  # equal 8 ns stamps occur
    g = eqx.filter_jit(eqx.filter_grad(_loss))(hw, spikes, keys)
    assert np.all(np.isfinite(g.weight_in)) and np.all(np.isfinite(g.weight_rec))
    assert np.max(np.abs(g.weight_in)) > 0


def test_slope_floor_bounds_the_adjoint_at_an_unreachable_spike():
    """An observed spike that the software model could not produce (it never reaches
    threshold) gets a bounded gradient of the right sign with the floor."""
    w = jnp.full((1, 1), 0.5 * event.lif_weight_scale(P))  # peaks at half the threshold
    s_in = Spikes(jnp.array([0.0]), jnp.array([0], jnp.int32))
    s_out = Spikes(jnp.array([10e-6]), jnp.array([0], jnp.int32))
    from jaxsnn_eqx.event.eventprop import eventprop_backward

    g = eventprop_backward(P, w, None, s_in, s_out, jnp.array([1.0]), T_MAX, single_spike=True,
                           slope_floor=0.1)
    assert np.isfinite(g.weight).all()
    assert float(g.weight[0, 0]) < 0  # more weight -> earlier spike, as for a real crossing
    raw = eventprop_backward(P, w, None, s_in, s_out, jnp.array([1.0]), T_MAX, single_spike=True)
    assert float(raw.weight[0, 0]) > 0  # without the floor the sign flips


# ----------------------------------------------------------------------------- equinox tools
def test_equinox_tools_on_the_hardware_layer(tmp_path):
    model = _layer(hardware.Emulator())
    spikes = _inputs(9)
    key = jax.random.PRNGKey(3)
    out = eqx.filter_jit(model)(spikes, key=key)
    np.testing.assert_array_equal(out.time, model(spikes, key=key).time)
    edited = eqx.tree_at(lambda m: m.weight_in, model, model.weight_in * 0.0)
    assert int(eqx.filter_jit(edited)(spikes, key=key).count) == 0
    path = tmp_path / "hw.eqx"
    eqx.tree_serialise_leaves(path, model)
    like = _layer(hardware.Emulator(), seed=5)
    back = eqx.tree_deserialise_leaves(path, like)
    np.testing.assert_array_equal(back(spikes, key=key).time, out.time)
    params, static = eqx.partition(model, eqx.is_inexact_array)
    assert set(map(id, jax.tree.leaves(params))) >= {id(model.weight_in), id(model.weight_rec)}
    np.testing.assert_array_equal(eqx.combine(params, static)(spikes, key=key).time, out.time)
    # a mask edited out of the fixed blocks is refused
    bad = eqx.tree_at(lambda m: m.mask, model, jnp.ones((SIZE, SIZE), bool))
    with pytest.raises(Exception, match="feed-forward blocks"):
        bad(spikes, key=key)
