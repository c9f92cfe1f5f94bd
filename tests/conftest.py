"""Test-session setup: float64 on (references need it); float32 checks build float32 arrays.

After each test module the compiled programs are dropped (`jax.clear_caches`): a session of 800
tests otherwise keeps every executable it ever compiled (thousands, from eager op-by-op calls
alone). Added after one CI run crashed inside XLA's compiler late in the session (a test that
passes alone); whether this is the cure or the crash is intermittent is not established.
"""

import gc

import jax
import pytest

jax.config.update("jax_enable_x64", True)


@pytest.fixture(autouse=True, scope="module")
def _free_compiled_programs():
    yield
    jax.clear_caches()
    gc.collect()
