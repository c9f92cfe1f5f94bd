"""Stand-in of ``dlens_vx_v3.lola``: the chip configuration the executor touches."""

from __future__ import annotations

import copy
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


class Chip:
    """A chip configuration (as loaded from a calibration).

    ``neuron_block`` behaves like the pybind11 property of the real binding: reading it returns
    a COPY, so edits of that copy reach the chip only when assigned back
    (``chip.neuron_block = block``), as hxtorch's ``experiment.py`` does."""

    def __init__(self, neuron_block: NeuronBlock | None = None, source: str = ""):
        self._neuron_block = NeuronBlock() if neuron_block is None else neuron_block
        self.source = source

    @property
    def neuron_block(self) -> NeuronBlock:
        return copy.deepcopy(self._neuron_block)

    @neuron_block.setter
    def neuron_block(self, block: NeuronBlock) -> None:
        self._neuron_block = copy.deepcopy(block)
