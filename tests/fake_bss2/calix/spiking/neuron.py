"""Stand-in of ``calix.spiking.neuron``: the neuron calibration targets."""

from __future__ import annotations


class NeuronCalibTarget:
    """Targets: CADC potentials (``leak``, ``reset``, ``threshold``), time constants and the
    refractory time as ``quantities`` (us), ``i_synin_gm``, ``synapse_dac_bias``,
    ``membrane_capacitance``."""

    def __init__(self):
        self.leak = 80
        self.reset = 80
        self.threshold = 125
        self.tau_mem = None
        self.tau_syn = None
        self.refractory_time = None
        self.i_synin_gm = 500
        self.synapse_dac_bias = 600
        self.membrane_capacitance = 63

    def as_dict(self) -> dict:
        return {k: getattr(v, "magnitude", v) for k, v in vars(self).items()}
