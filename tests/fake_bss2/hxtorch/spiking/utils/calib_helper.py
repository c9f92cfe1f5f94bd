"""Stand-in of ``hxtorch.spiking.utils.calib_helper``: loading a chip configuration."""

from __future__ import annotations

from pathlib import Path

from .... import LOG
from ....dlens_vx_v3 import lola

NIGHTLY = Path("/fake/calibration/hicann-dls-sr-hx/fake_chip/stable/latest")


def chip_from_file(path: str) -> lola.Chip:
    """The chip configuration in the portable-binary file ``path`` (here: any existing file,
    or the nightly calibration's path)."""
    LOG.calibrations.append(str(path))
    if Path(path).parent != NIGHTLY:
        with open(path, "rb") as fd:  # FileNotFoundError as the real one
            fd.read()
    return lola.Chip(source=str(path))


def nightly_calib_path(name: str = "spiking") -> Path:
    """The path of the nightly calibration of the connected chip."""
    return NIGHTLY / f"{name}_cocolist.pbin"
