"""``python -m jaxsnn_eqx.discrete.tasks.digits``: `jaxsnn_eqx.tasks.digits` with ``--method
discrete`` (``jaxsnn-eqx train digits --method discrete``)."""
from ...tasks.digits import main
from ...tasks.entry import task_entry

if __name__ == "__main__":
    task_entry(main, method="discrete")
