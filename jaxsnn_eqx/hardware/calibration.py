"""`Calibration`: the record of a calibrated (real or emulated) BrainScaleS-2 chip.

This module holds the record only (load, save, model parameters, which chip it belongs to); the
procedure that measures it and its command line live in `jaxsnn_eqx.hardware.calib`.

File format (`Calibration.save`): ``DIR/calibration.json``, a JSON object with ``tau_mem``,
``tau_syn``, ``v_th`` (lists, one per neuron circuit; seconds, seconds, volts above leak),
``fit_error`` (rms relative misfit per circuit), ``weight_scale``, ``time_offset`` (s: the
read-out offset the calibration measured, which `BSS2Executor.from_calibration` applies),
``target`` (the calibration targets: ``threshold``, ``leak``, ``reset`` in CADC units,
``tau_syn``, ``tau_mem``, ``refractory_time`` in seconds, ``i_synin_gm``,
``synapse_dac_bias``), ``chip`` (which chip: ``{"kind": "emulator", "chip_seed": ..., ...the
Emulator's fields}`` or ``{"kind": "bss2", "setup": "W69F0"}``: its identity) and
``chip_config`` (the portable-binary chip configuration written by ``calix``, for
`BSS2Executor`; ``null`` for an emulated chip).

A calibration belongs to its chip: `Calibration.check_chip` refuses, in one line naming both,
to use it on another (``allow_foreign=True`` overrides).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from ..errors import UserError
from ..event.lif import LIFParams
from .emulator import Emulator

__all__ = ["Calibration", "FILE", "chip_identity", "ForeignCalibrationError"]

FILE = "calibration.json"


class ForeignCalibrationError(UserError, ValueError):
    """A calibration is used on a chip other than the one it was measured on."""


def chip_identity(chip: dict) -> str:
    """A short name of a chip record: ``emulator chip_seed=3`` or ``bss2 W69F0``."""
    if chip.get("kind") == "emulator":
        return f"emulator chip_seed={chip.get('chip_seed', 0)}"
    return f"{chip.get('kind', '?')} {chip.get('setup') or '(unknown setup)'}"


@dataclasses.dataclass
class Calibration:
    """Measured per-neuron-circuit parameters (see the module docstring for the file format).

    Attributes:
        tau_mem, tau_syn: ``(n,)`` seconds.
        v_th: ``(n,)`` threshold above leak (V) in the model's units: the software model with
            these parameters and the nominal weights fires when the circuit fires.
        fit_error: ``(n,)`` rms relative misfit of the measurement (NaN: circuit not measured).
        weight_scale: hardware weight units per volt of current jump.
        target: the calibration targets.
        chip: which chip (``{"kind": "emulator", "chip_seed": ...}`` or ``{"kind": "bss2",
            "setup": ...}``).
        chip_config: path of the chip configuration for `BSS2Executor` (or ``None``).
        time_offset: measured read-out offset (s), to add to recorded times.
    """

    tau_mem: np.ndarray
    tau_syn: np.ndarray
    v_th: np.ndarray
    fit_error: np.ndarray
    weight_scale: float
    target: dict
    chip: dict
    chip_config: str | None = None
    time_offset: float = 0.0

    @property
    def size(self) -> int:
        return int(np.shape(self.tau_mem)[0])

    @property
    def identity(self) -> str:
        """The chip this calibration belongs to (see `chip_identity`)."""
        return chip_identity(self.chip)

    def params(self, n: int | None = None, *, v_leak: float = 0.0, v_reset: float = 0.0,
               t_refrac: float = 0.0, dtype=None) -> LIFParams:
        """`LIFParams` of the first ``n`` circuits (default all): per-neuron ``(n,)`` arrays."""
        n = self.size if n is None else int(n)
        if n > self.size:
            raise ValueError(f"Calibration: {n} neurons requested, {self.size} measured.")
        dtype = jnp.result_type(float) if dtype is None else dtype
        arr = lambda x: jnp.asarray(np.asarray(x)[:n], dtype)
        return LIFParams(tau_mem=arr(self.tau_mem), tau_syn=arr(self.tau_syn),
                         v_th=v_leak + arr(self.v_th), v_reset=v_reset, v_leak=v_leak,
                         t_refrac=t_refrac)

    def emulator(self) -> Emulator:
        """The emulated chip this calibration was measured on."""
        if self.chip.get("kind") != "emulator":
            raise ValueError(f"Calibration: measured on {self.identity}, not on an emulated "
                             "chip.")
        return Emulator(**{k: v for k, v in self.chip.items() if k != "kind"})

    def check_chip(self, chip: dict, *, allow_foreign: bool = False) -> None:
        """Refuse (`ForeignCalibrationError`, one line naming both) to use this calibration on
        ``chip`` (a chip record as in the file) unless it is the chip it was measured on:
        for an emulated chip the same ``chip_seed``, for a real one the same ``setup``."""
        ours, theirs = self.chip, chip
        same = ours.get("kind") == theirs.get("kind") and (
            ours.get("chip_seed", 0) == theirs.get("chip_seed", 0)
            if ours.get("kind") == "emulator" else
            ours.get("setup") is not None and ours.get("setup") == theirs.get("setup"))
        if not same and not allow_foreign:
            raise ForeignCalibrationError(
                f"calibration of {self.identity} refused on {chip_identity(theirs)} (measure "
                "this chip, or allow a foreign calibration explicitly).")

    def save(self, calib_dir: str | Path) -> Path:
        """Write ``calib_dir/calibration.json``; returns its path."""
        path = Path(calib_dir)
        path.mkdir(parents=True, exist_ok=True)
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for k in ("tau_mem", "tau_syn", "v_th", "fit_error"):
            out[k] = [None if not np.isfinite(v) else float(v) for v in np.asarray(out[k])]
        out["time_offset"] = float(self.time_offset)
        tmp = path / (FILE + ".tmp")
        tmp.write_text(json.dumps(out, indent=1))
        tmp.replace(path / FILE)
        return path / FILE

    @classmethod
    def load(cls, path: str | Path) -> Calibration:
        """Read a calibration (``DIR`` or ``DIR/calibration.json``)."""
        path = Path(path)
        if path.is_dir():
            path = path / FILE
        if not path.exists():
            raise FileNotFoundError(f"Calibration: no {FILE} at {path}; write one with "
                                    "`python -m jaxsnn_eqx.hardware.calib --calib-dir DIR`.")
        raw = json.loads(path.read_text())
        for k in ("tau_mem", "tau_syn", "v_th", "fit_error"):
            raw[k] = np.asarray([np.nan if v is None else v for v in raw[k]], float)
        return cls(**raw)
