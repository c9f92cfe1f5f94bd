"""Stand-in of ``hxtorch.spiking``."""

from . import morphology, neuron_placement, utils

__all__ = ["morphology", "neuron_placement", "utils"]
