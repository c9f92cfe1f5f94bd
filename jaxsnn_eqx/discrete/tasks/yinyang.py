"""``python -m jaxsnn_eqx.discrete.tasks.yinyang``: see `jaxsnn_eqx.tasks.yinyang_discrete`."""
from ...tasks.entry import task_entry
from ...tasks.yinyang_discrete import main

if __name__ == "__main__":
    task_entry(main)
