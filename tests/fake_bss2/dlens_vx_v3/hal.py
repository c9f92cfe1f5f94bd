"""Stand-in of ``dlens_vx_v3.hal``: the FPGA timer's clock."""


class Timer:
    """The FPGA timer."""

    class Value(int):
        """A time in FPGA clock cycles."""

        fpga_clock_cycles_per_us = 125
        max = 0x7FFFFFFF
