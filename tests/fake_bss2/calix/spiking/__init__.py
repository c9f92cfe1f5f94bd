"""Stand-in of ``calix.spiking``: ``SpikingCalibTarget`` whose ``calibrate`` records the targets
(in `fake_bss2.LOG.calibrated`) and returns a result that ``apply``s them to a builder."""

from __future__ import annotations

from ... import LOG
from . import neuron

__all__ = ["SpikingCalibTarget", "SpikingCalibResult", "neuron"]


class SpikingCalibResult:
    """What a calibration found; ``apply(builder)`` writes it into a playback program."""

    def __init__(self, target: SpikingCalibTarget):
        self.target = target

    def apply(self, builder) -> None:
        builder.written.append(self.target.neuron_target.targets())


class SpikingCalibTarget:
    """The targets of a spiking calibration (``neuron_target``: a `neuron.NeuronCalibTarget`)."""

    def __init__(self):
        self.neuron_target = neuron.NeuronCalibTarget()

    def calibrate(self, connection, options=None) -> SpikingCalibResult:
        if connection is None or connection.connection is None:
            raise RuntimeError("calix stand-in: no connection")
        if LOG.connected:  # hxtorch releases its connection before calix opens one
            raise RuntimeError("calix stand-in: the chip is held by hxtorch (call "
                               "release_hardware() before calibrating, as hxtorch does).")
        neuron.check_target(self.neuron_target)
        LOG.calibrated.append(self.neuron_target.targets())
        return SpikingCalibResult(self)
