"""`BSS2Executor`: the BrainScaleS-2 chip as a `Backend` (needs the BSS-2 software stack).

The stack (``hxtorch``, ``pygrenade_vx``, ``calix``) is not on the Python package index; it
comes with access to a BSS-2 system. Without it, using the executor raises an `ImportError` that
names what is missing and points to `Emulator`, which emulates the chip in software.

One call of the executor is one run of the chip over a whole batch of samples:

* **placement**: the `Population` becomes a `Mapping`: ``Mapping.layered(in_size, blocks)``
  for a chain of feed-forward blocks (e.g. 25 inputs -> 100 hidden -> 3 output), else one
  recurrent population ``"population"`` (an input projection and, with ``weight_rec``, a
  recurrent one). Neuron ``n`` of the population is the ``n``-th neuron circuit (hxtorch's
  ``NeuronPlacement``, in order), which is configured to send and record its spikes.
* **network** (grenade): one external source population (the inputs); one population per
  mapping population, each neuron with an excitatory and an inhibitory receptor; for every
  projection an excitatory and an inhibitory grenade projection holding the integer magnitudes
  of `Mapping.to_hardware`: ``round(clip(weight_scale w / tau_syn, -63, 63))``, positive ones
  on the excitatory, negative ones on the inhibitory projection; only nonzero synapses, or
  every synapse the mapping allows with ``all_synapses`` (then the connectivity, and so the
  routing, stays the same while the weights are trained; routings are reused when possible).
* **units**: model time is chip time, in seconds. Input spike times go to the stack in
  milliseconds (grenade's ``InputGenerator.add`` takes floats in ms and rounds them to the
  FPGA clock, 125 cycles per us); the run lasts ``runtime`` (in clock cycles); recorded times
  come back in clock cycles and become seconds: ``cycles / 125e6 + time_offset`` (the offset
  corrects the constant read-out delay, e.g. -50 cycles = -4e-7 s; a time it makes negative
  becomes 0). Input spikes after the runtime are not sent.
* **read-out**: ``extract_n_spikes`` gives each population's spikes as ``(idx, time)`` arrays
  ``[batch, readout_slots]`` in no particular order, padded with -1 / inf. Indices become
  population indices; spikes after ``t_max`` are dropped (the chip runs for ``runtime >=
  t_max``); single-spike neurons keep their first spike (the chip may fire again after its
  refractory time); the rest is sorted by time (equal time stamps: lower index first) and
  padded to ``max_spikes``. More spikes than ``max_spikes``, or a read-out buffer filled up
  (the stack cuts spikes beyond it), raise an error (`eqx.error_if`): spikes are never dropped
  silently.
* **jit and vmap**: the chip is called through `jax.pure_callback`
  (``vmap_method="expand_dims"``), so a batch, also one made by `jax.vmap` around a
  per-sample call (`event.HardwareRecurrentLIF` does this), is ONE run on the chip; only
  samples with different weights run separately. The weights may be traced. No gradients flow
  through the chip: `event.HardwareRecurrentLIF` takes them from EventProp of the software
  model at the observed spikes.

The chip's own neuron parameters come from its calibration (``calibration``: the
portable-binary chip configuration written by ``calix``; default: the chip's nightly one), not
from the population's `LIFParams`; only ``tau_syn`` enters, through the weight conversion.

The stack is called as hxtorch's own spiking execution code calls it (hxtorch 3bfc7aad,
2026-03-12: ``spiking/experiment.py``, ``spiking/execution_instance.py``): the chip configuration
is loaded with ``calib_helper.chip_from_file``; its ``neuron_block`` is read (the binding returns
a copy), edited and assigned back; ``NetworkBuilder`` builds the network; ``InputGenerator.done()``
returns an ``InputDataSnippet`` that goes into ``signal_flow.InputData().snippets``, with the
runtime set on that snippet per batch entry; ``_hxtorch_spiking.run`` takes the nested chip map
``{ExecutionInstanceID: {ChipOnConnection: lola.Chip}}`` and the hooks
``{ExecutionInstanceID: execution.ExecutionInstanceHooks}``; ``_hxtorch_core.extract_n_spikes``
reads the spikes. `SUPPORTED` names the versions; `check_stack` refuses others in one line. Each
call, with its source, is listed in ``docs/bss2.md``.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import sys
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Bool, Float, Int, PRNGKeyArray

from ..event.backend import Backend, Population
from ..event.lif import LIFNeuron
from ..spikes import Spikes
from . import weights as hw_weights
from .mapping import INPUT, HardwareWeights, Mapping, PopulationSpec, Projection

__all__ = ["BSS2Executor", "missing_stack", "release_hardware", "check_stack", "SUPPORTED"]

SUPPORTED = ("grenade 8aee1e0d (2025-05-26) up to 29641ec5 (2026-06-10), the last with "
             "network.NetworkBuilder, with hxtorch 3bfc7aad (2026-03-12)")
# what each generation of the stack has, by feature (grenade and hxtorch commit in the docs)
_FEATURES = (
    ("network", "NetworkBuilder",
     "grenade 93eaf6d5 (2026-04-17) replaced the network interface by common::Topology"),
    ("network", "InputGenerator", "grenade has no network.InputGenerator"),
    ("signal_flow", "InputData", "grenade has no signal_flow.InputData"),
    ("common", "ChipOnConnection", "grenade before ea8b2170 (2025-05-13) has no ChipOnConnection"),
    ("execution", "ExecutionInstanceHooks",
     "grenade before 8aee1e0d (2025-05-26) keeps ExecutionInstanceHooks in signal_flow"),
)

STACK = ("hxtorch", "pygrenade_vx", "_hxtorch_core", "_hxtorch_spiking", "dlens_vx_v3")
RECEPTORS = ("excitatory", "inhibitory")  # the two grenade receptor types, in `split_signs` order


def _importable(name: str) -> bool:
    if name in sys.modules:
        return sys.modules[name] is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def missing_stack() -> tuple[str, ...]:
    """The modules of the BSS-2 software stack that cannot be imported here."""
    return tuple(m for m in STACK if not _importable(m))


def check_stack(grenade) -> None:
    """Raise a one-line error unless ``grenade`` (``pygrenade_vx``) is of a supported generation
    (detected by feature: the calls of `BSS2Executor` exist with their current shape)."""
    for module, name, why in _FEATURES:
        if not hasattr(getattr(grenade, module, None), name):
            raise RuntimeError(f"BSS2Executor: unsupported BSS-2 software stack ({why}); "
                               f"supported: {SUPPORTED}.")
    if not hasattr(grenade.signal_flow.InputData(), "snippets"):
        raise RuntimeError("BSS2Executor: unsupported BSS-2 software stack (grenade before "
                           f"89291d98 (2025-05-14): InputData has no snippets); supported: "
                           f"{SUPPORTED}.")


class _Stack(NamedTuple):
    """The parts of the stack the executor uses (imported at call time)."""

    hxtorch: Any
    grenade: Any  # pygrenade_vx
    core: Any  # _hxtorch_core
    spiking: Any  # _hxtorch_spiking
    hal: Any
    halco: Any
    NeuronPlacement: Any
    SingleCompartmentNeuron: Any
    calib_helper: Any


def _import_stack() -> _Stack:
    missing = missing_stack()
    if missing:
        raise ImportError(
            "BSS2Executor needs the BrainScaleS-2 software stack, which is not installed "
            f"here (missing: {', '.join(missing)}; it is not on PyPI and comes with access "
            "to a BSS-2 system). To train without the chip, use the emulated chip: "
            "backend=jaxsnn_eqx.hardware.Emulator().")
    import _hxtorch_core
    import _hxtorch_spiking
    import hxtorch
    import pygrenade_vx
    from dlens_vx_v3 import hal, halco
    from hxtorch.spiking.morphology import SingleCompartmentNeuron
    from hxtorch.spiking.neuron_placement import NeuronPlacement
    from hxtorch.spiking.utils import calib_helper

    check_stack(pygrenade_vx)
    return _Stack(hxtorch, pygrenade_vx, _hxtorch_core, _hxtorch_spiking, hal, halco,
                  NeuronPlacement, SingleCompartmentNeuron, calib_helper)


# The chip connection (opened on the first run, released at exit) and the routed network
# graphs (reused while the connectivity stays the same): process state, as on the stack.
_CONNECTION: dict[str, Any] = {}
_GRAPHS: dict[tuple, Any] = {}


def _connect(hxtorch) -> None:
    if _CONNECTION.get("hxtorch") is not hxtorch:
        release_hardware()
        hxtorch.init_hardware()
        _CONNECTION["hxtorch"] = hxtorch
        if not _CONNECTION.get("atexit"):
            atexit.register(release_hardware)
            _CONNECTION["atexit"] = True


def release_hardware() -> None:
    """Release the chip (the executor connects on its first run and releases at exit)."""
    hxtorch = _CONNECTION.pop("hxtorch", None)
    if hxtorch is not None:
        hxtorch.release_hardware()


class BSS2Executor(Backend):
    """Runs populations on a BrainScaleS-2 chip (see the module docstring).

    Attributes:
        calibration: path of the chip's portable-binary configuration (from ``calix``);
            ``None``: the chip's nightly calibration.
        weight_scale: hardware weight units per volt of current jump ``w / tau_syn`` (a
            property of the calibration: `from_calibration` takes the calibration's; 56 is this
            library's emulated chip's, the published jaxsnn used 43, 49 and 58 for its
            calibrations, see ``docs/bss2.md``).
        time_offset: added to the recorded times (s), to correct the constant read-out delay
            (published setups: about -20 to -50 clock cycles). `from_calibration` takes the
            offset the calibration measured; ``None`` (unset): a run is refused, never 0
            silently.
        runtime: how long the chip runs per sample (s); ``None``: ``max(t_max, 50 us)``.
        weight_bits: synapse weight magnitude bits (6 on BSS-2).
        all_synapses: connect every synapse the mapping allows, zero weights included (fixed
            connectivity, one routing for a whole training); else only the nonzero ones.
        readout_slots: spikes read out per population and sample; ``None``: ``2 max_spikes``.
            A full buffer raises (the stack cuts spikes beyond it).
    """

    calibration: str | None = eqx.field(static=True, default=None)
    weight_scale: float = eqx.field(static=True, default=56.0)
    time_offset: float | None = eqx.field(static=True, default=None)
    runtime: float | None = eqx.field(static=True, default=None)
    weight_bits: int = eqx.field(static=True, default=hw_weights.WEIGHT_BITS)
    all_synapses: bool = eqx.field(static=True, default=False)
    readout_slots: int | None = eqx.field(static=True, default=None)

    @classmethod
    def from_calibration(cls, path, **changes) -> BSS2Executor:
        """The executor for a chip calibrated by ``python -m jaxsnn_eqx.hardware.calib``
        (``DIR`` or ``DIR/calibration.json``): its chip configuration, weight scale and
        measured read-out ``time_offset``."""
        from .calibration import Calibration

        cal = Calibration.load(path)
        return cls(**{"calibration": cal.chip_config, "weight_scale": cal.weight_scale,
                      "time_offset": cal.time_offset, **changes})

    def __check_init__(self):
        if not self.weight_scale > 0:
            raise ValueError(f"BSS2Executor: weight_scale must be positive, got "
                             f"{self.weight_scale!r}.")
        hw_weights.weight_max(self.weight_bits)  # raises for a bad bit count
        if self.runtime is not None and not self.runtime > 0:
            raise ValueError(f"BSS2Executor: runtime must be positive (s) or None, got "
                             f"{self.runtime!r}.")
        if self.readout_slots is not None and self.readout_slots < 1:
            raise ValueError(f"BSS2Executor: readout_slots must be >= 1 or None, got "
                             f"{self.readout_slots!r}.")

    # ------------------------------------------------------------------ translation
    @staticmethod
    def mapping(population: Population) -> Mapping:
        """Where ``population`` sits on the chip: layered by its blocks, else one recurrent
        population ``"population"``."""
        if population.blocks is not None:
            return Mapping.layered(population.in_size, population.blocks)
        pop = PopulationSpec("population", population.size, 0)
        projs = [Projection(INPUT, pop.name)]
        if population.weight_rec is not None:
            projs.append(Projection(pop.name, pop.name))
        return Mapping(population.in_size, (pop,), tuple(projs))

    def hardware_weights(self, population: Population,
                         mapping: Mapping | None = None) -> HardwareWeights:
        """The integer ``{projection: (exc, inh)}`` magnitudes ``[pre, post]`` the chip gets
        (jit-able; ``tau_syn`` from the population's neuron)."""
        mapping = self.mapping(population) if mapping is None else mapping
        if not isinstance(population.neuron, LIFNeuron):
            raise TypeError(f"BSS2Executor: runs LIF neurons (event.LIFNeuron), got "
                            f"{type(population.neuron).__name__}.")
        params = population.neuron.params
        w_rec = population.weight_rec
        if w_rec is None:
            w_rec = jnp.zeros((population.size, population.size), population.weight_in.dtype)
        return mapping.to_hardware(population.weight_in, w_rec, scale=self.weight_scale,
                                   tau_syn=params.tau_syn, bits=self.weight_bits)

    def runtime_of(self, population: Population) -> float:
        """The chip's runtime for ``population`` (s)."""
        return max(population.t_max, 50e-6) if self.runtime is None else self.runtime

    def slots_of(self, population: Population) -> int:
        """Spikes read out per population and sample."""
        return 2 * population.max_spikes if self.readout_slots is None else self.readout_slots

    # ------------------------------------------------------------------ Backend
    def run(self, population: Population, spikes: Spikes,
            key: PRNGKeyArray | None = None) -> Spikes:
        out = self(population, Spikes(spikes.time[None], spikes.idx[None]), key=key)
        return Spikes(out.time[0], out.idx[0])

    def __call__(self, population: Population, spikes: Spikes, *,
                 key: PRNGKeyArray | None = None) -> Spikes:
        """Observed output of ``spikes`` (``(*batch, n_in)``): ``(*batch, max_spikes)``; the
        chip's trial-to-trial noise is its own, ``key`` is not used."""
        del key
        stack = _import_stack()  # the clear error, at trace time
        runtime = self.runtime_of(population)
        if runtime < population.t_max:
            raise ValueError(f"BSS2Executor: runtime {runtime} s is shorter than the population's "
                             f"t_max {population.t_max} s.")
        timer = stack.hal.Timer.Value
        if round(runtime * 1e6 * int(timer.fpga_clock_cycles_per_us)) > timer.max:
            raise ValueError(f"BSS2Executor: runtime {runtime} s is too long; the FPGA timer "
                             f"runs {timer.max / int(timer.fpga_clock_cycles_per_us) * 1e-6} s "
                             "at most.")
        if self.time_offset is None:
            raise ValueError("BSS2Executor: time_offset is unset; use "
                             "BSS2Executor.from_calibration(DIR) (the calibration measures it) "
                             "or pass time_offset= (s) explicitly, e.g. -20 clock cycles = "
                             "-1.6e-7.")
        mapping = self.mapping(population)
        hw = jax.tree.map(lambda a: a[None], self.hardware_weights(population, mapping))
        batch, k = spikes.time.shape[:-1], spikes.time.shape[-1]
        n, m = int(np.prod(batch)), population.max_spikes
        dtype = jnp.result_type(spikes.time, population.weight_in)
        host = functools.partial(
            self._host, mapping=mapping, t_max=population.t_max, max_spikes=m,
            single_spike=bool(getattr(population.neuron, "single_spike", False)),
            runtime=runtime, slots=self.slots_of(population),
            dtype=np.dtype(dtype))
        shapes = (jax.ShapeDtypeStruct((n, m), dtype), jax.ShapeDtypeStruct((n, m), jnp.int32),
                  jax.ShapeDtypeStruct((n,), jnp.int32), jax.ShapeDtypeStruct((n,), jnp.bool_))
        time, idx, count, full = jax.pure_callback(
            host, shapes, hw, spikes.time.reshape(n, k), spikes.idx.reshape(n, k),
            vmap_method="expand_dims")
        time = eqx.error_if(time, jnp.any(count > m),
                            f"BSS2Executor: the chip recorded more spikes than max_spikes={m} "
                            "before t_max; raise max_spikes.")
        time = eqx.error_if(time, jnp.any(full),
                            f"BSS2Executor: a population's read-out buffer (readout_slots="
                            f"{self.slots_of(population)}) filled up, so the stack may have cut "
                            "spikes; raise readout_slots (or shorten runtime).")
        return Spikes(time.reshape(*batch, m), idx.reshape(*batch, m))

    # ------------------------------------------------------------------ host side
    def _host(self, hw, in_time, in_idx, *, mapping, t_max, max_spikes, single_spike,
              runtime, slots, dtype):
        """The callback: arrays with leading batch axes (``expand_dims``: size 1 where not
        batched); one chip run per distinct set of weights."""
        leaves, treedef = jax.tree.flatten(hw)
        w_lead = np.broadcast_shapes(*(a.shape[:-2] for a in leaves))
        full_shape = np.broadcast_shapes(in_time.shape[:-1], w_lead)
        k = in_time.shape[-1]
        t = np.broadcast_to(in_time, full_shape + (k,)).reshape(-1, k)
        i = np.broadcast_to(in_idx, full_shape + (k,)).reshape(-1, k)
        n_sets = int(np.prod(w_lead))
        sets = np.broadcast_to(np.arange(n_sets).reshape(w_lead), full_shape).ravel()
        leaves = [np.broadcast_to(a, w_lead + a.shape[-2:]).reshape((n_sets,) + a.shape[-2:])
                  for a in leaves]
        rows = t.shape[0]
        out_t = np.full((rows, max_spikes), np.inf, dtype)
        out_i = np.full((rows, max_spikes), -1, np.int32)
        count, full = np.zeros(rows, np.int32), np.zeros(rows, bool)
        for s in np.unique(sets):
            r = np.flatnonzero(sets == s)
            weights = jax.tree.unflatten(treedef, [np.asarray(a[s]) for a in leaves])
            raw, per_s = self._run_on_chip(mapping, weights, t[r], i[r], runtime=runtime,
                                           slots=slots)
            out_t[r], out_i[r], count[r], full[r] = _parse_readout(
                raw, mapping, cycles_per_s=per_s, time_offset=float(self.time_offset),
                t_max=t_max,
                single_spike=single_spike, max_spikes=max_spikes, slots=slots)
        return (out_t.reshape(full_shape + (max_spikes,)),
                out_i.reshape(full_shape + (max_spikes,)),
                count.reshape(full_shape), full.reshape(full_shape))

    def _run_on_chip(self, mapping: Mapping, hw: dict, in_time: np.ndarray,
                     in_idx: np.ndarray, *, runtime: float, slots: int):
        """One run of a batch ``in_time, in_idx`` ``(batch, n)`` (s) with the integer weights
        ``hw``; returns ``({population: (idx, cycles)}, clock cycles per second)``."""
        stack = _import_stack()
        grenade, net, halco = stack.grenade, stack.grenade.network, stack.halco
        _connect(stack.hxtorch)
        helper = stack.calib_helper
        chip = helper.chip_from_file(self.calibration if self.calibration is not None
                                     else helper.nightly_calib_path())

        # neuron n -> the n-th neuron circuit; it sends and records its spikes. The binding
        # returns a copy of the neuron block: edit it, then assign it back (as hxtorch).
        morphology = stack.SingleCompartmentNeuron(1)
        placement = stack.NeuronPlacement()
        ids = list(range(mapping.size))
        placement.register_id(ids, morphology.compartments)
        coords = placement.id2logicalneuron(ids)
        block = chip.neuron_block
        for coord in coords:
            morphology.implement_morphology(coord, block)
            morphology.set_spike_recording(True, coord, block)
        chip.neuron_block = block

        builder = net.NetworkBuilder()
        desc = {INPUT: builder.add(net.ExternalSourcePopulation(
            [net.ExternalSourcePopulation.Neuron() for _ in range(mapping.in_size)]))}
        receptor = {r: net.Receptor(net.Receptor.ID(), getattr(net.Receptor.Type, r))
                    for r in RECEPTORS}
        compartment = halco.CompartmentOnLogicalNeuron()
        Neuron = net.Population.Neuron  # noqa: N806
        for p in mapping.populations:
            neurons = [Neuron(c, {compartment: Neuron.Compartment(
                Neuron.Compartment.SpikeMaster(0, True),
                [set(receptor.values())] * len(c.get_atomic_neurons()))})
                for c in coords[p.first:p.stop]]
            desc[p.name] = builder.add(net.Population(neurons))
        for q in mapping.projections:
            allowed = np.ones(hw[q.name][0].shape, bool) if q.mask is None else q.mask
            for r, w in zip(RECEPTORS, hw[q.name], strict=True):
                w = np.asarray(w)
                pre, post = np.nonzero(allowed if self.all_synapses else (w > 0) & allowed)
                if pre.size == 0:
                    continue
                connections = [net.Projection.Connection(
                    (int(a), compartment), (int(b), compartment),
                    net.Projection.Connection.Weight(int(w[a, b])))
                    for a, b in zip(pre, post, strict=True)]
                builder.add(net.Projection(receptor[r], connections, desc[q.pre], desc[q.post]))
        network = builder.done()
        graph = self._network_graph(stack, mapping, network)

        per_us = int(stack.hal.Timer.Value.fpga_clock_cycles_per_us)
        runtime_cycles = int(round(runtime * 1e6 * per_us))
        batch = in_time.shape[0]
        generator = net.InputGenerator(graph, batch)
        generator.add(_input_lists(in_time, in_idx, mapping.in_size, runtime), desc[INPUT])
        snippet = generator.done()  # an InputDataSnippet
        instance = grenade.common.ExecutionInstanceID()
        snippet.runtime = [{instance: runtime_cycles}] * batch
        inputs = grenade.signal_flow.InputData()
        inputs.snippets = [snippet]
        outputs = stack.spiking.run({instance: {grenade.common.ChipOnConnection(): chip}}, graph,
                                    inputs, {instance: grenade.execution.ExecutionInstanceHooks()})
        pops = {p.name: desc[p.name] for p in mapping.populations}
        raw = stack.core.extract_n_spikes(outputs, graph, runtime_cycles,
                                          {d: slots for d in pops.values()})
        return {name: raw[d] for name, d in pops.items()}, per_us * 1e6

    def _network_graph(self, stack: _Stack, mapping: Mapping, network):
        """The routed graph of ``network``: the last one of this placement, updated, while
        the connectivity stays the same; else a new routing."""
        net = stack.grenade.network
        cache = (id(stack.grenade), self.calibration, mapping)
        graph = _GRAPHS.get(cache)
        if graph is not None and not net.requires_routing(network, graph):
            net.update_network_graph(graph, network)
            return graph
        graph = net.build_network_graph(network, net.routing.PortfolioRouter()(network))
        _GRAPHS[cache] = graph
        return graph


def _input_lists(in_time: Float[np.ndarray, "batch n"], in_idx: Int[np.ndarray, "batch n"],
                 in_size: int, runtime: float) -> list[list[list[float]]]:
    """``[batch][input neuron]`` -> sorted spike times in milliseconds (the stack's unit for
    float times); unused slots (``idx < 0`` or ``inf``) and spikes after ``runtime`` left out."""
    t, i = np.asarray(in_time, np.float64), np.asarray(in_idx)
    use = (i >= 0) & np.isfinite(t)
    if np.any(use & (t < 0)):
        raise ValueError("BSS2Executor: input spike times must not be negative.")
    if np.any(use & (i >= in_size)):
        raise ValueError(f"BSS2Executor: input index >= in_size={in_size}.")
    use &= t <= runtime
    out = []
    for tb, ib, ub in zip(t, i, use, strict=True):
        per = [[] for _ in range(in_size)]
        for time, n in sorted(zip(tb[ub], ib[ub], strict=True)):
            per[int(n)].append(float(time) * 1e3)
        out.append(per)
    return out


def _parse_readout(
    raw: dict[str, tuple[np.ndarray, np.ndarray]], mapping: Mapping, *, cycles_per_s: float,
    time_offset: float, t_max: float, single_spike: bool, max_spikes: int, slots: int,
) -> tuple[Float[np.ndarray, "batch m"], Int[np.ndarray, "batch m"], Int[np.ndarray, " batch"],
           Bool[np.ndarray, " batch"]]:
    """``extract_n_spikes``' per-population ``(idx, cycles)`` ``[batch, slots]`` (any order,
    -1 / inf padding) -> ``(time (s), idx, count, full)``: the population's spikes up to
    ``t_max``, sorted (ties: lower index first), padded or cut to ``max_spikes``; ``count``: how
    many there were, ``full``: whether some population filled its buffer."""
    times, idxs, full = [], [], None
    for p in mapping.populations:
        idx, cyc = (np.asarray(a) for a in raw[p.name])
        valid = (idx >= 0) & np.isfinite(cyc)
        f = valid.sum(axis=1) >= slots
        full = f if full is None else full | f
        with np.errstate(invalid="ignore"):
            t = np.maximum(cyc.astype(np.float64) / cycles_per_s + time_offset, 0.0)
        valid &= t <= t_max
        times.append(np.where(valid, t, np.inf))
        idxs.append(np.where(valid, idx.astype(np.int64) + p.first, -1))
    t, i = np.concatenate(times, axis=1), np.concatenate(idxs, axis=1)
    i_key = np.where(i >= 0, i, np.iinfo(np.int64).max)
    order = np.lexsort((i_key, t), axis=1)
    t, i = np.take_along_axis(t, order, 1), np.take_along_axis(i, order, 1)
    if single_spike:  # each neuron's first spike
        for b in range(t.shape[0]):
            _, first = np.unique(i[b], return_index=True)
            later = np.ones(i.shape[1], bool)
            later[first] = False
            t[b, later], i[b, later] = np.inf, -1
        order = np.argsort(t, axis=1, kind="stable")
        t, i = np.take_along_axis(t, order, 1), np.take_along_axis(i, order, 1)
    count = np.isfinite(t).sum(axis=1).astype(np.int32)
    m = min(max_spikes, t.shape[1])
    out_t = np.full((t.shape[0], max_spikes), np.inf)
    out_i = np.full((t.shape[0], max_spikes), -1, np.int32)
    out_t[:, :m], out_i[:, :m] = t[:, :m], i[:, :m]
    return out_t, out_i, count, full

