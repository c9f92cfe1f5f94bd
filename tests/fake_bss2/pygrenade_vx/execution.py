"""Stand-in of ``pygrenade_vx.execution``: ``ExecutionInstanceHooks`` (here since grenade
8aee1e0d, 2025-05-26; before, it was in ``signal_flow``)."""


class ExecutionInstanceHooks:
    """Playback hooks around an execution instance's run: ``()`` or ``(chip_on_connection,
    chip_hooks)`` (none are used here)."""

    def __init__(self, *args):
        if len(args) not in (0, 2):
            raise TypeError("ExecutionInstanceHooks(): takes () or (ChipOnConnection, Chip).")
        self.args = args
