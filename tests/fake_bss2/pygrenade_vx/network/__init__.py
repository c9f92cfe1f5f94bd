"""Stand-in of ``pygrenade_vx.network``: the network description, routing, input generation.

Same names and signatures as grenade's (the published jaxsnn's usage); the builder checks what
grenade requires of a network (known populations, indices in range, receptors present on the
post-synaptic neurons, weights >= 0 (above 63 a connection is split over several synapses, as
`build_connection_weight_split`), no connection added twice, no neuron circuit used twice).
"""

from __future__ import annotations

import dataclasses
import enum
import math

import numpy as np

from ... import LOG
from ...dlens_vx_v3 import hal, halco
from ..common import ExecutionInstanceID
from ..signal_flow import InputDataSnippet
from . import routing

__all__ = ["Receptor", "ExternalSourcePopulation", "Population", "Projection",
           "PopulationOnNetwork", "ProjectionOnNetwork", "Network", "NetworkBuilder",
           "NetworkGraph", "build_network_graph", "requires_routing", "update_network_graph",
           "InputGenerator", "routing", "build_connection_weight_split"]

WEIGHT_MAX = 63


@dataclasses.dataclass(frozen=True)
class Receptor:
    """A synaptic input of a neuron compartment: ``Receptor(Receptor.ID(), Receptor.Type.x)``."""

    @dataclasses.dataclass(frozen=True, order=True)
    class ID:
        value: int = 0

    class Type(enum.Enum):
        excitatory = 0
        inhibitory = 1

    id: Receptor.ID
    type: Receptor.Type


@dataclasses.dataclass(frozen=True, order=True)
class PopulationOnNetwork:
    """Descriptor of a population in a network."""

    value: int
    execution_instance: ExecutionInstanceID = ExecutionInstanceID()

    def toExecutionInstanceID(self) -> ExecutionInstanceID:  # noqa: N802 (grenade's name)
        return self.execution_instance


@dataclasses.dataclass(frozen=True, order=True)
class ProjectionOnNetwork:
    """Descriptor of a projection in a network."""

    value: int
    execution_instance: ExecutionInstanceID = ExecutionInstanceID()


class ExternalSourcePopulation:
    """Spike sources outside the chip (the inputs)."""

    @dataclasses.dataclass(frozen=True)
    class Neuron:
        enable_record_spikes: bool = False

    def __init__(self, neurons, chip_coordinate=None):
        self.neurons = list(neurons)
        if not all(isinstance(n, ExternalSourcePopulation.Neuron) for n in self.neurons):
            raise TypeError("ExternalSourcePopulation: neurons must be "
                            "ExternalSourcePopulation.Neuron")

    @property
    def size(self) -> int:
        return len(self.neurons)


class Population:
    """On-chip neurons: ``Population([Population.Neuron(coordinate, compartments), ...])``."""

    class Neuron:
        class Compartment:
            @dataclasses.dataclass(frozen=True)
            class SpikeMaster:
                neuron_on_compartment: int
                enable_record_spikes: bool

            def __init__(self, spike_master, receptors):
                self.spike_master = spike_master
                self.receptors = [set(r) for r in receptors]
                for r in self.receptors:
                    if not all(isinstance(x, Receptor) for x in r):
                        raise TypeError("Population.Neuron.Compartment: receptors must be "
                                        "sets of Receptor")

        def __init__(self, coordinate: halco.LogicalNeuronOnDLS, compartments: dict):
            self.coordinate = coordinate
            self.compartments = dict(compartments)
            placed = coordinate.get_placed_compartments()
            for c, comp in self.compartments.items():
                if c not in placed or len(comp.receptors) != len(placed[c]):
                    raise ValueError(f"Population.Neuron: compartment {c} does not match the "
                                     f"neuron {coordinate} (one receptor set per circuit).")

    def __init__(self, neurons, chip_coordinate=None):
        self.neurons = list(neurons)

    @property
    def size(self) -> int:
        return len(self.neurons)

    def get_atomic_neurons(self) -> set:
        return {a for n in self.neurons for a in n.coordinate.get_atomic_neurons()}


class Projection:
    """Synapses between two populations on one receptor type."""

    class Connection:
        @dataclasses.dataclass(frozen=True, order=True)
        class Weight:
            value: int = 0

        def __init__(self, index_pre, index_post, weight):
            self.index_pre = (int(index_pre[0]), index_pre[1])
            self.index_post = (int(index_post[0]), index_post[1])
            self.weight = weight if isinstance(weight, Projection.Connection.Weight) else \
                Projection.Connection.Weight(int(weight))

    def __init__(self, receptor: Receptor, connections, population_pre, population_post,
                 chip_coordinate=None):
        self.receptor = receptor
        self.connections = list(connections)
        self.population_pre = population_pre
        self.population_post = population_post


@dataclasses.dataclass
class Network:
    """What `NetworkBuilder.done` returns."""

    populations: dict
    projections: dict

    def connectivity(self) -> tuple:
        """Everything routing depends on (not the weights)."""
        pops = tuple((d, type(p).__name__, p.size if isinstance(p, ExternalSourcePopulation)
                      else tuple(n.coordinate for n in p.neurons))
                     for d, p in sorted(self.populations.items()))
        projs = tuple((q.population_pre, q.population_post, q.receptor.type,
                       tuple(sorted((c.index_pre[0], c.index_post[0]) for c in q.connections)))
                      for _, q in sorted(self.projections.items()))
        return pops, projs


class NetworkBuilder:
    """Collects populations and projections: ``add(...)`` returns descriptors, ``done()`` the
    network."""

    def __init__(self):
        self._populations, self._projections = {}, {}

    def add(self, entity, execution_instance: ExecutionInstanceID | None = None):
        execution_instance = execution_instance or ExecutionInstanceID()
        if isinstance(entity, ExternalSourcePopulation | Population):
            if isinstance(entity, Population):
                used = set().union(*(p.get_atomic_neurons() for p in self._populations.values()
                                     if isinstance(p, Population)))
                if used & entity.get_atomic_neurons():
                    raise ValueError("NetworkBuilder: neuron circuits used twice.")
            d = PopulationOnNetwork(len(self._populations), execution_instance)
            self._populations[d] = entity
            return d
        if isinstance(entity, Projection):
            self._check_projection(entity)
            d = ProjectionOnNetwork(len(self._projections), execution_instance)
            self._projections[d] = entity
            return d
        raise TypeError(f"NetworkBuilder.add: cannot add a {type(entity).__name__}")

    def _check_projection(self, q: Projection) -> None:
        pre = self._populations.get(q.population_pre)
        post = self._populations.get(q.population_post)
        if pre is None or not isinstance(post, Population):
            raise ValueError("NetworkBuilder: a projection needs added populations (the "
                             "post-synaptic one on the chip).")
        seen = {(c.index_pre[0], c.index_post[0]) for p in self._projections.values()
                if (p.population_pre, p.population_post, p.receptor.type)
                == (q.population_pre, q.population_post, q.receptor.type)
                for c in p.connections}
        for c in q.connections:
            i, j = c.index_pre[0], c.index_post[0]
            if not (0 <= i < pre.size and 0 <= j < post.size):
                raise ValueError(f"NetworkBuilder: connection {i} -> {j} out of range.")
            comp = post.neurons[j].compartments[c.index_post[1]]
            if not any(q.receptor in r for r in comp.receptors):
                raise ValueError(f"NetworkBuilder: neuron {j} has no receptor {q.receptor}.")
            if c.weight.value < 0:  # unsigned: the sign is the receptor's
                raise ValueError(f"NetworkBuilder: weight {c.weight.value} is negative.")
            if (i, j) in seen:
                raise ValueError(f"NetworkBuilder: connection {i} -> {j} added twice.")
            seen.add((i, j))

    def done(self) -> Network:
        net = Network(self._populations, self._projections)
        self._populations, self._projections = {}, {}
        return net


@dataclasses.dataclass
class NetworkGraph:
    """A routed network."""

    network: Network
    routing_result: routing.RoutingResult


def build_network_graph(network: Network, routing_result: routing.RoutingResult
                        ) -> NetworkGraph:
    if routing_result.connectivity != network.connectivity():
        raise ValueError("build_network_graph: the routing result is of another network.")
    return NetworkGraph(network, routing_result)


def requires_routing(current: Network, old_graph: NetworkGraph) -> bool:
    return current.connectivity() != old_graph.routing_result.connectivity


def update_network_graph(network_graph: NetworkGraph, network: Network) -> None:
    if requires_routing(network, network_graph):
        raise ValueError("update_network_graph: the network requires routing.")
    network_graph.network = network


def build_connection_weight_split(weight: int, num: int) -> list[int]:
    """The synapse weights (each <= 63) of one connection of weight ``weight`` split over
    ``num`` synapses; ``OverflowError`` if they cannot hold it."""
    full, partial = divmod(int(weight), WEIGHT_MAX)
    if full >= num and partial != 0:
        raise OverflowError("Weight too large to be split into requested number.")
    out = [WEIGHT_MAX] * full + ([partial] if partial else [])
    return (out + [0] * num)[:num]


def _llround(x: float) -> int:
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


class InputGenerator:
    """External spike trains of a batch: ``add(times, population)`` with ``times[batch][neuron]``
    a list of spike times in milliseconds (as floats; rounded to FPGA clock cycles), then
    ``done()``."""

    def __init__(self, network_graph: NetworkGraph, batch_size: int = 1):
        self._graph, self._events = network_graph, [{} for _ in range(batch_size)]

    def add(self, times, population: PopulationOnNetwork) -> None:
        pop = self._graph.network.populations.get(population)
        if not isinstance(pop, ExternalSourcePopulation):
            raise ValueError("InputGenerator.add: not an external source population.")
        if len(times) != len(self._events):
            raise ValueError(f"InputGenerator.add: {len(times)} batch entries, expected "
                             f"{len(self._events)}.")
        LOG.inputs.append([[list(t) for t in b] for b in times])
        per_us = hal.Timer.Value.fpga_clock_cycles_per_us
        for events, batch in zip(self._events, times, strict=True):
            if len(batch) != pop.size:
                raise ValueError(f"InputGenerator.add: {len(batch)} neurons, expected "
                                 f"{pop.size}.")
            for n, ts in enumerate(batch):
                # float in ms, as the binding's std::vector<float>, -> llround(t 1000 cycles/us)
                cyc = [_llround(float(np.float32(t)) * 1000.0 * per_us) for t in ts]
                if any(c < 0 for c in cyc):
                    raise ValueError("InputGenerator.add: negative spike time.")
                events.setdefault((population, n), []).extend(cyc)

    def done(self) -> InputDataSnippet:
        return InputDataSnippet(spike_events=[{k: sorted(v) for k, v in e.items()}
                                       for e in self._events])
