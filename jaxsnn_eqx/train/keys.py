"""The one way keys are derived in `train` and `tasks`: split a key ONCE into named parts.

Why a rule: with JAX's partitionable threefry (the default since JAX 0.5), ``fold_in(key, i)``
equals ``split(key, n)[i]`` for every ``n > i``, and `jax.random.permutation` and friends split
the key they are given internally. Deriving two keys from one parent in two ways (a ``split``
here, a ``fold_in`` there, or handing a key to a sampler and also deriving from it) therefore
yields the same bits for two roles: e.g. ``fold_in(k, 1)`` is the subkey
``permutation(k, n)`` draws with, and ``fold_in(k, 1)`` of a model key is ``split(k)[1]``.

The scheme:

* `named_keys`: ``split(key, len(names))``, one independent key per role, by name. A key is
  either split once into named parts or consumed by exactly one sampler, never both.
* `indexed_key`: the ``i``-th key of a family (epoch ``i``), ``fold_in(root, i)`` (equal to
  ``split(root, n)[i]``); a family gets its own root from `named_keys` and nothing else derives
  from that root.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
from jaxtyping import PRNGKeyArray

__all__ = ["named_keys", "indexed_key"]


def named_keys(key: PRNGKeyArray, names: Sequence[str]) -> dict[str, PRNGKeyArray]:
    """``{name: key}``: ``key`` split once into ``len(names)`` independent keys, the ``i``-th
    named ``names[i]`` (so ``named_keys(k, ("a", "b"))["b"] == split(k)[1]``: adding a name at
    the end keeps the keys of the others).

    Raises:
        ValueError: no names, or a name twice.
    """
    names = tuple(names)
    if not names or len(set(names)) != len(names):
        raise ValueError(f"named_keys: need distinct names, got {names!r}.")
    parts = jax.random.split(key, len(names))
    return {name: parts[i] for i, name in enumerate(names)}


def indexed_key(root: PRNGKeyArray, index: int) -> PRNGKeyArray:
    """Key number ``index`` of the family rooted at ``root`` (``fold_in(root, index)``; the
    root must serve that family only, see the module docstring)."""
    return jax.random.fold_in(root, index)
