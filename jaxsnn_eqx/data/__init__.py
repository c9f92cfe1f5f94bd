"""Datasets: Yin-Yang (generated in code), scikit-learn's 8x8 digits; spike encoders."""

from .digits import digits_splits, digits_times, encode_digits, load_digits
from .encode import encode_latency, encode_latency_dense, latency_times
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
]
