"""Stand-in of ``pygrenade_vx.signal_flow``: input and output data of a run.

Since grenade 89291d98 (2025-05-14) a run takes an `InputData` whose ``snippets`` hold what
``InputGenerator.done()`` returns (an `InputDataSnippet`), and returns an `OutputData` whose
``snippets`` hold the recorded data. `InputData` has no ``runtime`` of its own: the runtime is
a field of each snippet. ``ExecutionInstanceHooks`` is not here (it moved to ``execution``).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class InputDataSnippet:
    """External events per batch entry, ``{(population, neuron): [cycles]}``, and the runtime
    per batch entry, ``[{ExecutionInstanceID: cycles}]``."""

    spike_events: list = dataclasses.field(default_factory=list)
    runtime: list = dataclasses.field(default_factory=list)

    @property
    def batch_size(self) -> int:
        return len(self.spike_events)


class InputData:
    """Input of a run: ``snippets``, a list of `InputDataSnippet` (one realtime snippet)."""

    __slots__ = ("snippets", "inter_batch_entry_routing_disabled", "inter_batch_entry_wait")

    def __init__(self):
        self.snippets: list = []
        self.inter_batch_entry_routing_disabled: dict = {}
        self.inter_batch_entry_wait: dict = {}


@dataclasses.dataclass
class OutputDataSnippet:
    """Recorded spikes per batch entry, ``{(population, neuron, compartment): [cycles]}``."""

    spikes: list = dataclasses.field(default_factory=list)

    @property
    def batch_size(self) -> int:
        return len(self.spikes)


@dataclasses.dataclass
class OutputData:
    """Output of a run: ``snippets``, a list of `OutputDataSnippet`."""

    snippets: list = dataclasses.field(default_factory=list)
