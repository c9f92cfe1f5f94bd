"""The 8x8 handwritten digits shipped with scikit-learn (`sklearn.datasets.load_digits`): 1797
images of 64 pixels (0..16), 10 classes, no download. Extra ``digits``: ``pip install
"jaxsnn-eqx[digits]"``.

`digits_splits` cuts a fixed, seeded, stratified train / validation / test split (by default
70 / 10 / 20%: 1259 / 179 / 359 images, every class in every part in proportion to its size);
`encode_digits` latency-codes the pixels (the more ink, the earlier the spike) into `Spikes`.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from ..spikes import Spikes
from .encode import latency_times

__all__ = ["INSTALL_HINT", "N_PIXELS", "N_CLASSES", "load_digits", "digits_split_indices",
           "digits_splits", "encode_digits", "digits_times"]

INSTALL_HINT = 'pip install "jaxsnn-eqx[digits]"'
N_PIXELS = 64
N_CLASSES = 10


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """All 1797 images as ``(x, y)``: pixels ``(1797, 64)`` float32 in [0, 1] (value / 16, row
    by row) and labels ``(1797,)`` int32 in 0..9, in scikit-learn's order.

    Raises:
        ModuleNotFoundError: scikit-learn is not installed (the message gives the install hint).
    """
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError as err:
        raise ModuleNotFoundError(
            f"the digits dataset needs scikit-learn, which is not installed: {INSTALL_HINT}",
            name="sklearn",
        ) from err
    bunch = sk_load_digits()
    return (np.asarray(bunch.data, np.float32) / 16.0, np.asarray(bunch.target, np.int32))


def digits_split_indices(
    y: Int[ArrayLike, " n"], split_seed: int = 0, val_fraction: float = 0.1,
    test_fraction: float = 0.2,
) -> dict[str, np.ndarray]:
    """Stratified split of the samples with labels ``y``: ``{"train"|"val"|"test": row
    indices}``.

    Each class is shuffled by ``numpy.random.default_rng(split_seed)`` (one generator, classes in
    increasing order), its first ``round(n_c test_fraction)`` rows go to the test set, the next
    ``round(n_c val_fraction)`` to the validation set, the rest to the training set; each set is
    then shuffled by the same generator. Every row lands in exactly one set.
    """
    if not (val_fraction > 0 and test_fraction > 0 and val_fraction + test_fraction < 1):
        raise ValueError(f"digits_splits: need fractions > 0 with val_fraction + test_fraction "
                         f"< 1, got {val_fraction=}, {test_fraction=}.")
    y = np.asarray(y)
    rng = np.random.default_rng(split_seed)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for c in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == c))
        n_val, n_test = (int(round(len(rows) * f)) for f in (val_fraction, test_fraction))
        parts["test"].append(rows[:n_test])
        parts["val"].append(rows[n_test:n_test + n_val])
        parts["train"].append(rows[n_test + n_val:])
    return {name: rng.permutation(np.concatenate(chunks)) for name, chunks in parts.items()}


def digits_splits(
    split_seed: int = 0, val_fraction: float = 0.1, test_fraction: float = 0.2
) -> dict[str, tuple[Float[Array, "n 64"], Int[Array, " n"]]]:
    """Fixed stratified train / validation / test split of `load_digits` (see
    `digits_split_indices`). It depends on ``split_seed`` only: the tasks keep it at 0 for every
    training seed, so all runs are tested on the same images.

    Returns:
        ``{"train": (x, y), "val": (x, y), "test": (x, y)}``, pixels in [0, 1] (float32) and
        labels (int32); with the defaults 1259 / 179 / 359 images (70 / 10 / 20%).
    """
    x, y = load_digits()
    rows = digits_split_indices(y, split_seed, val_fraction, test_fraction)
    return {name: (jnp.asarray(x[r]), jnp.asarray(y[r])) for name, r in rows.items()}


def digits_times(
    x: Float[ArrayLike, "*batch 64"],
    *,
    t_early: float = 0.0,
    t_late: float,
    bias_time: float | None = None,
    zero_spikes: bool = False,
) -> Float[Array, "*batch n"]:
    """Input spike time (s) of each pixel (and of the bias neuron, last): pixel value ``x`` in
    [0, 1] fires at ``t_early + (1 - x) (t_late - t_early)`` (more ink = earlier); a zero pixel
    fires at ``t_late`` if ``zero_spikes``, else never (``inf``)."""
    x = jnp.asarray(x)
    times = latency_times(1.0 - x, t_early, t_late, mirror=False)
    if not zero_spikes:
        times = jnp.where(x > 0, times, jnp.inf)
    if bias_time is not None:
        bias = jnp.full(times.shape[:-1] + (1,), bias_time, times.dtype)
        times = jnp.concatenate([times, bias], axis=-1)
    return times


def encode_digits(
    x: Float[ArrayLike, "*batch 64"],
    *,
    t_early: float = 0.0,
    t_late: float,
    bias_time: float | None = None,
    zero_spikes: bool = False,
) -> Spikes:
    """Latency-code pixels ``x`` (``(*batch, 64)`` in [0, 1]) into `Spikes` ``(*batch, n)``,
    ``n = 64 + (bias_time is not None)``: at most one spike per pixel at its `digits_times`
    time, neuron ``i`` = pixel ``i`` (row by row), the bias neuron last. Without
    ``zero_spikes`` the zero pixels are silent: their slots are padding (``time = inf``,
    ``idx = -1``, sorted to the end)."""
    times = digits_times(x, t_early=t_early, t_late=t_late, bias_time=bias_time,
                         zero_spikes=zero_spikes)
    idx = jnp.broadcast_to(jnp.arange(times.shape[-1], dtype=jnp.int32), times.shape)
    return Spikes(times, jnp.where(jnp.isfinite(times), idx, -1)).sort()
