"""The BSS-2 stand-in (`tests/fake_bss2`) against its source table (`fake_bss2/sources.json`).

Every class and function the stand-in offers has an entry naming its source in the public
stack (repo@commit:path) and, for callables, its parameter names; the stand-in reproduces the
semantics of the supported version that bite a caller (connection, copies, snippets, the nested
chip map, where the hooks live, calix's targets and range checks, weight splitting). The last
test keeps a copy of the executor's OLD call sequence and shows that it fails here.
"""

import inspect
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import fake_bss2
import numpy as np
import pytest

TABLE = json.loads((Path(fake_bss2.__file__).parent / "sources.json").read_text())
SOURCE = re.compile(r"^electronicvisions/(grenade|hxtorch|calix|jaxsnn)@[0-9a-f]{40}:\S+$")
MIRROR = Path("/work/.mirror")


def _public(mods):
    """``{dotted name: object}`` of the classes and functions the stand-in defines."""
    out = {}

    def walk(prefix, obj, depth):
        for k, v in vars(obj).items():
            if k.startswith("_") or not (inspect.isclass(v) or inspect.isfunction(v)
                                         or isinstance(v, staticmethod)):
                continue
            v = v.__func__ if isinstance(v, staticmethod) else v
            if not getattr(v, "__module__", "").startswith("fake_bss2"):
                continue
            if depth == 0 and v.__module__ != f"fake_bss2.{prefix}":
                continue  # re-exported from another stand-in module
            out[f"{prefix}.{k}"] = v
            if inspect.isclass(v) and depth < 3:
                walk(f"{prefix}.{k}", v, depth + 1)

    for name, mod in mods.items():
        walk(name, mod, 0)
    return out


def _resolve(mods, dotted):
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        if ".".join(parts[:i]) in mods:
            obj = mods[".".join(parts[:i])]
            for p in parts[i:]:
                obj = getattr(obj, p)
            return obj
    raise KeyError(dotted)


def test_every_offered_name_has_its_source_and_signature():
    mods = fake_bss2._submodules()
    offered = _public(mods)
    missing = sorted(set(offered) - set(TABLE))
    assert not missing, f"stand-in names without a source in sources.json: {missing}"
    for name, entry in TABLE.items():
        obj = _resolve(mods, name)  # every entry exists in the stand-in
        assert SOURCE.match(entry["source"]) or entry["source"] == "stand-in only", name
        if entry["params"] is not None:
            params = list(inspect.signature(obj).parameters)
            assert params == entry["params"], (name, params, entry["params"])


@pytest.mark.slow  # a subprocess run (CI runs -m slow)
@pytest.mark.skipif(not MIRROR.exists() or shutil.which("git") is None,
                    reason="needs the fetched mirrors of the stack's repositories")
def test_every_cited_file_exists_at_its_commit():
    for name, entry in TABLE.items():
        if entry["source"] == "stand-in only":
            continue
        repo, rest = entry["source"].split("@")
        commit, path = rest.split(":", 1)
        git_dir = MIRROR / repo.replace("/", "+") / "repo"
        if not git_dir.exists():
            continue
        ok = subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "-e",
                             f"{commit}:{path}"], capture_output=True).returncode == 0
        assert ok, f"{name}: {entry['source']} does not exist"


@pytest.fixture
def stack(monkeypatch):
    cfg, log = fake_bss2.install(monkeypatch)
    return {n: sys.modules[n] for n in fake_bss2.MODULES}, log


def _tiny_network(grenade, halco):
    """One input -> one neuron; returns (graph, input descriptor, population descriptor)."""
    net = grenade.network
    builder = net.NetworkBuilder()
    src = builder.add(net.ExternalSourcePopulation([net.ExternalSourcePopulation.Neuron()]))
    rec = net.Receptor(net.Receptor.ID(), net.Receptor.Type.excitatory)
    comp = halco.CompartmentOnLogicalNeuron()
    coord = halco.LogicalNeuronOnDLS(halco.LogicalNeuronCompartments(), halco.AtomicNeuronOnDLS(0))
    Neuron = net.Population.Neuron  # noqa: N806
    pop = builder.add(net.Population([Neuron(coord, {comp: Neuron.Compartment(
        Neuron.Compartment.SpikeMaster(0, True), [{rec}])})]))
    builder.add(net.Projection(rec, [net.Projection.Connection(
        (0, comp), (0, comp), net.Projection.Connection.Weight(100))], src, pop))
    network = builder.done()
    graph = net.build_network_graph(network, net.routing.PortfolioRouter()(network))
    return graph, src, pop, coord


def test_the_semantics_that_bite(stack):
    mods, log = stack
    grenade, halco, lola = mods["pygrenade_vx"], mods["dlens_vx_v3"].halco, \
        mods["dlens_vx_v3"].lola
    # the hooks live in execution, no longer in signal_flow
    assert hasattr(grenade.execution, "ExecutionInstanceHooks")
    assert not hasattr(grenade.signal_flow, "ExecutionInstanceHooks")
    # InputData holds snippets; the runtime is a snippet's
    data = grenade.signal_flow.InputData()
    assert data.snippets == [] and not hasattr(data, "runtime")
    with pytest.raises(AttributeError):
        data.runtime = []
    # neuron_block returns a copy: only an assignment reaches the chip
    chip = lola.Chip()
    chip.neuron_block.atomic_neurons[halco.AtomicNeuronOnDLS(0)].event_routing.enable_digital = True
    assert not chip.neuron_block.atomic_neurons[halco.AtomicNeuronOnDLS(0)].event_routing \
        .enable_digital
    block = chip.neuron_block
    block.atomic_neurons[halco.AtomicNeuronOnDLS(0)].event_routing.enable_digital = True
    chip.neuron_block = block
    assert chip.neuron_block.atomic_neurons[halco.AtomicNeuronOnDLS(0)].event_routing \
        .enable_digital
    # weights above 63 are split over several synapses (grenade build_connection_weight_split)
    split = grenade.network.build_connection_weight_split
    assert split(100, 2) == [63, 37] and split(63, 3) == [63, 0, 0]
    with pytest.raises(OverflowError):
        split(130, 2)
    # run needs a connection, the nested chip map, InputData.snippets, execution hooks
    graph, src, pop, _ = _tiny_network(grenade, halco)
    gen = grenade.network.InputGenerator(graph, 1)
    gen.add([[[0.001]]], src)
    snippet = gen.done()
    assert isinstance(snippet, grenade.signal_flow.InputDataSnippet)
    inst = grenade.common.ExecutionInstanceID()
    snippet.runtime = [{inst: 6250}]
    data.snippets = [snippet]
    hooks = {inst: grenade.execution.ExecutionInstanceHooks()}
    chips = {inst: {grenade.common.ChipOnConnection(): chip}}
    with pytest.raises(RuntimeError, match="No connection present"):
        mods["_hxtorch_spiking"].run(chips, graph, data, hooks)
    mods["hxtorch"].init_hardware()
    out = mods["_hxtorch_spiking"].run(chips, graph, data, hooks)
    with pytest.raises(TypeError, match="incompatible"):
        mods["_hxtorch_spiking"].run({inst: chip}, graph, data, hooks)
    idx, t = mods["_hxtorch_core"].extract_n_spikes(out, graph, 6250, {pop: 4})[pop]
    assert idx.shape == t.shape == (1, 4)
    assert np.all((idx >= 0) == np.isfinite(t))
    mods["hxtorch"].release_hardware()
    with pytest.raises(RuntimeError, match="No connection present"):
        mods["_hxtorch_spiking"].run(chips, graph, data, hooks)


def test_calix_targets_units_and_ranges(stack):
    mods, _ = stack
    calix, halco = mods["calix"], mods["dlens_vx_v3"].halco
    target = calix.spiking.neuron.NeuronCalibTarget()
    with pytest.raises(TypeError):  # per-neuron arrays only
        target.tau_mem = 12e-6
    with pytest.raises(AttributeError):  # i_synin_gm lives under cuba_synin
        target.i_synin_gm  # noqa: B018
    target.cuba_synin.i_synin_gm = 500
    target.tau_mem.fill(12e-6)  # seconds
    for an in halco.iter_all(halco.AtomicNeuronOnDLS):
        target.tau_syn[an].fill(6e-6)
    calix.spiking.neuron.check_target(target)
    for bad in (30e-9, 33e-6):  # refractory time: 40 ns to 32 us
        target.refractory_time.fill(bad)
        with pytest.raises(ValueError, match="refractory_time"):
            calix.spiking.neuron.check_target(target)
    target.refractory_time.fill(30e-6)
    target.tau_mem.fill(12.0)  # microseconds by mistake: out of range
    with pytest.raises(ValueError, match="tau_mem"):
        calix.spiking.neuron.check_target(target)


def test_the_old_calling_code_fails_on_the_supported_stack(stack):
    """A copy of the executor's old call sequence (the published jaxsnn generation): in-place
    neuron_block edits, ``done()`` as the run's input with ``runtime`` on it, a flat chip map,
    hooks from signal_flow. Each of them fails (or silently loses the configuration) now."""
    mods, log = stack
    grenade, halco, lola = mods["pygrenade_vx"], mods["dlens_vx_v3"].halco, \
        mods["dlens_vx_v3"].lola
    graph, src, pop, coord = _tiny_network(grenade, halco)
    mods["hxtorch"].init_hardware()
    chip = lola.Chip()
    morph = mods["hxtorch"].spiking.morphology.SingleCompartmentNeuron(1)
    # old: configure the neuron block in place
    morph.implement_morphology(coord, chip.neuron_block)
    morph.set_spike_recording(True, coord, chip.neuron_block)
    assert not chip.neuron_block.atomic_neurons[coord.get_atomic_neurons()[0]] \
        .event_routing.enable_digital  # the edit was lost: no spikes would be recorded
    gen = grenade.network.InputGenerator(graph, 1)
    gen.add([[[0.001]]], src)
    inputs = gen.done()  # old: used as the run's InputData
    instance = grenade.common.ExecutionInstanceID()
    inputs.runtime = [{instance: 6250}]
    with pytest.raises(AttributeError):  # old: hooks from signal_flow
        grenade.signal_flow.ExecutionInstanceHooks()
    with pytest.raises(TypeError, match="incompatible"):  # old: flat chip map, snippet input
        mods["_hxtorch_spiking"].run({instance: chip}, graph, inputs,
                                     {instance: grenade.execution.ExecutionInstanceHooks()})
    with pytest.raises(TypeError, match="incompatible"):  # even with the nested map
        mods["_hxtorch_spiking"].run({instance: {grenade.common.ChipOnConnection(): chip}},
                                     graph, inputs,
                                     {instance: grenade.execution.ExecutionInstanceHooks()})
    assert log.runs == []


def test_the_executor_refuses_other_generations_in_one_line(stack):
    from types import SimpleNamespace

    from jaxsnn_eqx.hardware import executor

    mods, _ = stack
    grenade = mods["pygrenade_vx"]
    executor.check_stack(grenade)  # the supported one
    newer = SimpleNamespace(network=SimpleNamespace(), signal_flow=grenade.signal_flow,
                            common=grenade.common, execution=grenade.execution)
    with pytest.raises(RuntimeError, match="93eaf6d5.*supported: grenade") as err:
        executor.check_stack(newer)
    assert "\n" not in str(err.value)
    older = SimpleNamespace(network=grenade.network, signal_flow=grenade.signal_flow,
                            common=grenade.common, execution=SimpleNamespace())
    with pytest.raises(RuntimeError, match="8aee1e0d.*supported"):
        executor.check_stack(older)
