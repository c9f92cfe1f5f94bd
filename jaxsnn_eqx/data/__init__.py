"""Datasets generated in code (Yin-Yang) and spike encoders."""

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
]
