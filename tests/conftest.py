"""Test-session setup: float64 on (references need it); float32 checks build float32 arrays.

After each test module the compiled programs are dropped (`jax.clear_caches`): a session of 800
tests otherwise keeps every executable it ever compiled (thousands, from eager op-by-op calls
alone). Added after one CI run crashed inside XLA's compiler late in the session (a test that
passes alone); whether this is the cure or the crash is intermittent is not established.

Compiled programs are kept on disk for the session instead (JAX's persistent compilation
cache, one folder shared by the xdist workers and removed at the end): a program compiled again
(after the per-module clear, by the other worker, or by a test that builds the same function
anew) is read back, not recompiled. Measured on three of the heaviest files, serial, starting
from an empty folder: 818 s without, 716 s with. Set ``JAXSNN_EQX_TEST_CACHE`` to a folder to
keep the programs between sessions (an empty folder measures what a clean checkout takes).
"""

import gc
import os
import shutil
import tempfile

import jax
import pytest

jax.config.update("jax_enable_x64", True)

_CACHE_ENV = "JAXSNN_EQX_TEST_CACHE"
_OWNED_ENV = "JAXSNN_EQX_TEST_CACHE_OWNED"


def pytest_configure(config):
    # The xdist controller (or a plain session) makes the folder; the workers inherit the
    # variable, since they start after this hook.
    if _CACHE_ENV not in os.environ:
        os.environ[_CACHE_ENV] = tempfile.mkdtemp(prefix="jaxsnn-eqx-compiled-")
        os.environ[_OWNED_ENV] = os.environ[_CACHE_ENV]
    jax.config.update("jax_compilation_cache_dir", os.environ[_CACHE_ENV])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


def pytest_unconfigure(config):
    if not hasattr(config, "workerinput") and os.environ.get(_OWNED_ENV):
        shutil.rmtree(os.environ.pop(_OWNED_ENV), ignore_errors=True)
        os.environ.pop(_CACHE_ENV, None)


@pytest.fixture(autouse=True, scope="module")
def _free_compiled_programs():
    yield
    jax.clear_caches()
    gc.collect()
