"""Stand-in of ``hxtorch.spiking.morphology``: single-compartment neurons."""

from __future__ import annotations

from ...dlens_vx_v3 import halco, lola


class SingleCompartmentNeuron:
    """A neuron of one compartment of ``size`` neuron circuits (the stand-in supports 1)."""

    def __init__(self, size: int, expand_horizontally: bool = False) -> None:
        if size != 1:
            raise NotImplementedError("fake SingleCompartmentNeuron: only size 1")
        self._compartments = halco.LogicalNeuronCompartments((size,))

    @property
    def compartments(self) -> halco.LogicalNeuronCompartments:
        return self._compartments

    def implement_morphology(self, coord: halco.LogicalNeuronOnDLS,
                             neuron_block: lola.NeuronBlock) -> None:
        for an in coord.get_atomic_neurons():
            neuron_block.atomic_neurons[an].multicompartment.connected = False

    @staticmethod
    def set_spike_recording(enable: bool, coord: halco.LogicalNeuronOnDLS,
                            neuron_block: lola.NeuronBlock) -> None:
        neuron_block.atomic_neurons[coord.get_atomic_neurons()[0]].event_routing \
            .enable_digital = enable
