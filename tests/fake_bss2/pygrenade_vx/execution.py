"""Stand-in of ``pygrenade_vx.execution``."""


class ExecutionInstanceHooks:
    """Playback hooks around an execution instance's run (none here)."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
