"""``python -m jaxsnn_eqx.discrete.tasks.digits``: `jaxsnn_eqx.tasks.digits` with ``--method
discrete`` (``jaxsnn-eqx train digits --method discrete``)."""
from ...cli import task_entry
from ...tasks.digits import main

if __name__ == "__main__":
    task_entry(main, method="discrete")
