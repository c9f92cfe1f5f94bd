"""Stand-in of ``hxtorch.spiking.utils``."""

from . import calib_helper

__all__ = ["calib_helper"]
