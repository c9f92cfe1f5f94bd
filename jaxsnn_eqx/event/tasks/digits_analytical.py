"""``python -m jaxsnn_eqx.event.tasks.digits_analytical``: `jaxsnn_eqx.tasks.digits` with
``--method analytical`` (``jaxsnn-eqx train digits --method analytical``)."""

from ...tasks.digits import main
from ...tasks.entry import task_entry

if __name__ == "__main__":
    task_entry(main, method="analytical")
