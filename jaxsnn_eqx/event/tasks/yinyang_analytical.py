"""``python -m jaxsnn_eqx.event.tasks.yinyang_analytical``: see `tasks.yinyang_analytical`."""

from ...tasks.entry import task_entry
from ...tasks.yinyang_analytical import main

if __name__ == "__main__":
    task_entry(main)
