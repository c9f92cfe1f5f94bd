"""Stand-in of ``dlens_vx_v3.halco``: neuron coordinates of one chip (512 neuron circuits)."""

from __future__ import annotations

import dataclasses

NEURON_CIRCUITS = 512


@dataclasses.dataclass(frozen=True, order=True)
class AtomicNeuronOnDLS:
    """One neuron circuit (``value``: 0..511, in the order of ``iter_all``)."""

    value: int = 0

    def toEnum(self) -> int:  # noqa: N802 (halco's name)
        return self.value


@dataclasses.dataclass(frozen=True, order=True)
class CompartmentOnLogicalNeuron:
    """A compartment of a logical neuron (``value``: 0 for single-compartment neurons)."""

    value: int = 0


@dataclasses.dataclass(frozen=True)
class LogicalNeuronCompartments:
    """An unplaced neuron shape: the neuron circuits of each compartment (here: a count)."""

    sizes: tuple[int, ...] = (1,)


@dataclasses.dataclass(frozen=True)
class LogicalNeuronOnDLS:
    """A placed logical neuron: ``shape`` anchored at the neuron circuit ``anchor``."""

    shape: LogicalNeuronCompartments
    anchor: AtomicNeuronOnDLS

    def get_placed_compartments(self) -> dict[CompartmentOnLogicalNeuron,
                                              list[AtomicNeuronOnDLS]]:
        out, first = {}, self.anchor.value
        for c, n in enumerate(self.shape.sizes):
            if first + n > NEURON_CIRCUITS:
                raise ValueError(f"LogicalNeuronOnDLS: {self} does not fit on the chip.")
            out[CompartmentOnLogicalNeuron(c)] = [AtomicNeuronOnDLS(first + k) for k in range(n)]
            first += n
        return out

    def get_atomic_neurons(self) -> list[AtomicNeuronOnDLS]:
        return [a for comp in self.get_placed_compartments().values() for a in comp]


def iter_all(cls):
    """Every coordinate of a type (here: the neuron circuits, in order)."""
    if cls is not AtomicNeuronOnDLS:
        raise NotImplementedError(f"fake halco.iter_all: {cls.__name__}")
    return (AtomicNeuronOnDLS(k) for k in range(NEURON_CIRCUITS))
