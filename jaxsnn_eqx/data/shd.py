"""The Spiking Heidelberg Digits (SHD; Cramer, Stradmann, Schemmel & Zenke, 2020), read from the
published HDF5 files. Extra ``shd``: ``pip install "jaxsnn-eqx[shd]"`` (h5py).

Spoken digits 0-9 in English and German (20 classes), turned into spikes of 700 channels by a
cochlea model: 8156 training and 2264 test samples of about 1 s. Nothing is downloaded: put
``shd_train.h5`` and ``shd_test.h5`` (or the gzipped originals ``shd_train.h5.gz``,
``shd_test.h5.gz``, which are then decompressed in memory on every load) from
https://zenkelab.org/datasets/ (also on https://compneuro.net/) into one folder and pass it as
``data_dir``.

File layout (as published): ``spikes/times`` (per sample a variable-length float array of spike
times in s), ``spikes/units`` (per sample the matching channels, 0..699) and ``labels`` (0..19).

Preprocessing (`preprocess`, in this order, each optional):

* ``t_max``: spikes at or after ``t_max`` (s) are dropped;
* ``pool = K``: channel ``c`` becomes input ``c // K`` (``ceil(700 / K)`` inputs; the last group
  is smaller when ``K`` does not divide 700);
* ``time_step = dt``: every time is moved to the centre of its bin, ``(floor(t / dt) + 1/2) dt``
  (unbiased, and binning it again with the same ``dt``, as `Spikes.to_dense` does, puts it in
  the same bin whatever the float rounding); a centre at or after ``t_max`` is dropped;
* events with the same (time, input) are merged into one unless ``keep_duplicates`` (after
  binning or pooling there are many; an event list has no counts, so merging loses them, while
  kept duplicates act as one event of twice the weight: exact, but the event loop pays for each).

Padding (`shd_splits`): a batch of `Spikes` has one length for every sample. It is the
``pad_quantile`` quantile of the per-sample event counts of the training samples used (after
preprocessing), rounded up; ``pad_quantile=1`` (default) takes the maximum over every split
loaded, so no event is dropped. A sample with more events than the padding keeps its earliest
ones (the latest are dropped); the report says how many samples and events that cost per split.

Dense variant for time-discrete networks: `shd_dense` (counts per time bin and input, straight
from the files) or `Spikes.to_dense` of the padded spikes (what the discrete task does, one batch
at a time).
"""

from __future__ import annotations

import gzip
import io
import math
from pathlib import Path
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Int

from ..spikes import Spikes

__all__ = ["N_CHANNELS", "N_CLASSES", "SHD_FILES", "SHD_SOURCE", "SHD_INSTALL_HINT",
           "CLASS_NAMES", "shd_file", "read_shd", "n_inputs", "preprocess", "pad_size",
           "pad_spikes", "split_rows", "SHDSet", "shd_splits", "shd_dense", "write_shd",
           "synthetic_shd"]

N_CHANNELS = 700
N_CLASSES = 20
SHD_FILES = {"train": "shd_train.h5", "test": "shd_test.h5"}
SHD_SOURCE = "https://zenkelab.org/datasets/ (also on https://compneuro.net/)"
SHD_INSTALL_HINT = 'pip install "jaxsnn-eqx[shd]"'
# the class numbers (the published files map them to the spoken words in `extra/keys`)
CLASS_NAMES = tuple(str(c) for c in range(N_CLASSES))


def _missing(data_dir: Path, split: str) -> FileNotFoundError:
    where = (f"the folder {data_dir} does not exist" if not data_dir.is_dir()
             else f"{data_dir} holds neither {SHD_FILES[split]} nor {SHD_FILES[split]}.gz")
    names = " and ".join(f"{f}.gz" for f in SHD_FILES.values())
    return FileNotFoundError(
        f"SHD {split} data not found: {where}. Expected files: "
        f"{', '.join(SHD_FILES.values())} (or {names}) in {data_dir}; get them from "
        f"{SHD_SOURCE} (Spiking Heidelberg Digits) and pass their folder as --data-dir. "
        "Nothing is downloaded automatically.")


def shd_file(data_dir: str | Path, split: str) -> Path:
    """The file of ``split`` (``"train"`` or ``"test"``) in ``data_dir``: ``shd_<split>.h5``,
    else ``shd_<split>.h5.gz``.

    Raises:
        ValueError: ``split`` is not ``"train"`` or ``"test"``.
        FileNotFoundError: neither file is there (the message names the folder, the expected
            files and where to get them).
    """
    if split not in SHD_FILES:
        raise ValueError(f"SHD: split must be 'train' or 'test', got {split!r}.")
    data_dir = Path(data_dir).expanduser()
    for name in (SHD_FILES[split], SHD_FILES[split] + ".gz"):
        if (data_dir / name).is_file():
            return data_dir / name
    raise _missing(data_dir, split)


def _h5py():
    try:
        import h5py
    except ImportError as err:
        raise ModuleNotFoundError(
            f"reading the SHD files needs h5py, which is not installed: {SHD_INSTALL_HINT}",
            name="h5py") from err
    return h5py


def read_shd(path: str | Path) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """The samples of one SHD file (``.h5``, or ``.h5.gz`` decompressed in memory), unprocessed.

    Returns:
        ``(times, units, labels)``: per sample the spike times (float64, s) and channels (int32),
        as stored; labels ``(n,)`` int32.

    Raises:
        ValueError: the file does not have the SHD layout, or a channel or label is out of range.
    """
    h5py = _h5py()
    path = Path(path)
    source = io.BytesIO(gzip.decompress(path.read_bytes())) if path.suffix == ".gz" else path
    with h5py.File(source, "r") as f:
        try:
            times_ds, units_ds, labels_ds = f["spikes"]["times"], f["spikes"]["units"], f["labels"]
        except KeyError as err:
            raise ValueError(f"{path}: not an SHD file (needs datasets spikes/times, "
                             f"spikes/units and labels; missing {err}).") from None
        times = [np.asarray(t, np.float64) for t in times_ds[:]]
        units = [np.asarray(u, np.int32) for u in units_ds[:]]
        labels = np.asarray(labels_ds[:], np.int32)
    if not len(times) == len(units) == len(labels):
        raise ValueError(f"{path}: {len(times)} spike-time lists, {len(units)} channel lists and "
                         f"{len(labels)} labels; they must match.")
    for k, (t, u) in enumerate(zip(times, units, strict=True)):
        if t.shape != u.shape:
            raise ValueError(f"{path}: sample {k} has {t.size} spike times but {u.size} channels.")
        if u.size and (u.min() < 0 or u.max() >= N_CHANNELS):
            raise ValueError(f"{path}: sample {k} has a channel outside 0..{N_CHANNELS - 1}.")
    if labels.size and (labels.min() < 0 or labels.max() >= N_CLASSES):
        raise ValueError(f"{path}: labels must lie in 0..{N_CLASSES - 1}.")
    return times, units, labels


def n_inputs(pool: int = 1) -> int:
    """Number of inputs after pooling the 700 channels in groups of ``pool``."""
    return -(-N_CHANNELS // pool)


def preprocess(
    times: np.ndarray, units: np.ndarray, *, t_max: float | None = None,
    time_step: float | None = None, pool: int = 1, keep_duplicates: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """One sample's events after the module's preprocessing (``t_max`` cut, channel pooling,
    time binning, merging of equal (time, input) events), sorted by time, equal times by input.

    Returns:
        ``(times, inputs)``: float64 (s) and int32 arrays of equal length.
    """
    t = np.asarray(times, np.float64)
    u = np.asarray(units, np.int64)
    if pool < 1:
        raise ValueError(f"SHD: pool must be a positive integer, got {pool}.")
    if time_step is not None and not time_step > 0:
        raise ValueError(f"SHD: time_step must be positive (s), got {time_step}.")
    keep = np.isfinite(t) & (t >= 0)
    if t_max is not None:
        keep &= t < t_max
    t, u = t[keep], u[keep]
    if pool > 1:
        u = u // pool
    if time_step is not None:
        t = (np.floor(t / time_step) + 0.5) * time_step
        if t_max is not None:
            keep = t < t_max
            t, u = t[keep], u[keep]
    order = np.lexsort((u, t))
    t, u = t[order], u[order]
    if not keep_duplicates and t.size > 1:
        new = np.concatenate([[True], (np.diff(t) != 0) | (np.diff(u) != 0)])
        t, u = t[new], u[new]
    return t, u.astype(np.int32)


def pad_size(counts: np.ndarray, quantile: float = 1.0) -> int:
    """The padded length for per-sample event ``counts``: their ``quantile`` (``1``: the
    maximum), rounded up; at least 1."""
    counts = np.asarray(counts)
    if not 0 < quantile <= 1:
        raise ValueError(f"SHD: the padding quantile must lie in (0, 1], got {quantile}.")
    if counts.size == 0:
        return 1
    q = counts.max() if quantile == 1 else np.quantile(counts, quantile, method="higher")
    return max(1, int(math.ceil(q)))


def pad_spikes(events: list[tuple[np.ndarray, np.ndarray]], size: int,
               dtype=None) -> tuple[Spikes, dict]:
    """Batched `Spikes` ``(n, size)`` of per-sample ``(times, inputs)`` (each sorted by time):
    unused slots ``inf``/``-1``; a sample with more than ``size`` events keeps its earliest
    ``size``.

    Returns:
        ``(spikes, stats)`` with ``stats``: ``samples``, ``mean_events``, ``max_events`` (before
        truncation), ``truncated_samples`` and ``dropped_events``.
    """
    dtype = jnp.result_type(float) if dtype is None else dtype
    n = len(events)
    time = np.full((n, size), np.inf, np.float64)
    idx = np.full((n, size), -1, np.int32)
    counts = np.array([len(t) for t, _ in events], np.int64)
    for k, (t, u) in enumerate(events):
        m = min(len(t), size)
        time[k, :m], idx[k, :m] = t[:m], u[:m]
    over = counts > size
    stats = dict(samples=n, mean_events=float(counts.mean()) if n else 0.0,
                 max_events=int(counts.max(initial=0)), truncated_samples=int(over.sum()),
                 dropped_events=int((counts - size)[over].sum()))
    return Spikes(jnp.asarray(time, dtype), jnp.asarray(idx)), stats


class SHDSet(NamedTuple):
    """The splits of `shd_splits` and what the preprocessing and padding did.

    Attributes:
        splits: ``{"train" | "val" | "test": (Spikes (n, pad), labels (n,))}``.
        pad: the padded length (events per sample).
        n_in: number of inputs (``ceil(700 / pool)``).
        report: JSON-friendly: the settings, the padding rule, ``pad``, per split ``samples``,
            ``mean_events``, ``max_events``, ``truncated_samples``, ``dropped_events``, and
            ``input_rate`` (mean events per second per input of the training samples, within
            ``t_max``, or the file's last spike when there is no ``t_max``).
    """

    splits: dict[str, tuple[Spikes, Int[Array, " n"]]]
    pad: int
    n_in: int
    report: dict


def _n_samples(path: Path) -> int:
    """Number of samples of an SHD file (its labels)."""
    if path.suffix == ".gz":
        return len(read_shd(path)[2])
    with _h5py().File(path, "r") as f:
        return int(f["labels"].shape[0])


def split_rows(n_train_file: int, n_test_file: int, *, n_train: int | None = None,
               n_val: int = 0, n_test: int | None = None,
               split_seed: int = 0) -> dict[str, np.ndarray]:
    """The rows of the training and test files that `shd_splits` uses: ``{"train" | "val":
    rows of shd_train.h5, "test": rows of shd_test.h5}`` (see `shd_splits` for the rule).

    Raises:
        ValueError: more samples asked for than the files hold.
    """
    rng = np.random.default_rng(split_seed)
    perm = rng.permutation(n_train_file)
    if n_val >= n_train_file:
        raise ValueError(f"SHD: --n-val {n_val}: {SHD_FILES['train']} has {n_train_file} "
                         "samples, and training needs some of them.")
    rows = {"val": perm[:n_val], "train": perm[n_val:]}
    if n_train is not None:
        if n_train > len(rows["train"]):
            raise ValueError(f"SHD: --n-train {n_train}: {SHD_FILES['train']} has "
                             f"{n_train_file} samples, {len(rows['train'])} after the {n_val} "
                             "held out for validation.")
        rows["train"] = rows["train"][:n_train]
    if n_test is not None and n_test > n_test_file:
        raise ValueError(f"SHD: --n-test {n_test}: {SHD_FILES['test']} has {n_test_file} "
                         "samples.")
    rows["test"] = (np.arange(n_test_file) if n_test is None
                    else rng.permutation(n_test_file)[:n_test])
    return rows


def shd_splits(
    data_dir: str | Path, *, n_train: int | None = None, n_val: int = 0,
    n_test: int | None = None, split_seed: int = 0, t_max: float | None = None,
    time_step: float | None = None, pool: int = 1, keep_duplicates: bool = False,
    pad_quantile: float = 1.0, dtype=None,
) -> SHDSet:
    """Train / validation / test splits of the SHD files in ``data_dir`` as padded `Spikes`.

    SHD has no validation split: ``n_val`` samples of ``shd_train.h5`` are held out. The
    training file is shuffled by ``numpy.random.default_rng(split_seed)``; its first ``n_val``
    rows are the validation set, the next ``n_train`` (``None``: all the others) the training
    set. The test set is all of ``shd_test.h5`` (``n_test=None``) or ``n_test`` rows of it
    drawn by the same generator. Preprocessing: see the module docstring (``t_max``,
    ``pool``, ``time_step``, ``keep_duplicates``); padding: the ``pad_quantile`` rule there.

    Returns:
        `SHDSet`.

    Raises:
        FileNotFoundError: a file is missing (`shd_file`).
        ModuleNotFoundError: h5py is not installed.
        ValueError: a bad setting, or more samples asked for than the files hold.
    """
    if t_max is not None and not t_max > 0:
        raise ValueError(f"SHD: t_max must be positive (s), got {t_max}.")
    train_path, test_path = shd_file(data_dir, "train"), shd_file(data_dir, "test")
    prep = dict(t_max=t_max, time_step=time_step, pool=pool, keep_duplicates=keep_duplicates)
    times, units, labels = read_shd(train_path)
    n_test_file = _n_samples(test_path)
    rows = split_rows(len(labels), n_test_file, n_train=n_train, n_val=n_val, n_test=n_test,
                      split_seed=split_seed)
    events = {name: [preprocess(times[r], units[r], **prep) for r in rows[name]]
              for name in ("train", "val")}
    ys = {name: labels[rows[name]] for name in ("train", "val")}
    times, units, labels = read_shd(test_path)
    test_rows = rows["test"]
    events["test"] = [preprocess(times[r], units[r], **prep) for r in test_rows]
    ys["test"] = labels[test_rows]
    del times, units

    counts = {name: np.array([len(t) for t, _ in ev], np.int64) for name, ev in events.items()}
    if pad_quantile == 1:
        pad = max(pad_size(c) for c in counts.values())
        rule = "the maximum event count over every split loaded (no event dropped)"
    else:
        pad = pad_size(counts["train"], pad_quantile)
        rule = (f"the {pad_quantile:g} quantile of the training samples' event counts; longer "
                "samples keep their earliest events")
    splits, per_split = {}, {}
    for name, ev in events.items():
        if not ev:
            continue
        spikes, stats = pad_spikes(ev, pad, dtype)
        splits[name] = (spikes, jnp.asarray(ys[name]))
        per_split[name] = stats
    n_in = n_inputs(pool)
    duration = t_max if t_max is not None else max(
        (float(t[-1]) for t, _ in events["train"] if len(t)), default=1.0)
    rate = float(counts["train"].mean()) / (duration * n_in) if len(counts["train"]) else 0.0
    report = dict(data_dir=str(Path(data_dir)), files=[train_path.name, test_path.name],
                  t_max=t_max, time_step=time_step, pool=pool, n_in=n_in,
                  keep_duplicates=keep_duplicates, pad_quantile=pad_quantile, rule=rule,
                  pad=pad, splits=per_split, input_rate=rate)
    return SHDSet(splits, pad, n_in, report)


def shd_dense(
    data_dir: str | Path, split: str = "train", *, dt: float, t_max: float, pool: int = 1,
    n: int | None = None, dtype=np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """The spikes of one SHD file as dense counts per time bin and input (for time-discrete
    networks): ``x[k, floor(t / dt), c // pool] += 1`` for every spike ``(t, c)`` of sample
    ``k`` with ``t < t_max``; duplicates counted. Needs ``n x ceil(t_max / dt) x n_in`` numbers
    in memory (the whole training file at ``dt = 1 ms``, ``t_max = 1 s``: 23 GB in float32), so
    pass ``n`` (the first ``n`` samples) or use `Spikes.to_dense` on batches instead.

    Returns:
        ``(x, labels)``: ``(n, steps, n_in)`` counts in ``dtype`` and ``(n,)`` int32.
    """
    if not (dt > 0 and t_max > 0):
        raise ValueError(f"SHD: need dt > 0 and t_max > 0 (s), got {dt=}, {t_max=}.")
    times, units, labels = read_shd(shd_file(data_dir, split))
    n = len(labels) if n is None else min(n, len(labels))
    steps = int(np.ceil(t_max / dt - 1e-9))
    n_in = n_inputs(pool)
    x = np.zeros((n, steps, n_in), dtype)
    for k in range(n):
        t, u = preprocess(times[k], units[k], t_max=t_max, pool=pool, keep_duplicates=True)
        b = np.minimum(np.floor(t / dt).astype(np.int64), steps - 1)
        np.add.at(x[k], (b, u), 1)
    return x, labels[:n]


def write_shd(path: str | Path, times: list, units: list, labels) -> Path:
    """Write samples in the SHD file layout (for tests and benchmarks): ``spikes/times``
    (variable-length float32 arrays, s), ``spikes/units`` (variable-length uint16 arrays) and
    ``labels`` (uint8); `read_shd` reads it back."""
    h5py = _h5py()
    path = Path(path)
    n = len(labels)
    with h5py.File(path, "w") as f:
        g = f.create_group("spikes")
        t_ds = g.create_dataset("times", (n,), dtype=h5py.vlen_dtype(np.float32))
        u_ds = g.create_dataset("units", (n,), dtype=h5py.vlen_dtype(np.uint16))
        for k in range(n):
            t_ds[k] = np.asarray(times[k], np.float32)
            u_ds[k] = np.asarray(units[k], np.uint16)
        f.create_dataset("labels", data=np.asarray(labels, np.uint8))
    return path


def synthetic_shd(n: int, *, n_classes: int = N_CLASSES, spikes: int = 3000, seed: int = 0,
                  duration: float = 0.9) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """SHD-like samples (for tests and benchmarks; not speech): each class has three
    "formant" tracks across the 700 channels; a sample is an utterance of random onset and
    length within ``duration`` (s) whose about ``spikes`` events lie along its class's tracks
    (with jitter), plus 10% background events. Classes cycle ``0, 1, ..., n_classes - 1``.

    Returns:
        ``(times, units, labels)`` as `read_shd` returns them (times sorted).
    """
    rng = np.random.default_rng(seed)
    tracks = np.random.default_rng(12345).uniform(
        [[[60.0, -150.0]] * 3] * n_classes, [[[640.0, 150.0]] * 3] * n_classes)
    times, units = [], []
    labels = np.arange(n) % n_classes
    for c in labels:
        m = rng.poisson(spikes)
        onset = rng.uniform(0.02, 0.2 * duration)
        length = rng.uniform(0.4, 0.75) * (duration - onset)
        n_bg = m // 10
        s = rng.uniform(0.0, 1.0, m - n_bg)
        k = rng.integers(0, 3, m - n_bg)
        ch = tracks[c, k, 0] + tracks[c, k, 1] * s + rng.normal(0.0, 6.0, m - n_bg)
        t = np.concatenate([onset + length * s, rng.uniform(0.0, duration, n_bg)])
        u = np.concatenate([ch, rng.uniform(0, N_CHANNELS, n_bg)])
        u = np.clip(np.round(u), 0, N_CHANNELS - 1).astype(np.int32)
        order = np.argsort(t, kind="stable")
        times.append(t[order])
        units.append(u[order])
    return times, units, labels.astype(np.int32)
