"""Stand-in of ``_hxtorch_spiking``: ``run``, the chip, emulated by `CONFIG.chip`.

The emulated chip sees what the real one would: the neuron circuits of the populations (neuron
circuit ``c`` is the emulator's neuron ``c``, so the fixed-pattern variation follows the
circuit), the integer weights of the projections (excitatory minus inhibitory, as model weights
``w_hw tau_syn / weight_scale`` of its calibrated neuron model), the input events in clock
cycles and the runtime. A neuron whose digital output is off (``set_spike_recording``) neither
drives other neurons nor is recorded.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from jaxsnn_eqx import Spikes, hardware
from jaxsnn_eqx.event.backend import Population as EventPopulation
from jaxsnn_eqx.event.backend import feedforward_blocks

from . import CONFIG, LOG
from .dlens_vx_v3 import hal, halco
from .dlens_vx_v3.lola import Chip
from .pygrenade_vx.common import ChipOnConnection, ExecutionInstanceID
from .pygrenade_vx.execution import ExecutionInstanceHooks
from .pygrenade_vx.network import (
    ExternalSourcePopulation,
    Receptor,
    build_connection_weight_split,
    requires_routing,
)
from .pygrenade_vx.signal_flow import InputData, InputDataSnippet, OutputData, OutputDataSnippet


@eqx.filter_jit
def _emulate(chip: hardware.Emulator, pop: EventPopulation, spikes: Spikes, keys):
    if keys is None:
        return jax.vmap(lambda s: chip.run(pop, s, None))(spikes)
    return jax.vmap(lambda s, k: chip.run(pop, s, k))(spikes, keys)


def _circuits(neuron, size: int):
    """The calibrated neuron model of the first ``size`` neuron circuits."""
    cut = lambda x: x[:size] if eqx.is_array(x) and x.ndim == 1 else x
    return jax.tree.map(cut, neuron)


def run(config: dict, network_graph, inputs: InputData, hooks: dict) -> OutputData:
    """Run the routed network on the (emulated) chip for every batch entry of ``inputs``.

    As hxtorch's ``run`` (``include/hxtorch/spiking/run.h``): ``config`` is grenade's nested
    ``JITGraphExecutor::ChipConfigs`` ``{ExecutionInstanceID: {ChipOnConnection: lola.Chip}}``,
    ``inputs`` an ``InputData`` whose ``snippets`` hold one ``InputDataSnippet``, ``hooks``
    ``{ExecutionInstanceID: execution.ExecutionInstanceHooks}``; without a connection
    (``init_hardware``) it raises ``No connection present.``"""
    if not LOG.connected:
        raise RuntimeError("No connection present.")
    instance = ExecutionInstanceID()
    if not isinstance(config, dict) or not isinstance(config.get(instance), dict):
        raise TypeError("run(): incompatible function arguments: config must be "
                        "{ExecutionInstanceID: {ChipOnConnection: lola.Chip}}.")
    chip_config = config[instance].get(ChipOnConnection())
    if not isinstance(chip_config, Chip):
        raise TypeError("run(): incompatible function arguments: config[instance] must map "
                        "ChipOnConnection to lola.Chip.")
    if not isinstance(inputs, InputData) or len(inputs.snippets) != 1 \
            or not isinstance(inputs.snippets[0], InputDataSnippet):
        raise TypeError("run(): incompatible function arguments: inputs must be an InputData "
                        "holding one InputDataSnippet in .snippets.")
    if not isinstance(hooks.get(instance), ExecutionInstanceHooks):
        raise TypeError("run(): incompatible function arguments: hooks must be "
                        "{ExecutionInstanceID: execution.ExecutionInstanceHooks}.")
    snippet = inputs.snippets[0]
    network = network_graph.network
    if requires_routing(network, network_graph):
        raise ValueError("run: the network graph does not match its network.")
    batch = snippet.batch_size
    runtimes = {r[instance] for r in snippet.runtime}
    if len(snippet.runtime) != batch or len(runtimes) != 1:
        raise ValueError("run: need one runtime per batch entry (the stand-in: all equal).")
    runtime = runtimes.pop()
    per_s = hal.Timer.Value.fpga_clock_cycles_per_us * 1e6

    # neuron circuits, their outputs and recording
    circuit, recorded, sends, offset, n_in = {}, {}, set(), {}, 0
    block = chip_config.neuron_block
    for d, p in sorted(network.populations.items()):
        if isinstance(p, ExternalSourcePopulation):
            offset[d], n_in = n_in, n_in + p.size
            continue
        for n, nrn in enumerate(p.neurons):
            (an,) = nrn.coordinate.get_atomic_neurons()
            c = an.value
            circuit[d, n] = c
            master = nrn.compartments[halco.CompartmentOnLogicalNeuron()].spike_master
            if block.atomic_neurons[an].event_routing.enable_digital:
                sends.add(c)
                if master is not None and master.enable_record_spikes:
                    recorded[c] = (d, n)
    size = max(circuit.values()) + 1

    # the synapses: signed integer weights [pre, post circuit]
    w_in, w_rec = np.zeros((n_in, size), np.int64), np.zeros((size, size), np.int64)
    mask_in, mask = np.zeros_like(w_in, bool), np.zeros_like(w_rec, bool)
    for q in network.projections.values():
        sign = 1 if q.receptor.type == Receptor.Type.excitatory else -1
        for c in q.connections:
            # a weight above 63 occupies several synapses whose weights add up to it
            split = build_connection_weight_split(c.weight.value, -(-c.weight.value // 63) or 1)
            assert sum(split) == c.weight.value
            post = circuit[q.population_post, c.index_post[0]]
            if q.population_pre in offset:
                pre = offset[q.population_pre] + c.index_pre[0]
                w_in[pre, post] += sign * c.weight.value
                mask_in[pre, post] = True
            else:
                pre = circuit[q.population_pre, c.index_pre[0]]
                w_rec[pre, post] += sign * c.weight.value * (pre in sends)
                mask[pre, post] = True
    neuron = _circuits(CONFIG.neuron, size)
    chip = CONFIG.chip
    model = lambda w: hardware.weights.from_hardware(w, scale=chip.weight_scale,
                                                     tau_syn=neuron.params.tau_syn)
    horizon = runtime / per_s if CONFIG.horizon is None else CONFIG.horizon
    if horizon < runtime / per_s:
        raise ValueError("fake run: CONFIG.horizon is shorter than the runtime.")
    pop = EventPopulation(neuron, model(w_in), model(w_rec), t_max=horizon,
                          max_spikes=CONFIG.spikes_per_neuron * size,
                          blocks=feedforward_blocks(mask_in, mask))

    # input events (cycles) -> spikes (s)
    events = []
    for e in snippet.spike_events:
        ev = sorted((t, offset[d] + n) for (d, n), ts in e.items() for t in ts)
        events.append(ev)
    k = max(1, max(len(ev) for ev in events))
    rows = -(-batch // 8) * 8  # padded to a multiple of 8 (reuses compilations)
    t_in, i_in = np.full((rows, k), np.inf), np.full((rows, k), -1, np.int32)
    for b, ev in enumerate(events):
        for j, (t, n) in enumerate(ev):
            t_in[b, j], i_in[b, j] = t / per_s, n
    keys = None
    if chip.needs_key:
        keys = jax.random.split(jax.random.PRNGKey(CONFIG.seed + 1000 * len(LOG.runs)), rows)
    out = _emulate(chip, pop, Spikes(jnp.asarray(t_in), jnp.asarray(i_in)), keys)
    times, idx = np.asarray(out.time, np.float64), np.asarray(out.idx)

    comp = halco.CompartmentOnLogicalNeuron()
    spikes = []
    for b in range(batch):
        rec = {}
        for t, c in zip(times[b], idx[b], strict=True):
            if c >= 0 and int(c) in recorded and t * per_s <= runtime:
                d, n = recorded[int(c)]
                rec.setdefault((d, n, comp), []).append(int(np.rint(t * per_s))
                                                         + CONFIG.offset_cycles)
        spikes.append(rec)
    LOG.runs.append(dict(network=network, chip=chip_config, batch=batch, runtime=runtime,
                         input_cycles=[[sorted(e.get((d, n), [])) for d in sorted(offset)
                                        for n in range(network.populations[d].size)]
                                       for e in snippet.spike_events],
                         weight_in=w_in, weight_rec=w_rec, recorded=spikes))
    return OutputData(snippets=[OutputDataSnippet(spikes=spikes)])
