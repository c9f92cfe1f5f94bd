"""Stand-in of ``hxtorch`` (it re-exports ``_hxtorch_core``, as the real one does)."""

from .._hxtorch_core import init_hardware, release_hardware
from . import spiking

__all__ = ["init_hardware", "release_hardware", "spiking"]
