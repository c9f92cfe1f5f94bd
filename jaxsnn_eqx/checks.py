"""Input checks shared by every public entry, and the debug switch.

Two kinds of check:

* **Always on** (cheap, O(number of input spikes) comparisons): input `Spikes` of an event layer
  must be a `Spikes`, with no NaN or negative times, indices in ``[0, in_size)``, padding that is
  ``inf`` in time exactly where the index is ``-1``, and times sorted (non-decreasing; padding
  last). On concrete arrays (eager calls) the error is a ``ValueError`` naming the layer, the
  argument, the first bad value and what is expected. Under ``jit``/``vmap``/``grad`` the same
  checks run inside the compiled function with `equinox.error_if` (an ``EqxRuntimeError`` naming
  the layer and the check; values are not known at trace time).
* **Debug only** (off by default): non-finite parameters of a layer when it is called.
  Switch on with the environment variable ``JAXSNN_EQX_DEBUG=1`` or `set_debug` / `debug`.
  The switch is read when a function is traced; changing it clears JAX's compilation caches
  (``jax.clear_caches``), so a function compiled before the change traces again on its next
  call and sees the new setting (at the cost of compiling it again).

Spikes that a layer of this package returned and that reach the next layer unchanged (the same
time and idx arrays or tracers) are valid by construction and not checked again, provided the
next layer has at least as many inputs as the producing layer has neurons (`trust`,
`is_trusted`); so in a network only the data entering the first layer pays for the checks.

Unsorted input is an error rather than being sorted silently: `Spikes.from_arrays` and
`Spikes.sort` sort (stably) for you.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
import weakref
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np

__all__ = [
    "set_debug", "debug", "debug_enabled", "check_spikes", "check_finite", "check_size",
    "check_weight", "check_finite_input", "trust", "is_trusted",
    "warn_if_all_late",
]

_DEBUG = os.environ.get("JAXSNN_EQX_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def set_debug(enabled: bool = True) -> None:
    """Switch the debug-only checks on or off. A change clears JAX's compilation caches, so
    already compiled functions trace again and follow the new setting."""
    global _DEBUG
    if bool(enabled) != _DEBUG:
        _DEBUG = bool(enabled)
        jax.clear_caches()


def debug_enabled() -> bool:
    """Whether the debug-only checks are on."""
    return _DEBUG


@contextlib.contextmanager
def debug(enabled: bool = True):
    """``with checks.debug(): ...``: debug-only checks on inside the block (`set_debug` on
    entry and back on exit, each clearing the compilation caches if the setting changes)."""
    old = _DEBUG
    set_debug(enabled)
    try:
        yield
    finally:
        set_debug(old)


def _is_traced(*xs) -> bool:
    return any(isinstance(x, jax.core.Tracer) for x in xs)


# (name, expected) of each spike check, in the order they are tested.
_SPIKE_CHECKS = (
    ("a NaN time", "finite times >= 0 (inf only in unused slots)"),
    ("a negative time", "times >= 0 (s)"),
    ("an index out of range", "indices in [0, in_size) for real events"),
    ("inconsistent padding", "unused slots with time = +inf AND idx = -1, real events with a "
                             "finite time and idx >= 0"),
    ("unsorted times", "times sorted non-decreasingly, unused slots last (Spikes.sort() or "
                       "Spikes.from_arrays sort for you)"),
)


def _spike_faults(time, idx, n_in):
    """Boolean fault flags (one per `_SPIKE_CHECKS` entry) over the last axis; works on numpy
    and jax arrays alike."""
    xp = np if isinstance(time, np.ndarray) else jnp
    pad_t = time == xp.inf
    pad_i = idx == -1
    real = ~pad_t
    nan = xp.isnan(time)
    neg = time < 0
    bad_idx = real & ~nan & ((idx < 0) | (idx >= n_in)) & ~pad_i
    bad_pad = pad_t != pad_i
    if time.shape[-1] > 1:
        unsorted = time[..., 1:] < time[..., :-1]
        unsorted = xp.concatenate([xp.zeros_like(unsorted[..., :1]), unsorted], axis=-1)
    else:
        unsorted = xp.zeros_like(pad_t)
    return (nan, neg, bad_idx, bad_pad, unsorted)


# Spikes produced by this package's layers (valid by construction), by the id of their times: a
# layer's input whose time AND idx arrays (or tracers) are exactly those of such an output, and
# whose consumer has at least as many inputs as the producer had neurons, is not checked again.
# Weak references: an entry goes when its time array (or tracer) does.
_TRUSTED: dict[int, tuple[Any, Any, int]] = {}


def _forget(key: int):
    return lambda _ref: _TRUSTED.pop(key, None)


def trust(spikes: Any, n_out: int) -> Any:
    """Mark ``spikes`` (the output of a layer of ``n_out`` neurons: indices in ``[0, n_out)``)
    as valid for any consumer with ``in_size >= n_out``, so that a layer it is passed to
    unchanged (the same time and idx objects) skips `check_spikes`. Returns ``spikes``."""
    with contextlib.suppress(TypeError):  # an object without weak references: just not trusted
        key = id(spikes.time)
        _TRUSTED[key] = (weakref.ref(spikes.time, _forget(key)), weakref.ref(spikes.idx),
                         int(n_out))
    return spikes


def is_trusted(spikes: Any, n_in: int) -> bool:
    """Whether ``spikes`` are a layer's output, unchanged (time and idx), whose indices are
    valid for ``n_in`` inputs (see `trust`)."""
    entry = _TRUSTED.get(id(spikes.time))
    if entry is None:
        return False
    time_ref, idx_ref, n_out = entry
    return time_ref() is spikes.time and idx_ref() is spikes.idx and n_out <= n_in


def check_spikes(spikes: Any, n_in: int, where: str, name: str = "spikes"):
    """Validate the input `Spikes` of ``where`` (a layer description) against ``n_in`` inputs.

    Returns ``spikes`` (under ``jit``, with the checks attached to its times). Raises
    ``TypeError`` for a non-`Spikes` argument, ``ValueError`` (eager) or ``EqxRuntimeError``
    (compiled) for bad values; see the module docstring.
    """
    from .spikes import Spikes

    if not isinstance(spikes, Spikes):
        raise TypeError(
            f"{where}: expected `{name}` to be a jaxsnn_eqx.Spikes (time, idx), got "
            f"{type(spikes).__name__}"
            + (f" of shape {jnp.shape(spikes)}" if hasattr(spikes, "shape") else "")
            + "; build one with Spikes(time, idx), Spikes.from_arrays or data.encode_latency."
        )
    time, idx = spikes.time, spikes.idx
    if is_trusted(spikes, n_in):  # straight from one of our layers, indices in range
        return spikes
    if _is_traced(time, idx):
        faults = _spike_faults(time, idx, n_in)
        flags = jnp.stack([jnp.any(f) for f in faults])
        msgs = [f"{where}: input `{name}` has {what}; expected {exp}."
                for what, exp in _SPIKE_CHECKS]
        checked = eqx.branched_error_if(time, jnp.any(flags), jnp.argmax(flags), msgs)
        return Spikes(checked, idx)
    t, i = np.asarray(time), np.asarray(idx)
    for (what, exp), fault in zip(_SPIKE_CHECKS, _spike_faults(t, i, n_in), strict=True):
        if fault.any():
            pos = tuple(int(p) for p in np.argwhere(fault)[0])
            seen = f"time={float(t[pos])!r}, idx={int(i[pos])}"
            if what == "unsorted times":
                prev = pos[:-1] + (pos[-1] - 1,)
                seen = f"time={float(t[pos])!r} after time={float(t[prev])!r}"
            raise ValueError(
                f"{where}: input `{name}` has {what} at position {pos} ({seen}); expected {exp}."
            )
    return spikes


def warn_if_all_late(spikes: Any, t_max: float, where: str) -> None:
    """Warn (a ``UserWarning``) when every real input spike of ``spikes`` lies at or after
    ``t_max``: the layer cannot respond, which is usually a unit mistake (e.g. times in ms or
    us against ``t_max`` in s). Only for concrete (eager) inputs; under ``jit``/``vmap`` the
    values are unknown and nothing is checked. Python shows each such warning once per place."""
    time = spikes.time
    if _is_traced(time):
        return
    t = np.asarray(time)
    real = t[np.isfinite(t)]
    if real.size and np.all(real >= t_max):
        warnings.warn(
            f"{where}: every input spike lies at or after t_max={t_max} (earliest "
            f"{float(real.min())!r}), so the layer cannot respond; are the times in seconds, "
            "like t_max?", UserWarning, stacklevel=4)


def _leaf_name(path) -> str:
    """``"weight"``, ``"neuron.params.tau_mem"``: a key path as attribute access."""
    text = jtu.keystr(path)
    return re.sub(r"^\['([^']*)'\]", r"\1", text).lstrip(".")


def check_finite(x: Any, tree: Any, where: str, name: str = "parameter") -> Any:
    """Debug only: attach an error to ``x`` if any inexact leaf of ``tree`` (e.g. a dict of a
    layer's parameters) is not finite, naming the leaf. Returns ``x`` unchanged when the debug
    switch is off."""
    if not _DEBUG:
        return x
    leaves = [(_leaf_name(p), leaf) for p, leaf in jtu.tree_flatten_with_path(tree)[0]
              if eqx.is_inexact_array(leaf)]
    if not leaves:
        return x
    if not _is_traced(*[leaf for _, leaf in leaves]):
        for path, leaf in leaves:
            arr = np.asarray(leaf)
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{where}: {name} `{path}` has non-finite values (e.g. "
                                 f"{float(arr[~np.isfinite(arr)].ravel()[0])!r}); expected "
                                 "finite (debug check).")
        return x
    flags = jnp.stack([~jnp.all(jnp.isfinite(leaf)) for _, leaf in leaves])
    msgs = [f"{where}: {name} `{path}` has non-finite values; expected finite (debug check)."
            for path, _ in leaves]
    return eqx.branched_error_if(x, jnp.any(flags), jnp.argmax(flags), msgs)


def check_size(value: Any, name: str, where: str, minimum: int = 1) -> int:
    """``value`` as an ``int >= minimum`` (a size or a count), or a ``ValueError``/``TypeError``
    naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{where}: `{name}` must be an integer, got {value!r} "
                        f"({type(value).__name__}).")
    if value < minimum:
        raise ValueError(f"{where}: `{name}` must be >= {minimum}, got {value}.")
    return int(value)


def check_weight(w: Any, shape: tuple[int, ...], where: str, name: str = "weight"):
    """``w`` as a floating array of ``shape``; concrete values must be finite."""
    w = jnp.asarray(w)
    if not jnp.issubdtype(w.dtype, jnp.floating):
        raise TypeError(f"{where}: `{name}` must be a floating-point array, got dtype {w.dtype}; "
                        "convert it with .astype(float).")
    if w.shape != tuple(shape):
        raise ValueError(f"{where}: `{name}` must have shape {tuple(shape)}, got {w.shape}.")
    if not _is_traced(w):
        _raise_if_non_finite(w, f"{where}: `{name}`", "finite weights")
    return w


def _raise_if_non_finite(x: Any, what: str, expected: str) -> None:
    """A ``ValueError`` naming the first non-finite entry of the concrete array ``x``."""
    arr = np.asarray(x)
    if not np.all(np.isfinite(arr)):
        bad = tuple(int(p) for p in np.argwhere(~np.isfinite(arr))[0])
        raise ValueError(f"{what} has a non-finite value {float(arr[bad])!r} at {bad}; expected "
                         f"{expected}.")


def check_finite_input(x: Any, where: str, name: str = "xs"):
    """``x`` with an always-on check that every value is finite (eager: ``ValueError`` with the
    first bad position; compiled: `equinox.error_if`)."""
    if _is_traced(x):
        return eqx.error_if(x, ~jnp.all(jnp.isfinite(x)),
                            f"{where}: input `{name}` has a NaN or infinite value; expected "
                            "finite values.")
    _raise_if_non_finite(x, f"{where}: input `{name}`", "finite values")
    return x
