"""jaxsnn-eqx: spiking neural networks in JAX, built from Equinox modules.

* `jaxsnn_eqx.discrete`: time-discrete (Euler) LIF networks trained with surrogate gradients.
* `jaxsnn_eqx.event`: event-based networks in continuous time with exact spike times and exact
  gradients (analytical and EventProp).
* `jaxsnn_eqx.hardware`: BrainScaleS-2 backends (emulator and executor).
* `jaxsnn_eqx.data`: the Yin-Yang dataset and spike encoders.
"""

from . import data, discrete, event, hardware
from .containers import Recurrent, Sequential
from .spikes import Spikes

__version__ = "0.1.0"

__all__ = ["Spikes", "Sequential", "Recurrent", "event", "discrete", "hardware", "data"]
