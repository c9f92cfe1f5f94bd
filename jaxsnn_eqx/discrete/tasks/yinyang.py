"""``python -m jaxsnn_eqx.discrete.tasks.yinyang``: see `jaxsnn_eqx.tasks.yinyang_discrete`."""
from jaxsnn_eqx.tasks.yinyang_discrete import main

if __name__ == "__main__":
    main()
