"""``python -m jaxsnn_eqx.event.tasks.digits_event_prop``: `jaxsnn_eqx.tasks.digits` with
``--method eventprop`` (``jaxsnn-eqx train digits --method eventprop``)."""

from ...cli import task_entry
from ...tasks.digits import main

if __name__ == "__main__":
    task_entry(main, method="eventprop")
