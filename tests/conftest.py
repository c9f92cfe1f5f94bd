"""Test-session setup: float64 on (references need it); float32 checks build float32 arrays."""

import jax

jax.config.update("jax_enable_x64", True)
