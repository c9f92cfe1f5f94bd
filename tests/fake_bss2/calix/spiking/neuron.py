"""Stand-in of ``calix.spiking.neuron``: ``NeuronCalibTarget`` (C++ ``pyccalix`` since calix
115d099, 2026-05-05) and ``check_target`` with calix's range checks.

As in calix e5730819 (``include/ccalix/neuron_calib_target.h``,
``src/cc/ccalix/neuron_calib_target.cpp``, ``src/py/calix/spiking/neuron.py``): the potentials,
``tau_mem``, ``refractory_time``, ``holdoff_time`` and ``membrane_capacitance`` are per-neuron
arrays (512 neuron circuits; times in SECONDS), filled with ``.fill(value)``; ``tau_syn`` is per
neuron and synaptic input (``tau_syn[neuron].fill(value)``); ``i_synin_gm`` lives under
``cuba_synin`` (default ``CalibratedMatchingCubaSynapticInput``: one value); assigning a plain
number to a per-neuron field raises ``TypeError`` as the binding does.
"""

from __future__ import annotations

import numpy as np

from ...dlens_vx_v3 import halco

__all__ = ["NeuronCalibTarget", "check_target"]


class _PerNeuron:
    """``halco::common::typed_array`` over the neuron circuits (or synaptic inputs)."""

    def __init__(self, size: int, value, inner: int | None = None):
        self._v = [(_PerNeuron(inner, value) if inner else value) for _ in range(size)]

    def fill(self, value) -> None:
        if isinstance(self._v[0], _PerNeuron):
            raise TypeError("fill(): incompatible function arguments (fill each neuron's "
                            "synaptic inputs: tau_syn[neuron].fill(value)).")
        self._v = [value] * len(self._v)

    def __getitem__(self, coord):
        return self._v[coord.toEnum() if hasattr(coord, "toEnum") else int(coord)]

    def __setitem__(self, coord, value) -> None:
        self._v[coord.toEnum() if hasattr(coord, "toEnum") else int(coord)] = value

    def __len__(self) -> int:
        return len(self._v)

    def to_numpy(self) -> np.ndarray:
        return np.asarray([v.to_numpy() if isinstance(v, _PerNeuron) else v for v in self._v],
                          float)


class _Typed:
    """Fields of a C++ struct: a per-neuron field takes no plain number."""

    _per_neuron: tuple = ()

    def __setattr__(self, name, value):
        if name in self._per_neuron and not isinstance(value, _PerNeuron):
            raise TypeError(f"{type(self).__name__}.{name}: incompatible type "
                            f"{type(value).__name__}; a per-neuron array (use .fill()).")
        object.__setattr__(self, name, value)


class NeuronCalibTarget(_Typed):
    """Neuron calibration targets with calix's defaults (leak 80, reset 70, threshold 125 CADC;
    tau_mem, tau_syn 10 us; refractory 2 us; i_synin_gm 500; synapse_dac_bias 600;
    membrane_capacitance 63)."""

    _per_neuron = ("leak", "reset", "threshold", "tau_mem", "tau_syn", "refractory_time",
                   "holdoff_time", "membrane_capacitance")

    class CalibratedMatchingCubaSynapticInput:
        """One ``i_synin_gm`` (CapMem units) for all neurons and both inputs."""

        def __init__(self):
            self.i_synin_gm = 500

    def __init__(self):
        n = halco.NEURON_CIRCUITS
        self.leak = _PerNeuron(n, 80)
        self.reset = _PerNeuron(n, 70)
        self.threshold = _PerNeuron(n, 125)
        self.tau_mem = _PerNeuron(n, 10e-6)
        self.tau_syn = _PerNeuron(n, 10e-6, inner=2)
        self.cuba_synin = NeuronCalibTarget.CalibratedMatchingCubaSynapticInput()
        self.membrane_capacitance = _PerNeuron(n, 63)
        self.refractory_time = _PerNeuron(n, 2e-6)
        self.holdoff_time = _PerNeuron(n, 0.0)
        self.synapse_dac_bias = 600

    def targets(self) -> dict:
        """The targets (first neuron's values), in the units calix takes (CADC, seconds)."""
        first = lambda a: float(a.to_numpy().reshape(len(a), -1)[0, 0])
        out = {k: first(getattr(self, k)) for k in self._per_neuron}
        out.update(i_synin_gm=self.cuba_synin.i_synin_gm, synapse_dac_bias=self.synapse_dac_bias)
        return out


_RANGES = {  # calix e5730819:src/py/calix/spiking/neuron.py check_target
    "leak": (50, 160), "reset": (50, 160), "threshold": (50, 220),
    "tau_mem": (0.5e-6, 60e-6), "tau_syn": (0.3e-6, 30e-6), "refractory_time": (40e-9, 32e-6),
    "holdoff_time": (0.0, 4e-6), "membrane_capacitance": (0, 63),
}


def check_target(target: NeuronCalibTarget) -> None:
    """Raise ``ValueError`` for a target outside calix's feasible ranges."""
    for name, (lo, hi) in _RANGES.items():
        v = getattr(target, name).to_numpy()
        if np.any(v < lo) or np.any(v > hi):
            raise ValueError(f"Target {name} is out of the feasible range [{lo}, {hi}].")
    if not 30 <= target.cuba_synin.i_synin_gm <= 800:
        raise ValueError("Target i_synin_gm is out of the feasible range [30, 800].")
    if not 30 <= target.synapse_dac_bias <= 1022:
        raise ValueError("Target synapse_dac_bias is out of the feasible range [30, 1022].")
