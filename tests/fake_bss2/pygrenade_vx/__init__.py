"""Stand-in of ``pygrenade_vx``: ``network``, ``common``, ``execution``, ``signal_flow``."""

from . import common, execution, network, signal_flow

__all__ = ["common", "execution", "network", "signal_flow"]
