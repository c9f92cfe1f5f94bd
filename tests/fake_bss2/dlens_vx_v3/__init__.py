"""Stand-in of ``dlens_vx_v3``: the subset of ``hal``, ``halco`` and ``lola`` the executor uses."""

from . import hal, halco, hxcomm, lola, sta

__all__ = ["hal", "halco", "hxcomm", "lola", "sta"]
