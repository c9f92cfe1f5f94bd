"""``python -m jaxsnn_eqx.event.tasks.yinyang_event_prop [--layered]``: see
`jaxsnn_eqx.tasks.yinyang_eventprop`."""

from ...tasks.entry import task_entry
from ...tasks.yinyang_eventprop import main

if __name__ == "__main__":
    task_entry(main)
