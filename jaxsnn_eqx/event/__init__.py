"""Event-based networks in continuous time: exact spike times and exact gradients.

* `EventNeuron`: the neuron protocol (`neuron.py`); `LIFNeuron`, `LIFParams`, `LIF` (`lif.py`).
* `simulate`: the one while_loop kernel (`kernel.py`), with a pluggable backward pass.
* threshold crossings: `lif.threshold_crossing`; root finding: `solvers.py`.
* single-spike feed-forward layers solved all at once: `lif.first_spike_times` (no event loop).
* losses and decoding for time-to-first-spike codes: `losses.py`.
"""

from . import losses, solvers
from .eventprop import EventPropLIF, RecurrentEventPropLIF
from .kernel import AbstractEventLayer, Backward, EventLayer, simulate
from .lif import LIF, LIFNeuron, LIFParams, LIFState, lif_weight_scale, threshold_crossing
from .neuron import EventNeuron, Transition

__all__ = [
    "EventNeuron",
    "Transition",
    "simulate",
    "Backward",
    "AbstractEventLayer",
    "EventLayer",
    "LIF",
    "EventPropLIF",
    "RecurrentEventPropLIF",
    "LIFNeuron",
    "LIFParams",
    "LIFState",
    "lif_weight_scale",
    "threshold_crossing",
    "losses",
    "solvers",
]

# EventProp (adjoint backward pass; eventprop.py)
from .eventprop import eventprop_backward  # noqa: E402

__all__ += ["eventprop_backward"]
