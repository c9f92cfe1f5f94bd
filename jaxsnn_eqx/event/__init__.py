"""Event-based networks in continuous time: exact spike times and exact gradients.

Where things live (one job per module):

* `neuron`: the neuron protocol `EventNeuron` (and `Transition`).
* `kernel`: `simulate`, the entry point (forward pass, error checks, custom VJP); it uses
  `loop` (the `jax.lax.while_loop` over events, and how a vmap batches it), `feedforward`
  (one loop per neuron, buffers sized by what fires), `merge`
  (sorting, merging per-neuron spike buffers), `delays` (synaptic delays as arrival times),
  `backward` (the backward-pass strategies `Backward`, `Replay`, `AbstractAdjoint`) and
  `replay` (the default backward pass: autodiff of the replayed event sequence).
* `layers`: `AbstractEventLayer` (what every feed-forward event layer subclasses),
  `EventLayer` (any `EventNeuron`), `layer_weight`.
* `lif`: the LIF maths (`membrane`, `threshold_crossing`, `first_spike_times`), `LIFNeuron`,
  `LIFParams`, `LIF`; `eventprop`: EventProp, the exact adjoint of the LIF (`EventProp`,
  `eventprop_backward`, `EventPropLIF`); `recurrent`: `AbstractRecurrentLIF`,
  `RecurrentEventPropLIF`; `hardware_lif`: `HardwareRecurrentLIF` (hardware in the loop).
* more neuron models (autodiff gradients; EventProp is the LIF's only): `IF`, `IFNeuron`,
  `IFParams` (`integrate_fire`); `AdaptiveLIF`, `AdaptiveLIFNeuron`, `AdaptiveLIFParams`,
  `AdaptiveLIFState` (spike-triggered adaptation current, `adaptive_lif`).
* a population whose mask is a stack of layers, stage by stage: `feedforward_stages`,
  `simulate_stages` (`stages`; `RecurrentEventPropLIF` does it by itself).
* losses and decoding for time-to-first-spike codes: `losses`; root finding: `solvers`.
* where a population's forward pass runs: `Backend`, `JaxSimulation`, `Population`
  (`backend`). The BrainScaleS-2 backends (`Emulator`, `BSS2Executor`) live in the hardware
  package (which imports this package, never the reverse).

Classes are abstract (``Abstract*``, `EventNeuron`, `Backend`, `Backward`: subclass these) or
final (everything else: use, do not subclass), with one exception kept for compatibility:
`EventPropLIF` subclasses `LIF` (an EventPropLIF *is* an LIF with ``backward=EventProp()``;
``isinstance(layer, event.LIF)`` holds for both).
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
from .recurrent import AbstractRecurrentLIF, RecurrentEventPropLIF
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
    "AbstractRecurrentLIF",
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

# EventProp (adjoint backward pass; module eventprop)
from .eventprop import eventprop_backward  # noqa: E402

__all__ += ["eventprop_backward"]
