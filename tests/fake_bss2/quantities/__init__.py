"""Stand-in of ``quantities``: enough for ``value * pq.us``."""

from __future__ import annotations

import dataclasses

__all__ = ["Quantity", "us"]


@dataclasses.dataclass(frozen=True)
class Quantity:
    magnitude: float
    unit: str

    def __rmul__(self, value: float) -> Quantity:
        return Quantity(float(value) * self.magnitude, self.unit)


us = Quantity(1.0, "us")
