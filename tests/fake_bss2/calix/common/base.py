"""Stand-in of ``calix.common.base``: the stateful connection a calibration runs on."""


class StatefulConnection:
    """Wraps an ``hxcomm`` connection (as calix does)."""

    def __init__(self, connection):
        self.connection = connection
