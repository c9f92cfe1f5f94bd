"""Stand-in of ``_hxtorch_core``: the connection and the read-out of recorded spikes."""

from __future__ import annotations

import numpy as np

from . import CONFIG, LOG
from .pygrenade_vx.network import Population


def init_hardware(hwdb_path=None, ann: bool = False) -> None:
    """Connect to the chip (the process holds one connection)."""
    LOG.init += 1
    LOG.connected = True


def release_hardware() -> None:
    """Release the chip; a later ``run`` raises until ``init_hardware`` again."""
    LOG.release += 1
    LOG.connected = False


def extract_n_spikes(data, network_graph, runtime: int, n_spikes: dict) -> dict:
    """``{population descriptor: (idx, time)}``, each ``[batch, n]`` (int32 neuron index in the
    population, float32 time in FPGA clock cycles), for every on-chip population; spikes after
    ``runtime`` (cycles) are skipped and at most ``n = n_spikes[descriptor]`` kept, filled in
    neuron order (as the real one), unused slots -1 / inf. The stand-in then shuffles the
    slots of every batch entry."""
    (snippet,) = data.snippets
    batch = snippet.batch_size
    ret = {}
    for d, pop in sorted(network_graph.network.populations.items()):
        if isinstance(pop, Population):
            n = int(n_spikes.get(d, 0))
            ret[d] = (np.full((batch, n), -1, np.int32), np.full((batch, n), np.inf, np.float32))
    for b, recorded in enumerate(snippet.spikes):
        filled = {}
        for (d, neuron, compartment), times in sorted(recorded.items()):
            assert compartment.value == 0
            idx, val = ret[d]
            for t in times:
                k = filled.get(d, 0)
                if t > runtime or k >= idx.shape[1]:
                    continue
                idx[b, k], val[b, k] = neuron, t
                filled[d] = k + 1
    rng = np.random.default_rng([CONFIG.seed, len(LOG.extracted)])
    for idx, val in ret.values():
        for b in range(batch):
            perm = rng.permutation(idx.shape[1])
            idx[b], val[b] = idx[b, perm], val[b, perm]
    LOG.extracted.append({d: (i.copy(), t.copy()) for d, (i, t) in ret.items()})
    return ret
