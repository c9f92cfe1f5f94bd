"""``python -m jaxsnn_eqx.event.tasks.digits_event_prop``: `jaxsnn_eqx.tasks.digits` with
``--method eventprop`` (``jaxsnn-eqx train digits --method eventprop``)."""

from ...tasks.digits import main
from ...tasks.entry import task_entry

if __name__ == "__main__":
    task_entry(main, method="eventprop")
