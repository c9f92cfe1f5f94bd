"""jaxsnn-eqx: spiking neural networks in JAX, built from Equinox modules.

* `Spikes` (event lists sorted by time), `Sequential` and `Recurrent` (containers for every layer
  type) at the top level.
* `jaxsnn_eqx.discrete`: time-discrete (Euler) LIF networks trained with surrogate gradients.
* `jaxsnn_eqx.event`: event-based networks in continuous time with exact spike times and exact
  gradients (analytical and EventProp), and `event.HardwareRecurrentLIF`, whose forward pass runs
  on a pluggable `event.Backend`.
* `jaxsnn_eqx.hardware`: BrainScaleS-2 backends: `Emulator` (the chip emulated in software),
  `BSS2Executor` (the chip itself; needs the BSS-2 software stack), `Mapping` and `Calibration`.
* `jaxsnn_eqx.data`: the Yin-Yang dataset and latency spike encoders.
* `jaxsnn_eqx.train` (the training loop) and `jaxsnn_eqx.plot` (plots of saved runs; needs the
  ``plot`` extra) are not imported here: ``from jaxsnn_eqx import train, plot``. The
  ``jaxsnn-eqx`` command line runs the tasks (``jaxsnn-eqx train yinyang --method ...``).
* `jaxsnn_eqx.nir`: NIR import and export (needs the ``nir`` extra), loaded on first use of
  ``jaxsnn_eqx.nir``, so ``import jaxsnn_eqx`` never imports the ``nir`` package.
"""

from . import data, discrete, event, hardware
from .containers import Recurrent, Sequential
from .spikes import Spikes
from .version import __version__  # noqa: F401  (re-export)


def __getattr__(name: str):
    if name == "nir":  # lazy: the nir package is an optional extra
        import importlib

        return importlib.import_module(f"{__name__}.nir")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Spikes", "Sequential", "Recurrent", "event", "discrete", "hardware", "data"]
