"""Stand-in of ``calix.common``."""

from . import base

__all__ = ["base"]
