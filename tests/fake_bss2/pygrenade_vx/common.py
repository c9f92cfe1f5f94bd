"""Stand-in of ``pygrenade_vx.common``."""

import dataclasses


@dataclasses.dataclass(frozen=True, order=True)
class ExecutionInstanceID:
    """One execution instance (here: the one chip)."""

    value: int = 0
