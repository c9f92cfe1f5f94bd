"""Datasets: Yin-Yang (generated in code), scikit-learn's 8x8 digits, the Spiking Heidelberg Digits
(SHD, from the published files); spike encoders."""

from .digits import digits_splits, digits_times, encode_digits, load_digits
from .encode import encode_latency, encode_latency_dense, latency_times
from .shd import SHDSet, read_shd, shd_dense, shd_splits, synthetic_shd, write_shd
from .yinyang import CLASS_NAMES, yinyang, yinyang_labels, yinyang_splits

__all__ = [
    "yinyang",
    "yinyang_labels",
    "yinyang_splits",
    "CLASS_NAMES",
    "encode_latency",
    "encode_latency_dense",
    "latency_times",
    "load_digits",
    "digits_splits",
    "digits_times",
    "encode_digits",
    "shd_splits",
    "shd_dense",
    "read_shd",
    "write_shd",
    "synthetic_shd",
    "SHDSet",
]
