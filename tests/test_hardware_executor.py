"""`hardware.BSS2Executor` over `fake_bss2`, a stand-in of the BSS-2 stack whose chip is an
`Emulator` (float64): placement, units, read-out parsing, batching, equality with the Emulator
(also for a short training), and the clear error without the stack."""

import sys

import equinox as eqx
import fake_bss2
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from fake_bss2.pygrenade_vx import network as gnet

from jaxsnn_eqx import Spikes, data, event, hardware
from jaxsnn_eqx.event.backend import Population
from jaxsnn_eqx.hardware import executor as executor_module
from jaxsnn_eqx.tasks import yinyang_hardware as task

P = event.LIFParams(tau_mem=12e-6, tau_syn=6e-6, v_th=1.0)
T_MAX = 30e-6
N_IN, HID, OUT = 10, 12, 3
SIZE = HID + OUT
BATCH = 8
CLOCK = 8e-9  # one FPGA clock cycle (s)
OFFSET_CYCLES = 50  # the stand-in chip's read-out delay
OFFSET = -OFFSET_CYCLES * CLOCK  # its correction (s)


@pytest.fixture
def stack(monkeypatch):
    """The stand-in stack in ``sys.modules``; fresh executor caches, `CONFIG` and `LOG`."""
    monkeypatch.setattr(executor_module, "_GRAPHS", {})
    monkeypatch.setattr(executor_module, "_CONNECTION", {})
    cfg, log = fake_bss2.install(monkeypatch, offset_cycles=OFFSET_CYCLES, horizon=50e-6)
    cfg.neuron = event.LIFNeuron(P, single_spike=True)
    return cfg, log


def _masks():
    """inputs -> HID hidden -> OUT outputs, as one population."""
    return hardware.Mapping.layered(N_IN, (HID, OUT)).masks()


def _inputs(seed, batch=BATCH, on_clock=True):
    """Sorted inputs in [0, 12 us], two copies of each (equal times); ``on_clock``: on the FPGA
    clock (the chip rounds input times to it, the Emulator does not)."""
    t = jax.random.uniform(jax.random.PRNGKey(seed), (batch, N_IN // 2), jnp.float64) * 12e-6
    t = jnp.concatenate([t, t], axis=-1)
    if on_clock:
        t = jnp.round(t / CLOCK) * CLOCK
    idx = jnp.broadcast_to(jnp.arange(N_IN, dtype=jnp.int32), t.shape)
    return Spikes(t, idx).sort()


def _layer(backend, layered=True, seed=0):
    mask_in, mask = _masks() if layered else (None, None)
    return event.HardwareRecurrentLIF(
        N_IN, SIZE, backend=backend, mask=mask, mask_in=mask_in, params=P, t_max=T_MAX,
        max_spikes=SIZE, single_spike=True, key=jax.random.PRNGKey(seed), init_mean=4.0,
        init_std=2.0, rec_init_mean=6.0 if layered else 0.5,
        rec_init_std=4.0 if layered else 1.0)


@eqx.filter_jit
def _batched(model, spikes):
    """A layer over a batch (as in training: ``jax.vmap`` of per-sample calls)."""
    return jax.vmap(lambda s: model(s))(spikes)


@eqx.filter_jit
def _call(backend, population, spikes):
    return backend(population, spikes)


def _by_time_then_index(s: Spikes):
    """Slots sorted by (time, index): equal time stamps come in any order from a chip."""
    t, i = np.asarray(s.time), np.asarray(s.idx)
    order = np.lexsort((np.where(i < 0, 1 << 30, i), t), axis=-1)
    return np.take_along_axis(t, order, -1), np.take_along_axis(i, order, -1)


def _assert_same_spikes(a: Spikes, b: Spikes, atol=1e-12):
    ta, ia = _by_time_then_index(a)
    tb, ib = _by_time_then_index(b)
    np.testing.assert_array_equal(ia, ib)
    np.testing.assert_array_equal(np.isfinite(ta), np.isfinite(tb))
    fin = np.isfinite(ta)
    np.testing.assert_allclose(ta[fin], tb[fin], rtol=0, atol=atol)


# ----------------------------------------------------------------------------- without the stack
def test_without_the_stack_a_clear_error(monkeypatch):
    for name in fake_bss2.MODULES:
        monkeypatch.setitem(sys.modules, name, None)  # not importable, whatever is installed
    assert {"hxtorch", "pygrenade_vx"} <= set(hardware.executor.missing_stack())
    ex = hardware.BSS2Executor()
    pop = _layer(ex).population()
    with pytest.raises(ImportError, match="hxtorch, pygrenade_vx.*Emulator"):
        ex(pop, _inputs(0))
    with pytest.raises(ImportError, match="hxtorch.*Emulator"):
        _batched(_layer(ex), _inputs(0))


def test_validation(stack):
    with pytest.raises(ValueError, match="weight_scale"):
        hardware.BSS2Executor(weight_scale=0.0)
    with pytest.raises(ValueError, match="runtime"):
        hardware.BSS2Executor(runtime=-1.0)
    with pytest.raises(ValueError, match="bits"):
        hardware.BSS2Executor(weight_bits=0)
    with pytest.raises(ValueError, match="shorter than"):
        _batched(_layer(hardware.BSS2Executor(runtime=20e-6)), _inputs(0))
    with pytest.raises(ValueError, match="too long"):
        _batched(_layer(hardware.BSS2Executor(runtime=100.0)), _inputs(0))
    s = _inputs(0)
    with pytest.raises(Exception, match="negative"):
        _batched(_layer(hardware.BSS2Executor(time_offset=OFFSET)),
                 Spikes(s.time.at[0, 0].set(-1e-6), s.idx))
    # no silent 0: without a calibration and without an explicit offset, no run
    with pytest.raises(ValueError, match="time_offset is unset"):
        _batched(_layer(hardware.BSS2Executor()), s)


# ----------------------------------------------------------------------------- translation
def test_placement_and_signed_weights(stack, tmp_path):
    cfg, log = stack
    calib = tmp_path / "chip.pbin"
    calib.write_bytes(b"coco")
    ex = hardware.BSS2Executor(calibration=str(calib), time_offset=OFFSET)
    model = _layer(ex)
    _batched(model, _inputs(0))
    assert (log.init, log.calibrations) == (1, [str(calib)])
    run = log.runs[-1]
    net = run["network"]
    pops = [p for _, p in sorted(net.populations.items())]
    assert isinstance(pops[0], gnet.ExternalSourcePopulation) and pops[0].size == N_IN
    assert [p.size for p in pops[1:]] == [HID, OUT]
    circuits = [n.coordinate.get_atomic_neurons()[0].value for p in pops[1:] for n in p.neurons]
    assert circuits == list(range(SIZE))  # neuron n on neuron circuit n
    both = {gnet.Receptor(gnet.Receptor.ID(), gnet.Receptor.Type.excitatory),
            gnet.Receptor(gnet.Receptor.ID(), gnet.Receptor.Type.inhibitory)}
    for p in pops[1:]:
        for n in p.neurons:
            (comp,) = n.compartments.values()
            assert comp.receptors == [both] and comp.spike_master.enable_record_spikes
            an = n.coordinate.get_atomic_neurons()[0]
            assert run["chip"].neuron_block.atomic_neurons[an].event_routing.enable_digital

    # the signed weights: magnitudes of Mapping.to_hardware, positive ones excitatory only,
    # negative ones inhibitory only, zeros nowhere
    mapping = hardware.Mapping.layered(N_IN, (HID, OUT))
    expected = mapping.to_hardware(*model.effective_weights, scale=56.0, tau_syn=P.tau_syn)
    desc = {"input": 0, "hidden": 1, "output": 2}
    for q in mapping.projections:
        exc, inh = (np.asarray(a) for a in expected[q.name])
        assert exc.any() and inh.any() and not (exc.astype(bool) & inh.astype(bool)).any()
        for kind, w in (("excitatory", exc), ("inhibitory", inh)):
            (proj,) = [g for g in net.projections.values()
                       if (g.population_pre.value, g.population_post.value, g.receptor.type.name)
                       == (desc[q.pre], desc[q.post], kind)]
            got = np.zeros_like(w)
            for c in proj.connections:
                assert c.weight.value > 0
                got[c.index_pre[0], c.index_post[0]] = c.weight.value
            np.testing.assert_array_equal(got, w)
    # what the chip holds: signed weights [pre, post neuron circuit], nothing elsewhere
    signed = {name: np.asarray(e) - np.asarray(i) for name, (e, i) in expected.items()}
    np.testing.assert_array_equal(run["weight_in"][:, :HID], signed["input->hidden"])
    np.testing.assert_array_equal(run["weight_rec"][:HID, HID:], signed["hidden->output"])
    assert not run["weight_in"][:, HID:].any()
    assert np.count_nonzero(run["weight_rec"]) == np.count_nonzero(signed["hidden->output"])


def test_routing_is_reused_while_the_connectivity_stays(stack):
    _, log = stack
    s = _inputs(0)
    dense = hardware.BSS2Executor(time_offset=OFFSET, all_synapses=True)
    model = _layer(dense)
    _batched(model, s)
    _batched(eqx.tree_at(lambda m: m.weight_in, model, model.weight_in * 0.5), s)
    assert log.routed == 1  # the same synapses, other weights: no new routing
    n_conn = sum(len(q.connections) for q in log.runs[-1]["network"].projections.values())
    assert n_conn == 2 * (N_IN * HID + HID * OUT)  # zero weights included
    sparse = _layer(hardware.BSS2Executor(time_offset=OFFSET))
    _batched(sparse, s)
    _batched(eqx.tree_at(lambda m: m.weight_in, sparse, sparse.weight_in.at[0, 0].set(0.0)), s)
    assert log.routed == 3  # nonzero synapses only: another connectivity, another routing


# ----------------------------------------------------------------------------- units
def test_units_offset_and_clock(stack):
    cfg, log = stack
    s = _inputs(1, on_clock=False)
    model = _layer(hardware.BSS2Executor(runtime=40e-6, time_offset=0.0))  # no correction
    out = _batched(model, s)
    run = log.runs[-1]
    assert run["runtime"] == 5000  # cycles
    # inputs: per batch entry and input neuron, in ms, rounded to clock cycles by the stack
    t, i = np.asarray(s.time), np.asarray(s.idx)
    for b in range(BATCH):
        for n in range(N_IN):
            ms = sorted(t[b, i[b] == n] * 1e3)
            assert log.inputs[-1][b][n] == pytest.approx(ms, rel=1e-15)
            # the binding takes float32 ms: llround(float(t) * 1000 * 125)
            assert run["input_cycles"][b][n] == [round(float(np.float32(x)) * 125e3)
                                                 for x in ms]
    # read-out: recorded cycles / 125e6 (the uncorrected offset included)
    for b in range(BATCH):
        cycles = sorted(c for ts in run["recorded"][b].values() for c in ts
                        if c / 125e6 <= T_MAX)
        got = np.sort(np.asarray(out.time[b])[np.isfinite(out.time[b])])
        np.testing.assert_allclose(got, np.asarray(cycles) / 125e6, rtol=1e-15)
    corrected = _batched(_layer(hardware.BSS2Executor(time_offset=OFFSET)), s)
    assert log.runs[-1]["runtime"] == 6250  # default: max(t_max, 50 us)
    fin = np.isfinite(out.time)
    np.testing.assert_array_equal(out.idx, corrected.idx)
    np.testing.assert_allclose(out.time[fin] - corrected.time[fin], OFFSET_CYCLES * CLOCK,
                               rtol=0, atol=1e-18)
    # time stamps of the clock; the chip rounded the inputs to it: within a cycle of the
    # same chip driven by the exact inputs
    cycles = np.asarray(corrected.time)[fin] / CLOCK
    np.testing.assert_allclose(cycles, np.round(cycles), rtol=0, atol=1e-6)
    ref = _batched(_layer(cfg.chip), s)
    a, b = corrected.first_times(SIZE), ref.first_times(SIZE)
    np.testing.assert_array_equal(np.isfinite(a), np.isfinite(b))
    assert np.max(np.abs(np.where(np.isfinite(a), a - b, 0.0))) <= CLOCK * (1 + 1e-9)


def test_parsing_of_unsorted_padded_read_out():
    mapping = hardware.Mapping.layered(3, (3, 2))  # hidden: neurons 0..2, output: 3..4
    inf = np.inf
    raw = {  # (local idx, cycles), slots in no order, padding anywhere
        "hidden": (np.array([[2, -1, 0, 2, 1, -1]]),
                   np.array([[550, inf, 550, 900, 4000, inf]], np.float32)),
        "output": (np.array([[-1, 1, 0, -1, -1, -1]]),
                   np.array([[inf, 560, 550, inf, inf, inf]], np.float32)),
    }
    kw = dict(cycles_per_s=125e6, time_offset=-50 / 125e6, t_max=30e-6, slots=6)
    t, i, count, full = executor_module._parse_readout(raw, mapping, single_spike=False,
                                                       max_spikes=6, **kw)
    # 4000 cycles = 32 us - 0.4 us > t_max: dropped; ties: lower index first
    np.testing.assert_array_equal(i, [[0, 2, 3, 4, 2, -1]])
    np.testing.assert_allclose(t[0, :5], np.array([500, 500, 500, 510, 850]) / 125e6,
                               rtol=1e-15)
    assert t[0, 5] == inf and count.tolist() == [5] and full.tolist() == [False]
    t, i, count, _ = executor_module._parse_readout(raw, mapping, single_spike=True,
                                                    max_spikes=3, **kw)
    np.testing.assert_array_equal(i, [[0, 2, 3]])  # first spikes only; cut to max_spikes
    assert count.tolist() == [4]  # ... but counted: more than max_spikes raises
    full = executor_module._parse_readout(raw, mapping, single_spike=True, max_spikes=6,
                                          **{**kw, "slots": 4})[3]
    assert full.tolist() == [True]  # the hidden buffer is full: spikes may have been cut


# ----------------------------------------------------------------------------- batching
def test_one_run_per_batch(stack):
    _, log = stack
    ex = hardware.BSS2Executor(time_offset=OFFSET)
    model = _layer(ex)
    s = _inputs(3)
    out = _batched(model, s)
    assert len(log.runs) == 1 and log.runs[0]["batch"] == BATCH
    # a batched call of the backend itself, (2, 4) samples: one run, shapes kept
    pop = model.population()
    s2 = Spikes(s.time.reshape(2, 4, N_IN), s.idx.reshape(2, 4, N_IN))
    out2 = ex(pop, s2)
    assert len(log.runs) == 2 and log.runs[1]["batch"] == BATCH
    assert out2.time.shape == (2, 4, SIZE)
    np.testing.assert_array_equal(out2.idx.reshape(BATCH, SIZE), out.idx)
    single = ex.run(pop, Spikes(s.time[5], s.idx[5]))
    assert len(log.runs) == 3 and log.runs[2]["batch"] == 1
    np.testing.assert_array_equal(single.idx, out.idx[5])

    # samples with different weights run separately (one run per set of weights)
    ws = jnp.stack([pop.weight_in, 1.1 * pop.weight_in])
    jax.vmap(lambda w: ex(eqx.tree_at(lambda p: p.weight_in, pop, w), s))(ws)
    assert [r["batch"] for r in log.runs[3:]] == [BATCH, BATCH]


# ----------------------------------------------------------------------------- against the Emulator
def test_equals_the_emulator_feedforward(stack):
    cfg, _ = stack
    s = _inputs(4)
    out = _batched(_layer(hardware.BSS2Executor(time_offset=OFFSET)), s)
    ref = _batched(_layer(cfg.chip), s)
    assert int(jnp.sum(jnp.isfinite(ref.time))) > BATCH * HID // 2  # the network is active
    _assert_same_spikes(out, ref)


def _recurrent(max_spikes=64):
    """A recurrent population of multi-spike neurons (refractory 2 us)."""
    k1, k2 = jax.random.split(jax.random.PRNGKey(7))
    w1 = event.lif_weight_scale(P)
    w_in = w1 * (1.0 + 0.8 * jax.random.normal(k1, (N_IN, SIZE))) / 2
    w_rec = w1 * 0.4 * jax.random.normal(k2, (SIZE, SIZE))
    neuron = event.LIFNeuron(event.LIFParams(tau_mem=12e-6, tau_syn=6e-6, v_th=1.0,
                                             t_refrac=2e-6))
    return Population(neuron, w_in, w_rec, T_MAX, max_spikes)


def test_recurrent_multi_spike_equals_the_emulator_and_overflow_raises(stack):
    cfg, log = stack
    pop = _recurrent()
    cfg.neuron, cfg.spikes_per_neuron = pop.neuron, 16
    s = _inputs(5)
    ex = hardware.BSS2Executor(time_offset=OFFSET)
    out = _call(ex, pop, s)
    ref = _call(cfg.chip, pop, s)
    assert int(jnp.max(ref.counts(SIZE))) > 1  # neurons fire several times
    _assert_same_spikes(out, ref)
    # one recurrent population; input and recurrent projections, both signs
    net = log.runs[-1]["network"]
    assert [p.size for _, p in sorted(net.populations.items())] == [N_IN, SIZE]
    kinds = sorted((q.population_pre.value, q.population_post.value, q.receptor.type.name)
                   for q in net.projections.values())
    assert kinds == [(0, 1, "excitatory"), (0, 1, "inhibitory"), (1, 1, "excitatory"),
                     (1, 1, "inhibitory")]
    # more spikes than max_spikes, or than a population's read-out buffer: an error
    n = int(jnp.max(jnp.sum(jnp.isfinite(ref.time), -1)))
    with pytest.raises(Exception, match="max_spikes"):
        _call(ex, _recurrent(max_spikes=n - 1), s)
    with pytest.raises(Exception, match="readout_slots"):
        _call(hardware.BSS2Executor(time_offset=OFFSET, readout_slots=4), pop, s)


def test_training_equals_training_on_the_emulator(stack):
    """Three Adam steps of the hardware Yin-Yang task: on the executor over the stand-in chip,
    and on the same emulated chip directly: the same parameters."""
    cfg, log = stack
    args = task._resolve(task.parser_for().parse_args(
        ["--hidden", str(HID), "--repeat", str(N_IN // 5), "--batch-size", str(BATCH)]))
    x, y = data.yinyang(jax.random.PRNGKey(0), size=BATCH)
    s = task.encode(x, args)
    s = Spikes(jnp.round(s.time / CLOCK) * CLOCK, s.idx)  # inputs on the chip's clock
    loss_fn, _ = task.make_fns(args)

    def train(backend):
        model = task.build_model(jax.random.PRNGKey(1), args, backend=backend)
        opt = optax.adam(args.lr)
        params = eqx.filter(model, eqx.is_inexact_array)
        state = opt.init(params)
        factors = task.weight_units(model, args)

        @eqx.filter_jit
        def step(model, state, key):
            loss, g = eqx.filter_value_and_grad(loss_fn)(model, s, y, key)
            updates, state = opt.update(g, state)
            updates = jax.tree.map(lambda u, f: u * f, updates, factors)
            return eqx.apply_updates(model, updates), state, loss

        losses = []
        for k in range(3):
            model, state, loss = step(model, state, jax.random.PRNGKey(10 + k))
            losses.append(float(loss))
        return model, losses

    on_chip, loss_chip = train(hardware.BSS2Executor(time_offset=OFFSET))
    assert len(log.runs) == 3 and all(r["batch"] == BATCH for r in log.runs)  # one per step
    on_emu, loss_emu = train(cfg.chip)
    np.testing.assert_allclose(loss_chip, loss_emu, rtol=1e-9)
    assert loss_chip[0] != loss_chip[-1]  # it trained
    for a, b in zip(jax.tree.leaves(eqx.filter(on_chip, eqx.is_inexact_array)),
                    jax.tree.leaves(eqx.filter(on_emu, eqx.is_inexact_array)), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12 * float(jnp.max(jnp.abs(b))))
