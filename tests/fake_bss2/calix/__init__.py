"""Stand-in of ``calix``: the calibration targets and a calibration that records them."""

from . import common, spiking

__all__ = ["common", "spiking"]
