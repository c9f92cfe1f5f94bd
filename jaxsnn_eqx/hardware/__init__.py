"""BrainScaleS-2 backends (Emulator, BSS2Executor, mapping, calibration).

Not implemented yet: this namespace is reserved so that ``from jaxsnn_eqx import hardware`` keeps
working once the backends land (the `Backend` protocol will live with the event kernel).
"""
