"""Stand-in of ``hxtorch.spiking.neuron_placement``: neuron ids -> logical neurons."""

from __future__ import annotations

from ...dlens_vx_v3 import halco


class NeuronPlacement:
    """Assigns each registered id the first free neuron circuits (in ``halco.iter_all``
    order), or the given logical neurons."""

    def __init__(self):
        self._id_2_ln: dict[int, halco.LogicalNeuronOnDLS] = {}
        self._used_an: set[halco.AtomicNeuronOnDLS] = set()

    def register_id(self, neuron_id, shape: halco.LogicalNeuronCompartments,
                    placement_constraint=None) -> None:
        ids = list(neuron_id) if hasattr(neuron_id, "__iter__") else [neuron_id]
        if placement_constraint is not None:
            lns = (placement_constraint if isinstance(placement_constraint, list)
                   else [placement_constraint])
        else:
            lns = [None] * len(ids)
        for idx, ln in zip(ids, lns, strict=True):
            if ln is None:
                ln = next((halco.LogicalNeuronOnDLS(shape, a) for a in halco.iter_all(
                    halco.AtomicNeuronOnDLS) if a not in self._used_an
                    and not self._used_an & set(halco.LogicalNeuronOnDLS(
                        shape, a).get_atomic_neurons())), None)
                if ln is None:
                    raise ValueError(f"Cannot register ID {idx}")
            if self._used_an & set(ln.get_atomic_neurons()):
                raise ValueError(f"Cannot register LogicalNeuron {ln}: already allocated.")
            if idx in self._id_2_ln:
                raise ValueError(f"ID {idx} is already registered.")
            self._used_an |= set(ln.get_atomic_neurons())
            self._id_2_ln[idx] = ln

    def id2logicalneuron(self, neuron_id):
        try:
            return [self._id_2_ln[idx] for idx in neuron_id]
        except TypeError:
            return self._id_2_ln[neuron_id]
