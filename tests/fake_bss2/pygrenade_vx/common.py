"""Stand-in of ``pygrenade_vx.common``: ``ExecutionInstanceID``, ``ChipOnConnection``."""

import dataclasses


@dataclasses.dataclass(frozen=True, order=True)
class ExecutionInstanceID:
    """One execution instance (here: the one chip)."""

    value: int = 0


@dataclasses.dataclass(frozen=True, order=True)
class ChipOnConnection:
    """A chip on a connection (here: the one chip); the inner key of the chip map."""

    value: int = 0
