"""Stand-in of ``dlens_vx_v3.lola``: the chip configuration the executor touches."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from types import SimpleNamespace


@dataclasses.dataclass
class AtomicNeuron:
    """One neuron circuit's configuration (only what the executor sets)."""

    event_routing: SimpleNamespace = dataclasses.field(
        default_factory=lambda: SimpleNamespace(enable_digital=False))
    multicompartment: SimpleNamespace = dataclasses.field(
        default_factory=lambda: SimpleNamespace(connected=False))


@dataclasses.dataclass
class NeuronBlock:
    """The neuron circuits' configurations, by ``halco.AtomicNeuronOnDLS``."""

    atomic_neurons: dict = dataclasses.field(default_factory=lambda: defaultdict(AtomicNeuron))


@dataclasses.dataclass
class Chip:
    """A chip configuration (as loaded from a calibration)."""

    neuron_block: NeuronBlock = dataclasses.field(default_factory=NeuronBlock)
    source: str = ""
