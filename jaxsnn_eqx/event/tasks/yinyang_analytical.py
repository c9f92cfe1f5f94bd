"""``python -m jaxsnn_eqx.event.tasks.yinyang_analytical``: see `tasks.yinyang_analytical`."""

import sys

from ...tasks.yinyang_analytical import main

if __name__ == "__main__":
    main(sys.argv[1:])
