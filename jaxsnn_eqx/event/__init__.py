"""Event-based networks in continuous time: exact spike times and exact gradients.

* `EventNeuron`: the neuron protocol (`neuron.py`); `LIFNeuron`, `LIFParams`, `LIF` (`lif.py`).
* `simulate`: the one while_loop kernel (`kernel.py`), with a pluggable backward pass
  (`Backward`); `AbstractEventLayer`, `EventLayer`: layers over any `EventNeuron`.
* gradients: by autodiff through the exact spike times (`LIF`), or by EventProp, the exact
  adjoint (`EventPropLIF`, `RecurrentEventPropLIF`, `eventprop_backward`; `eventprop.py`).
* threshold crossings: `threshold_crossing`; root finding: `solvers`; weight unit:
  `lif_weight_scale`.
* more neuron models (autodiff gradients; EventProp is the LIF's only): `IF`, `IFNeuron`,
  `IFParams` (non-leaky integrate-and-fire, `integrate_fire.py`); `AdaptiveLIF`,
  `AdaptiveLIFNeuron`, `AdaptiveLIFParams`, `AdaptiveLIFState` (spike-triggered adaptation
  current, `adaptive_lif.py`).
* single-spike feed-forward layers solved all at once: `lif.first_spike_times` (no event loop);
  a population whose mask is a stack of layers, stage by stage: `feedforward_stages`,
  `simulate_stages` (`stages.py`; `RecurrentEventPropLIF` does it by itself).
* losses and decoding for time-to-first-spike codes: `losses`.
* where a population's forward pass runs: `Backend`, `JaxSimulation`, `Population`
  (`backend.py`); hardware in the loop: `HardwareRecurrentLIF` (`hardware_lif.py`). The
  BrainScaleS-2 backends (`Emulator`, `BSS2Executor`) live in the hardware package (which
  imports this package, never the reverse).
"""

from . import losses, solvers, stages
from .adaptive_lif import AdaptiveLIF, AdaptiveLIFNeuron, AdaptiveLIFParams, AdaptiveLIFState
from .backend import Backend, JaxSimulation, Population, feedforward_blocks
from .backward import AbstractAdjoint, Backward, Replay
from .eventprop import EventProp, EventPropLIF
from .hardware_lif import HardwareRecurrentLIF
from .integrate_fire import IF, IFNeuron, IFParams, if_weight_scale
from .kernel import simulate
from .layers import AbstractEventLayer, EventLayer
from .lif import LIF, LIFNeuron, LIFParams, LIFState, lif_weight_scale, threshold_crossing
from .neuron import EventNeuron, Transition
from .recurrent import RecurrentEventPropLIF
from .stages import feedforward_stages, simulate_stages

__all__ = [
    "EventNeuron",
    "Transition",
    "simulate",
    "Backward",
    "Replay",
    "AbstractAdjoint",
    "EventProp",
    "AbstractEventLayer",
    "EventLayer",
    "LIF",
    "EventPropLIF",
    "RecurrentEventPropLIF",
    "HardwareRecurrentLIF",
    "Backend",
    "JaxSimulation",
    "Population",
    "feedforward_blocks",
    "feedforward_stages",
    "simulate_stages",
    "stages",
    "LIFNeuron",
    "LIFParams",
    "LIFState",
    "lif_weight_scale",
    "threshold_crossing",
    "losses",
    "solvers",
    "IF",
    "IFNeuron",
    "IFParams",
    "if_weight_scale",
    "AdaptiveLIF",
    "AdaptiveLIFNeuron",
    "AdaptiveLIFParams",
    "AdaptiveLIFState",
]

# EventProp (adjoint backward pass; eventprop.py)
from .eventprop import eventprop_backward  # noqa: E402

__all__ += ["eventprop_backward"]
