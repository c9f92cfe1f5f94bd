"""BrainScaleS-2 (BSS-2) backends: where an event population's forward pass runs.

* `Backend`, `JaxSimulation`, `Population` (re-exported from `jaxsnn_eqx.event.backend`, where
  the protocol lives with the event kernel: ``hardware`` imports ``event``, never the reverse).
* `Emulator`: the chip emulated by a perturbed exact simulation (weight quantisation, time
  stamps, jitter, fixed-pattern variation, spike loss); `Emulator.ideal()` equals
  `JaxSimulation`.
* `BSS2Executor`: the chip itself (needs the BSS-2 software stack; a clear error without it).
* `Mapping`: populations and projections placed onto neuron circuits and synapse rows.
* `weights`: model weights <-> signed 6-bit hardware weights.
* `Calibration` (the record, `calibration.py`): per-neuron model parameters measured from a
  chip's (or an emulated chip's) spikes, its read-out offset and the chip it belongs to; the
  measurement is `jaxsnn_eqx.hardware.calib` (also ``python -m jaxsnn_eqx.hardware.calib``),
  which this package does not import.

`event.HardwareRecurrentLIF` takes any of these as its ``backend``.
"""

from ..event.backend import Backend, JaxSimulation, Population
from . import weights
from .calibration import Calibration, ForeignCalibrationError
from .emulator import Emulator
from .executor import BSS2Executor
from .mapping import Mapping

__all__ = [
    "Backend", "JaxSimulation", "Population", "Emulator", "BSS2Executor", "Mapping", "weights",
    "Calibration", "ForeignCalibrationError",
]
