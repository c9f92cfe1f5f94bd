"""Stand-in of ``pygrenade_vx.signal_flow``: input and output data of a run."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class InputData:
    """External events per batch entry, ``{(population, neuron): [cycles]}``, and the runtime
    per batch entry, ``[{ExecutionInstanceID: cycles}]``."""

    spike_events: list = dataclasses.field(default_factory=list)
    runtime: list = dataclasses.field(default_factory=list)

    @property
    def batch_size(self) -> int:
        return len(self.spike_events)


@dataclasses.dataclass
class OutputData:
    """Recorded spikes per batch entry, ``{(population, neuron, compartment): [cycles]}``."""

    spikes: list = dataclasses.field(default_factory=list)

    @property
    def batch_size(self) -> int:
        return len(self.spikes)
