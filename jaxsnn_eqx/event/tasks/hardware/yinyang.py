"""``python -m jaxsnn_eqx.event.tasks.hardware.yinyang``: Yin-Yang trained with a BrainScaleS-2
chip in the loop (`jaxsnn_eqx.tasks.yinyang_hardware` with ``--backend bss2``); without the
BSS-2 software stack it stops at once and says what is missing."""

import sys

from ....tasks.entry import task_entry
from ....tasks.yinyang_hardware import main

if __name__ == "__main__":
    task_entry(main, ["--backend", "bss2", *sys.argv[1:]], out="runs/yinyang_bss2")
