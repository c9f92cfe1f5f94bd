"""Import (`from_nir`): NIR graphs written by us or by other libraries to our layers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import jax.numpy as jnp
import nir
import numpy as np

from .. import discrete, event
from ..containers import Recurrent, Sequential

TIME_UNITS: dict[str, float] = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
"""Time units accepted by `from_nir`, in seconds."""

CONVENTIONS = ("jaxsnn_eqx", "norse", "norse-1.1", "jaxsnn", "snntorch", "spyx")
"""Conventions `from_nir` reads (see the module docstring and ``docs/nir.md``)."""

_DEFAULT_UNIT = {"jaxsnn_eqx": None, "norse": "s", "norse-1.1": "s", "jaxsnn": "ms",
                 "snntorch": "s", "spyx": None}
_SUBTRACT_THRESHOLD = ("snntorch", "spyx")  # reset: V -= v_threshold
_SNNTORCH_DT = 1e-4  # snnTorch's export hard-codes dt = 1e-4 (in its time unit)
_NEURONS = (nir.CubaLIF, nir.CubaLI)
_WEIGHTS = (nir.Linear, nir.Affine)


def from_nir(
    graph: nir.NIRGraph,
    *,
    t_max: float | None = None,
    max_spikes: int | Sequence[int] | None = None,
    time_unit: str | float | None = None,
    dt: float | None = None,
    convention: str = "jaxsnn_eqx",
    kind: Literal["event", "discrete"] = "event",
    eventprop: bool = False,
    method: str = "auto",
) -> Sequential:
    """Build a `Sequential` of our layers from a NIR graph (see the module docstring).

    Args:
        graph: a chain ``Input -> (Linear|Affine)* -> CubaLIF|CubaLI -> ... -> Output``, with
            optional ``lif <-> w_rec`` cycles (at the top level or in a subgraph).
        t_max: for ``kind="event"``: the layers' simulation end (s).
        max_spikes: for ``kind="event"``: the layers' spike buffer (an int for every layer, or
            one per layer).
        time_unit: the graph's time unit, ``"s"``, ``"ms"``, ``"us"`` or seconds per unit (a
            float); default: the metadata's ``time_unit``, else the convention's unit.
        dt: the Euler step (s) for ``kind="discrete"``; default: the metadata's ``dt``
            (convention ``"snntorch"``: its hard-coded ``1e-4`` time units).
        convention: how the graph was written: ``"jaxsnn_eqx"``, ``"norse"``, ``"jaxsnn"``,
            ``"snntorch"``, ``"spyx"``. Weight nodes are NIR's ``(post, pre)``, unless the
            graph's metadata says ``weight_layout="pre_post"`` (``to_nir(convention="jaxsnn")``
            writes that for jaxsnn 0.3.0, which reads ``(pre, post)``).
        kind: ``"event"`` (``event.LIF`` layers, exact spike times) or ``"discrete"``
            (``discrete.LIF``/``discrete.LI``, Euler steps of ``dt``).
        eventprop: event layers with EventProp gradients (``event.EventPropLIF``,
            ``event.RecurrentEventPropLIF``) instead of ``event.LIF`` (same forward pass).
        method: passed to ``event.LIF`` (see `event.simulate`).

    Returns:
        `Sequential` of ``event.LIF`` / ``Recurrent(event.LIF)`` (or the EventProp layers), or of
        ``discrete.LIF`` / ``Recurrent(discrete.LIF)`` / ``discrete.LI``.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"from_nir: convention must be one of {CONVENTIONS}, got "
                         f"{convention!r}.")
    if kind not in ("event", "discrete"):
        raise ValueError(f"from_nir: kind must be 'event' or 'discrete', got {kind!r}.")
    meta = _metadata(graph)
    unit = _time_unit(time_unit, meta, convention)
    chain = _parse(graph, pre_post=str(meta.get("weight_layout", "")) == "pre_post")
    if convention == "norse-1.1":  # its box synapse: a spike raises I by dt W / tau_syn
        step = dt if dt is not None else (float(meta["dt"]) * unit if "dt" in meta else None)
        if step is None:
            raise ValueError("from_nir: convention='norse-1.1' needs the step norse runs "
                             "with (its from_nir's dt): pass dt= (seconds).")
        meta = {**meta, "_step_s": float(step)}
    if kind == "event":
        if t_max is None or max_spikes is None:
            raise ValueError("from_nir: kind='event' needs t_max= (s) and max_spikes=.")
        spikes = _per_layer(max_spikes, len(chain))
        return Sequential([_event_layer(b, unit, convention, meta, t_max, m, eventprop, method)
                           for b, m in zip(chain, spikes, strict=True)])
    if dt is None:
        if "dt" in meta:
            dt = float(meta["dt"]) * unit  # in the graph's time unit
        elif convention == "snntorch":
            dt = _SNNTORCH_DT * unit
        else:
            raise ValueError("from_nir: kind='discrete' needs the Euler step: the graph's "
                             "metadata has no 'dt'; pass dt= (seconds).")
    return Sequential([_discrete_layer(b, unit, convention, meta, float(dt)) for b in chain])


def _metadata(node: Any) -> dict[str, Any]:
    meta = getattr(node, "metadata", None)
    if not isinstance(meta, dict):
        return {}
    return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in meta.items()}


def _time_unit(time_unit: str | float | None, meta: dict[str, Any], convention: str) -> float:
    """The graph's time unit in seconds."""
    if time_unit is None:
        time_unit = meta.get("time_unit", _DEFAULT_UNIT[convention])
    if time_unit is None:
        raise ValueError(
            f"from_nir: the graph's time unit is unknown (no 'time_unit' in its metadata, and "
            f"convention={convention!r} fixes none); pass time_unit='s', 'ms', 'us' or seconds "
            "per unit (a float).")
    if isinstance(time_unit, str | np.str_):
        if str(time_unit) not in TIME_UNITS:
            raise ValueError(f"from_nir: time_unit must be one of {tuple(TIME_UNITS)} or a "
                             f"number of seconds, got {time_unit!r}.")
        return TIME_UNITS[str(time_unit)]
    unit = float(time_unit)
    if not (math.isfinite(unit) and unit > 0):
        raise ValueError(f"from_nir: time_unit must be positive (seconds), got {time_unit!r}.")
    return unit


def _per_layer(value: int | Sequence[int], n: int) -> list[int]:
    if isinstance(value, int | np.integer):
        return [int(value)] * n
    value = [int(v) for v in value]
    if len(value) != n:
        raise ValueError(f"from_nir: max_spikes has {len(value)} entries for {n} layers.")
    return value


# ------------------------------------------------------------------------------- graph walk
def _flatten(graph: nir.NIRGraph, prefix: str = "") -> tuple[dict, list]:
    """Nodes and edges with nested graphs inlined (``sub.node`` names); a subgraph's Input and
    Output are kept as pass-through nodes."""
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    for name, node in graph.nodes.items():
        if isinstance(node, nir.NIRGraph):
            sub_nodes, sub_edges = _flatten(node, f"{prefix}{name}.")
            nodes.update(sub_nodes)
            edges += sub_edges
        else:
            nodes[f"{prefix}{name}"] = node
    for a, b in graph.edges:
        a, b = f"{prefix}{a}", f"{prefix}{b}"
        if a not in nodes:  # out of a subgraph: from its Output nodes
            a_out = [k for k, v in nodes.items() if k.startswith(a + ".")
                     and k.count(".") == a.count(".") + 1 and isinstance(v, nir.Output)]
            a = _one(a_out, f"subgraph '{a}' needs exactly one Output node")
        if b not in nodes:  # into a subgraph: to its Input nodes
            b_in = [k for k, v in nodes.items() if k.startswith(b + ".")
                    and k.count(".") == b.count(".") + 1 and isinstance(v, nir.Input)]
            b = _one(b_in, f"subgraph '{b}' needs exactly one Input node")
        edges.append((a, b))
    return nodes, edges


def _one(items: list[str], message: str) -> str:
    if len(items) != 1:
        raise ValueError(f"from_nir: {message}, found {len(items)}.")
    return items[0]


def _parse(graph: nir.NIRGraph, pre_post: bool = False) -> list[dict[str, Any]]:
    """The graph as a list of blocks ``{name, node, weight (post, pre), w_rec}``; ``pre_post``:
    the weight nodes hold ``(pre, post)`` matrices (what jaxsnn 0.3.0 reads; metadata
    ``weight_layout="pre_post"``)."""
    nodes, edges = _flatten(graph)
    for name, node in nodes.items():
        if not isinstance(node, (nir.Input, nir.Output, *_WEIGHTS, *_NEURONS)):
            raise ValueError(_unsupported(name, node))
    succ: dict[str, list[str]] = {k: [] for k in nodes}
    pred: dict[str, list[str]] = {k: [] for k in nodes}
    for a, b in edges:
        succ[a].append(b)
        pred[b].append(a)
    # recurrent weights: a weight node whose only input and only output is the same neuron
    rec: dict[str, str] = {}
    for name, node in nodes.items():
        if isinstance(node, _WEIGHTS) and len(pred[name]) == 1 and pred[name] == succ[name]:
            lif = pred[name][0]
            if isinstance(nodes[lif], _NEURONS):
                if lif in rec:
                    raise ValueError(f"from_nir: neuron node '{lif}' has two recurrent weight "
                                     f"nodes ('{rec[lif]}', '{name}').")
                rec[lif] = name
    for lif, w in rec.items():
        succ[lif].remove(w)
        pred[lif].remove(w)
    starts = [k for k, v in nodes.items() if isinstance(v, nir.Input) and not pred[k]]
    current = _one(starts, "the graph needs exactly one top-level Input node")
    size = _size(nodes[current].input_type["input"])
    blocks: list[dict[str, Any]] = []
    weight: np.ndarray | None = None
    while True:
        nxt = succ[current]
        if not nxt:
            break
        if len(nxt) > 1:
            raise ValueError(f"from_nir: node '{current}' feeds several nodes {nxt}; only "
                             "chains (with recurrent cycles) are supported.")
        current = nxt[0]
        node = nodes[current]
        if len(pred[current]) > 1:
            raise ValueError(f"from_nir: node '{current}' has several inputs {pred[current]}; "
                             "only chains (with recurrent cycles) are supported.")
        if isinstance(node, _WEIGHTS):
            w = _weight(current, node, pre_post)
            if w.shape[1] != size:
                raise ValueError(f"from_nir: Linear node '{current}' takes {w.shape[1]} inputs, "
                                 f"but {size} arrive.")
            weight = w if weight is None else w @ weight
            size = w.shape[0]
        elif isinstance(node, _NEURONS):
            n = _size(node.tau_mem.shape)
            if weight is None:  # fed directly: one to one
                weight = np.eye(size)
            if weight.shape[0] != n:
                raise ValueError(f"from_nir: neuron node '{current}' has {n} neurons, but "
                                 f"{weight.shape[0]} inputs arrive.")
            w_rec = _weight(rec[current], nodes[rec[current]], pre_post) if current in rec else None
            if w_rec is not None and w_rec.shape != (n, n):
                raise ValueError(f"from_nir: recurrent node '{rec[current]}' has shape "
                                 f"{w_rec.shape}, expected {(n, n)}.")
            blocks.append(dict(name=current, node=node, weight=weight, w_rec=w_rec))
            weight, size = None, n
    if weight is not None:
        raise ValueError("from_nir: the graph ends with a Linear/Affine node; a network must "
                         "end with a neuron node (CubaLIF or CubaLI).")
    if not blocks:
        raise ValueError("from_nir: the graph has no neuron node (CubaLIF or CubaLI).")
    return blocks


def _size(shape: Any) -> int:
    shape = tuple(int(s) for s in np.atleast_1d(np.asarray(shape)))
    if len(shape) != 1:
        raise ValueError(f"from_nir: only flat (1-d) populations are supported, got shape "
                         f"{shape}.")
    return shape[0]


def _weight(name: str, node: Any, pre_post: bool = False) -> np.ndarray:
    """``node.weight`` as float64 ``(post, pre)``; an Affine's bias must be zero."""
    w = np.asarray(node.weight, np.float64)
    w = w.T if pre_post else w
    if w.ndim != 2:
        raise ValueError(f"from_nir: node '{name}' ({type(node).__name__}) has a weight of "
                         f"shape {w.shape}; only 2-d weights are supported.")
    if isinstance(node, nir.Affine) and np.any(np.asarray(node.bias) != 0):
        raise ValueError(f"from_nir: node '{name}' is an Affine with a nonzero bias (a constant "
                         "input current), which jaxsnn_eqx layers do not have.")
    return w


_HINTS = {
    "LIF": "a LIF without synaptic current; jaxsnn_eqx neurons are current-based (CubaLIF)",
    "LI": "a leaky integrator without synaptic current; use CubaLI",
    "IF": "an integrate-and-fire neuron without leak or synaptic current",
    "I": "an integrator without leak",
    "Delay": "synaptic delays are not imported",
}


def _unsupported(name: str, node: Any) -> str:
    t = type(node).__name__
    hint = _HINTS.get(t, "no jaxsnn_eqx layer corresponds to it")
    return (f"from_nir: node '{name}' is a {t}, which jaxsnn_eqx cannot import ({hint}). "
            "Supported nodes: Input, Output, Linear, Affine (zero bias), CubaLIF, CubaLI "
            "(kind='discrete'), nested NIRGraph.")


# ------------------------------------------------------------------------------- parameters
def _field(node: Any, name: str, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(getattr(node, name), np.float64), (n,))


def _scalar_or_array(x: np.ndarray) -> Any:
    """A Python float where all neurons share the value (as layers built by hand), else a
    ``(n,)`` array."""
    return float(x[0]) if np.all(x == x[0]) else jnp.asarray(x)


def _neuron(
    block: dict[str, Any], unit: float, convention: str, step: float | None = None
) -> tuple[dict[str, Any], np.ndarray, np.ndarray | None]:
    """Our parameters (s, V), input weight ``[pre, post]`` and recurrent weight."""
    node = block["node"]
    n = block["weight"].shape[0]
    tm = _field(node, "tau_mem", n) * unit
    ts = _field(node, "tau_syn", n) * unit
    r = _field(node, "r", n)
    w_in = _field(node, "w_in", n)
    if convention == "jaxsnn_eqx":
        gain = r * w_in * unit
    elif convention in ("norse", "jaxsnn"):
        gain = r * w_in * ts
    elif convention == "norse-1.1":  # box synapse: I += dt W / tau_syn, ours w / tau_syn
        gain = r * w_in * step
    elif convention == "snntorch":
        gain = r * ts
    else:  # spyx: r holds beta = 1 - dt / tau_mem, and V' = beta V + I: gain tau_mem / dt
        if np.any(r >= 1) or np.any(r < 0):
            raise ValueError(f"from_nir: node '{block['name']}': convention='spyx' reads r as "
                             f"spyx's beta in [0, 1), got r={r}.")
        gain = ts / (1.0 - r)
    p: dict[str, Any] = {"tau_mem": tm, "tau_syn": ts, "v_leak": _field(node, "v_leak", n)}
    if isinstance(node, nir.CubaLIF):
        p["v_th"] = _field(node, "v_threshold", n)
        p["v_reset"] = (np.zeros(n) if convention in (*_SUBTRACT_THRESHOLD, "norse-1.1")
                        else _field(node, "v_reset", n))
    weight = block["weight"].T * gain[None, :]
    w_rec = None if block["w_rec"] is None else block["w_rec"].T * gain[None, :]
    return p, weight, w_rec


def _reset(block: dict[str, Any], meta: dict[str, Any], convention: str) -> str:
    node_meta = _metadata(block["node"])
    if convention in _SUBTRACT_THRESHOLD and "reset" not in node_meta:  # ours write it
        return "subtract"
    reset = str(node_meta.get("reset", meta.get("reset", "value")))
    return reset if reset in ("value", "subtract") else "value"


def _event_layer(block, unit, convention, meta, t_max, max_spikes, eventprop, method):
    node = block["node"]
    if not isinstance(node, nir.CubaLIF):
        raise ValueError(f"from_nir: node '{block['name']}' is a {type(node).__name__} (a "
                         "leaky-integrator readout), which has no event-based layer; use "
                         "kind='discrete'.")
    p, weight, w_rec = _neuron(block, unit, convention, meta.get("_step_s"))
    node_meta = _metadata(node)
    t_ref = np.asarray(node_meta.get("t_refrac", 0.0), np.float64)
    single = bool(node_meta.get("single_spike", False))
    params = event.LIFParams(
        tau_mem=_scalar_or_array(p["tau_mem"]), tau_syn=_scalar_or_array(p["tau_syn"]),
        v_th=_scalar_or_array(p["v_th"]), v_reset=_scalar_or_array(p["v_reset"]),
        v_leak=_scalar_or_array(p["v_leak"]),
        t_refrac=_scalar_or_array(np.broadcast_to(t_ref, p["tau_mem"].shape)),
    )
    n_in, n = weight.shape
    common = dict(params=params, t_max=t_max, max_spikes=max_spikes, single_spike=single)
    if eventprop and w_rec is not None:
        return event.RecurrentEventPropLIF(n_in, n, weight_in=jnp.asarray(weight),
                                           weight_rec=jnp.asarray(w_rec), **common)
    cls = event.EventPropLIF if eventprop else event.LIF
    layer = cls(n_in, n, weight=jnp.asarray(weight), method=method, **common)
    return layer if w_rec is None else Recurrent(layer, jnp.asarray(w_rec))


def _discrete_layer(block, unit, convention, meta, dt):
    node = block["node"]
    reset = _reset(block, meta, convention)
    p, weight, w_rec = _neuron(block, unit, convention, meta.get("_step_s"))
    n_in, n = weight.shape
    if isinstance(node, nir.CubaLI):
        if w_rec is not None:
            raise ValueError(f"from_nir: node '{block['name']}' (CubaLI) is recurrent; only "
                             "CubaLIF populations can be.")
        params = discrete.LIParams(tau_mem=_scalar_or_array(p["tau_mem"]),
                                   tau_syn=_scalar_or_array(p["tau_syn"]),
                                   v_leak=_scalar_or_array(p["v_leak"]))
        return discrete.LI(n_in, n, params=params, dt=dt, weight=jnp.asarray(weight))
    t_ref = np.asarray(_metadata(node).get("t_refrac", 0.0), np.float64)
    if t_ref.size > 1 and np.any(t_ref != t_ref.flat[0]):
        raise ValueError(f"from_nir: node '{block['name']}': discrete.LIF needs one refractory "
                         "period for all neurons.")
    params = discrete.LIFParams(
        tau_mem=_scalar_or_array(p["tau_mem"]), tau_syn=_scalar_or_array(p["tau_syn"]),
        v_th=_scalar_or_array(p["v_th"]), v_reset=_scalar_or_array(p["v_reset"]),
        v_leak=_scalar_or_array(p["v_leak"]), t_refrac=float(t_ref.flat[0]), reset=reset,
    )
    layer = discrete.LIF(n_in, n, params=params, dt=dt, weight=jnp.asarray(weight))
    return layer if w_rec is None else Recurrent(layer, jnp.asarray(w_rec))
