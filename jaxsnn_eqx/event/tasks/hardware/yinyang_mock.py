"""``python -m jaxsnn_eqx.event.tasks.hardware.yinyang_mock``: Yin-Yang trained with an emulated
BrainScaleS-2 chip in the loop (see `jaxsnn_eqx.tasks.yinyang_hardware`)."""

from ....tasks.entry import task_entry
from ....tasks.yinyang_hardware import main

if __name__ == "__main__":
    task_entry(main)
