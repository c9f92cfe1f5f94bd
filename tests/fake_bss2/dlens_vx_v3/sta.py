"""Stand-in of ``dlens_vx_v3.sta``: a playback program dumper and its portable binary."""

from __future__ import annotations

import json


class PlaybackProgramBuilderDumper:
    """Collects what a calibration result writes (``written``)."""

    def __init__(self):
        self.written: list = []

    def done(self) -> list:
        return self.written


def to_portablebinary(program: list) -> bytes:
    return json.dumps(program).encode()
