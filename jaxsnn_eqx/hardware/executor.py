"""`BSS2Executor`: the BrainScaleS-2 chip as a `Backend` (needs the BSS-2 software stack).

The stack (``hxtorch``, ``pygrenade_vx``, ``calix``) is not on the Python package index; it
comes with access to a BSS-2 system. Without it, using the executor raises an `ImportError` that
names what is missing and points to `Emulator`, which emulates the chip in software.
"""

from __future__ import annotations

import importlib.util

import equinox as eqx
from jaxtyping import PRNGKeyArray

from ..event.backend import Backend, Population
from ..spikes import Spikes

__all__ = ["BSS2Executor", "missing_stack"]

STACK = ("hxtorch", "pygrenade_vx")


def missing_stack() -> tuple[str, ...]:
    """The modules of the BSS-2 software stack that cannot be imported here."""
    return tuple(m for m in STACK if importlib.util.find_spec(m) is None)


class BSS2Executor(Backend):
    """Runs populations on a BrainScaleS-2 chip (not yet implemented beyond the stack check).

    Attributes:
        calibration: path of the chip's portable-binary calibration (from ``calix``).
        weight_scale: hardware weight units per volt of current jump (from the calibration).
    """

    calibration: str | None = eqx.field(static=True, default=None)
    weight_scale: float = eqx.field(static=True, default=56.0)

    def _require_stack(self):
        missing = missing_stack()
        if missing:
            raise ImportError(
                "BSS2Executor needs the BrainScaleS-2 software stack, which is not installed "
                f"here (missing: {', '.join(missing)}; it is not on PyPI and comes with access "
                "to a BSS-2 system). To train without the chip, use the emulated chip: "
                "backend=jaxsnn_eqx.hardware.Emulator()."
            )
        raise NotImplementedError(
            "BSS2Executor: running on the chip is not implemented yet (the BSS-2 stack was "
            "found); use jaxsnn_eqx.hardware.Emulator() meanwhile.")

    def run(self, population: Population, spikes: Spikes,
            key: PRNGKeyArray | None = None) -> Spikes:
        self._require_stack()

    def __call__(self, population: Population, spikes: Spikes, *,
                 key: PRNGKeyArray | None = None) -> Spikes:
        self._require_stack()
