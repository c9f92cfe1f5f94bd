"""The Yin-Yang dataset (Kriener, Goeltz, Petrovici et al., 2021), generated in code.

Points are drawn uniformly from the disc of radius ``r_big`` centred at ``(r_big, r_big)`` (with
the default ``r_big = 0.5`` every coordinate lies in ``[0, 1]``) and labelled by the published
rules: ``2`` (dot) inside one of the two small circles of radius ``r_small``, otherwise ``1`` (yin)
or ``0`` (yang). We draw the same number of points of each class (rejection sampling per class),
so the classes are exactly balanced, and shuffle them.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

__all__ = ["yinyang", "yinyang_labels", "yinyang_splits", "CLASS_NAMES"]

CLASS_NAMES = ("yang", "yin", "dot")


def yinyang_labels(
    x: Float[Array, "n 2"], r_small: float = 0.1, r_big: float = 0.5
) -> Int[Array, " n"]:
    """Class of each point: 2 = dot, 1 = yin, 0 = yang (the published rules)."""
    return jnp.asarray(_labels(np.asarray(x), r_small, r_big))


def _labels(x: np.ndarray, r_small: float, r_big: float) -> np.ndarray:
    px, py = x[..., 0], x[..., 1]
    d_right = np.hypot(px - 1.5 * r_big, py - r_big)
    d_left = np.hypot(px - 0.5 * r_big, py - r_big)
    crit1 = d_right <= r_small
    crit2 = (d_left > r_small) & (d_left <= 0.5 * r_big)
    crit3 = (py > r_big) & (d_right > 0.5 * r_big)
    is_yin = crit1 | crit2 | crit3
    is_dot = (d_right < r_small) | (d_left < r_small)
    return np.where(is_dot, 2, is_yin.astype(np.int32)).astype(np.int32)


def yinyang(
    key: PRNGKeyArray, size: int = 5000, *, r_small: float = 0.1, r_big: float = 0.5
) -> tuple[Float[Array, "size 2"], Int[Array, " size"]]:
    """Draw ``size`` Yin-Yang points.

    Returns:
        ``(x, y)``: coordinates of shape ``(size, 2)`` in ``[0, 2 r_big]^2`` and labels in
        ``{0, 1, 2}``. Deterministic for a given key. Classes are balanced to within one sample.
    """
    if not isinstance(size, int | np.integer) or size <= 0:
        raise ValueError(f"yinyang: `size` must be a positive integer, got {size!r}.")
    if not 0 < r_small < 0.5 * r_big:
        raise ValueError(f"yinyang: need 0 < r_small < r_big / 2, got {r_small=}, {r_big=}.")
    per_class = [size // 3 + (1 if c < size % 3 else 0) for c in range(3)]
    chosen: list[list[np.ndarray]] = [[], [], []]
    have = [0, 0, 0]
    key, k_perm = jax.random.split(key)
    pool = max(4096, 16 * size)
    while any(h < n for h, n in zip(have, per_class, strict=True)):
        key, sub = jax.random.split(key)
        pts = np.asarray(jax.random.uniform(sub, (pool, 2), minval=0.0, maxval=2 * r_big))
        inside = np.hypot(pts[:, 0] - r_big, pts[:, 1] - r_big) <= r_big
        pts = pts[inside]
        lab = _labels(pts, r_small, r_big)
        for c in range(3):
            need = per_class[c] - have[c]
            if need > 0:
                take = pts[lab == c][:need]
                chosen[c].append(take)
                have[c] += len(take)
    x = np.concatenate([np.concatenate(c, axis=0) for c in chosen], axis=0)
    y = np.concatenate([np.full(n, c, np.int32) for c, n in enumerate(per_class)])
    perm = np.asarray(jax.random.permutation(k_perm, size))
    return jnp.asarray(x[perm]), jnp.asarray(y[perm])


def yinyang_splits(
    seed: int = 0, n_train: int = 5000, n_val: int = 1000, n_test: int = 1000, **kwargs
) -> dict[str, tuple[Float[Array, "n 2"], Int[Array, " n"]]]:
    """Deterministic train / validation / test splits drawn from independent keys of ``seed``."""
    for name, n in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test)):
        if not isinstance(n, int | np.integer) or n <= 0:
            raise ValueError(f"yinyang_splits: `{name}` must be a positive integer, got {n!r}.")
    k_train, k_val, k_test = jax.random.split(jax.random.PRNGKey(seed), 3)
    return {
        "train": yinyang(k_train, n_train, **kwargs),
        "val": yinyang(k_val, n_val, **kwargs),
        "test": yinyang(k_test, n_test, **kwargs),
    }
