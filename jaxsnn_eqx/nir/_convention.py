"""Rewrite a graph of our own convention (`_native.native_graph`) the way another library's NIR
importer reads it: the inverse of `from_nir(..., convention=)`.

Per convention, with ``w`` our weight (V s), ``tm``/``ts`` our time constants (s) and ``dt`` the
Euler step (s) of a discrete-time library (graph weights are rows ``post``):

=============  ============================  ===============================  =================
convention     time unit (graph metadata)    weight ``W[post, pre]``          neuron fields
=============  ============================  ===============================  =================
norse          s                             ``w / ts``                       ``r = w_in = 1``
norse-1.1      s (norse 1.1.0's importer:    ``w / dt``                       ``r = w_in = 1``
               box synapse, step ``dt``)
jaxsnn         ms                            ``w / ts``, stored ``(pre,       ``r = w_in = 1``
                                             post)`` (what jaxsnn 0.3.0 reads)
snntorch       ``dt / 1e-4`` s (its fixed    ``w dt / (tm ts)``               ``r = tm/dt``,
               step 1e-4 is one ``dt``)                                       ``w_in = ts/dt``
spyx           ``dt`` s (time in steps, its  ``w dt / (tm ts)``               ``r = 1 - dt/tm``
               default ``dt = 1``)
=============  ============================  ===============================  =================
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import nir
import numpy as np

EXPORT_CONVENTIONS = (None, "jaxsnn_eqx", "norse", "norse-1.1", "jaxsnn", "snntorch", "spyx")
"""Conventions `to_nir` writes (``None`` and ``"jaxsnn_eqx"``: our own)."""

SNNTORCH_DT = 1e-4  # snnTorch's importer hard-codes dt = 1e-4 (import_nir.py)


def convert(graph: nir.NIRGraph, convention: str, dt: float | None) -> nir.NIRGraph:
    """``graph`` (ours: seconds, ``W = w``, ``r = w_in = 1``) in ``convention``."""
    meta = dict(graph.metadata)
    kind = meta["kind"]
    step = _step(convention, kind, meta, dt)
    nodes = dict(graph.nodes)
    neurons = {k: v for k, v in nodes.items() if isinstance(v, (nir.CubaLIF, nir.CubaLI))}
    gains = {}
    for name, node in neurons.items():
        nodes[name], gains[name] = _neuron(name, node, convention, step)
    for a, b in graph.edges:  # every weight node feeds exactly one neuron node
        if isinstance(nodes[a], nir.Linear) and b in gains:
            w = np.asarray(nodes[a].weight, np.float64) / gains[b][:, None]
            nodes[a] = nir.Linear(weight=w.T.copy() if convention == "jaxsnn" else w)
    meta.update(convention=convention)
    if convention == "norse":
        meta["time_unit"] = "s"
    elif convention == "norse-1.1":
        meta.update(time_unit="s", dt=step)
    elif convention == "jaxsnn":
        meta.update(time_unit="ms", weight_layout="pre_post")
    else:  # one NIR time unit = the library's fixed step (snnTorch) or one step (spyx)
        unit = step / SNNTORCH_DT if convention == "snntorch" else step
        meta.update(time_unit=unit, dt=step / unit)
    # (pre, post) matrices fail nir's own type check: write, and read with type_check=False
    return nir.NIRGraph(nodes=nodes, edges=list(graph.edges), metadata=meta,
                        type_check=convention != "jaxsnn")


def _step(convention: str, kind: str, meta: dict[str, Any], dt: float | None) -> float | None:
    """The Euler step (s) a discrete-time library runs with, or ``None`` (norse, jaxsnn)."""
    if convention == "jaxsnn" and kind != "event":
        raise ValueError("to_nir: convention='jaxsnn' writes what jaxsnn 0.3.0's event-based "
                         "importer reads; export discrete networks with another convention.")
    if convention not in ("snntorch", "spyx", "norse-1.1"):
        return None
    if kind == "discrete":
        if dt is not None and dt != meta["dt"]:
            raise ValueError(f"to_nir: dt={dt} differs from the network's step {meta['dt']}.")
        return float(meta["dt"])
    if dt is None or not dt > 0:
        raise ValueError(f"to_nir: convention={convention!r} is a discrete-time importer; "
                         "an event network needs the step it should run with: dt= (s).")
    return float(dt)


def _neuron(name: str, node: Any, convention: str, step: float | None) -> tuple[Any, np.ndarray]:
    """The node in ``convention`` and the gain ``g`` with ``w = g W`` (per neuron)."""
    tm, ts = np.asarray(node.tau_mem, np.float64), np.asarray(node.tau_syn, np.float64)
    lif = isinstance(node, nir.CubaLIF)
    fields = dict(v_leak=np.asarray(node.v_leak, np.float64).copy())
    if lif:
        fields.update(v_threshold=np.asarray(node.v_threshold, np.float64).copy(),
                      v_reset=np.asarray(node.v_reset, np.float64).copy())
    node_meta = copy.deepcopy(dict(node.metadata))
    _check(name, node, convention, fields, node_meta)
    ones = np.ones_like(tm)
    if convention == "norse":
        t, r, w_in, gain = (tm, ts), ones, ones, ts
    elif convention == "norse-1.1":
        t, r, w_in, gain = (tm, ts), ones, ones, np.full_like(tm, step)
    elif convention == "jaxsnn":
        t, r, w_in, gain = (tm * 1e3, ts * 1e3), ones, ones, ts
    elif convention == "snntorch":
        unit = step / SNNTORCH_DT
        t, r, w_in, gain = (tm / unit, ts / unit), tm / step, ts / step, tm * ts / step
    else:  # spyx: r holds beta = 1 - dt / tau_mem
        t, r, w_in, gain = (tm / step, ts / step), 1.0 - step / tm, ones, tm * ts / step
    if "dt" in node_meta and step is not None and convention != "norse-1.1":
        node_meta["dt"] = 1.0 if convention == "spyx" else SNNTORCH_DT
    if lif:
        new = nir.CubaLIF(tau_mem=t[0], tau_syn=t[1], r=r, w_in=w_in, metadata=node_meta,
                          **fields)
    else:
        new = nir.CubaLI(tau_mem=t[0], tau_syn=t[1], r=r, w_in=w_in, metadata=node_meta,
                         **fields)
    return new, np.asarray(gain, np.float64)


def _check(name: str, node: Any, convention: str, fields: dict, node_meta: dict) -> None:
    """Refuse what the library's importer cannot represent; warn where it differs."""
    where = f"to_nir(convention={convention!r}): node '{name}'"
    lif = isinstance(node, nir.CubaLIF)
    reset = node_meta.get("reset")
    if convention in ("snntorch", "spyx", "norse-1.1"):
        for field in ("v_leak", "v_reset") if lif else ("v_leak",):
            if np.any(fields[field] != 0):
                raise ValueError(f"{where}: {convention}'s importer reads no {field} (it "
                                 f"assumes 0); this network has {field}={fields[field]}.")
    if not lif:
        if convention == "spyx":
            warnings.warn(f"{where} is a CubaLI readout, which spyx's from_nir drops without a "
                          "word (its output is then the preceding Linear's).", stacklevel=4)
        elif convention == "snntorch":
            warnings.warn(f"{where} is a CubaLI readout, for which snnTorch's import_from_nir "
                          "has no module.", stacklevel=4)
        return
    if convention == "snntorch":
        if np.unique(fields["v_threshold"]).size != 1:
            raise ValueError(f"{where}: snnTorch's importer needs one v_threshold for all "
                             "neurons.")
        if reset == "subtract":
            warnings.warn(f"{where}: snnTorch's importer resets to zero (reset_mechanism="
                          "'zero'); this layer subtracts: their discrete runs differ.",
                          stacklevel=4)
    if convention == "spyx" and reset == "value":
        warnings.warn(f"{where}: spyx subtracts the threshold at a spike; this layer resets to "
                      "v_reset=0: their discrete runs differ.", stacklevel=4)
    if convention in ("norse", "norse-1.1") and reset == "subtract":
        warnings.warn(f"{where}: norse resets to v_reset; this layer subtracts: their discrete "
                      "runs differ.", stacklevel=4)
    if convention == "jaxsnn":
        for field in ("v_leak", "v_threshold", "v_reset"):
            if np.unique(fields[field]).size != 1:
                warnings.warn(f"{where}: jaxsnn 0.3.0 reads the first neuron's {field} for all "
                              "neurons.", stacklevel=4)
        if np.unique(node.tau_mem).size != 1 or np.unique(node.tau_syn).size != 1:
            warnings.warn(f"{where}: jaxsnn 0.3.0 reads the first neuron's time constants for "
                          "all neurons.", stacklevel=4)
