"""Export in our own convention (`native_graph`); `to_nir` (in ``__init__``) converts it to
another library's convention with `jaxsnn_eqx.nir._convention`."""

from __future__ import annotations

import warnings
from typing import Any

import nir
import numpy as np

from .. import discrete, event
from ..containers import Recurrent, Sequential


def native_graph(model: Any) -> nir.NIRGraph:
    """``model`` as a ``nir.NIRGraph`` in our own convention (seconds, ``W = w``, ``r = w_in =
    1``), float64 NumPy arrays for every parameter; what ``to_nir(model)`` returns.

    Raises ``TypeError`` for a layer that has no NIR equivalent (naming it).
    """
    layers = model.layers if isinstance(model, Sequential) else (model,)
    blocks = [_export_layer(layer, k) for k, layer in enumerate(layers)]
    kinds = {b["kind"] for b in blocks}
    if len(kinds) > 1:
        raise TypeError("to_nir: a network mixes event and discrete layers; NIR graphs of "
                        "jaxsnn_eqx are one or the other.")
    nodes: dict[str, nir.NIRNode] = {"input": nir.Input(input_type=np.array([blocks[0]["in"]]))}
    edges: list[tuple[str, str]] = []
    prev = "input"
    for k, b in enumerate(blocks):
        neuron = f"{'li' if isinstance(b['neuron'], nir.CubaLI) else 'lif'}_{k}"
        nodes[f"linear_{k}"] = nir.Linear(weight=b["weight"])
        nodes[neuron] = b["neuron"]
        edges += [(prev, f"linear_{k}"), (f"linear_{k}", neuron)]
        if b["w_rec"] is not None:
            nodes[f"w_rec_{k}"] = nir.Linear(weight=b["w_rec"])
            edges += [(neuron, f"w_rec_{k}"), (f"w_rec_{k}", neuron)]
        prev = neuron
    nodes["output"] = nir.Output(output_type=np.array([blocks[-1]["out"]]))
    edges.append((prev, "output"))
    resets = {b["neuron"].metadata.get("reset", "value") for b in blocks
              if isinstance(b["neuron"], nir.CubaLIF)}
    metadata: dict[str, Any] = {
        "source": "jaxsnn_eqx",
        "convention": "jaxsnn_eqx",
        "time_unit": "s",
        "kind": kinds.pop(),
        "reset": resets.pop() if len(resets) == 1 else ("mixed" if resets else "value"),
    }
    dts = {b["dt"] for b in blocks if b["dt"] is not None}
    if len(dts) > 1:
        raise ValueError(f"to_nir: the discrete layers use different steps dt={sorted(dts)}.")
    if dts:
        metadata["dt"] = dts.pop()
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def _vec(x: Any, n: int) -> np.ndarray:
    """``x`` broadcast to a float64 NumPy array of shape ``(n,)``."""
    return np.broadcast_to(np.asarray(x, np.float64), (n,)).copy()


def _cuba_lif(p: Any, n: int, metadata: dict[str, Any]) -> nir.CubaLIF:
    return nir.CubaLIF(
        tau_mem=_vec(p.tau_mem, n), tau_syn=_vec(p.tau_syn, n), r=np.ones(n),
        v_leak=_vec(p.v_leak, n), v_threshold=_vec(p.v_th, n), v_reset=_vec(p.v_reset, n),
        w_in=np.ones(n), metadata=metadata,
    )


def _refrac_metadata(t_refrac: Any, where: str) -> dict[str, Any]:
    t_ref = np.asarray(t_refrac, np.float64)
    if not np.any(t_ref != 0):
        return {}
    warnings.warn(f"to_nir: {where} has a refractory period; NIR has none. It is kept in the "
                  "node's metadata ('t_refrac', s), which only jaxsnn_eqx reads.", stacklevel=3)
    return {"t_refrac": float(t_ref) if t_ref.ndim == 0 else t_ref}  # h5py: no 0-d arrays


def _export_layer(layer: Any, k: int) -> dict[str, Any]:
    """One layer as ``{kind, in, out, weight (post, pre), neuron node, w_rec, dt}``."""
    w_rec = None
    if isinstance(layer, Recurrent):
        w_rec = np.asarray(layer.effective_weight_rec, np.float64).T
        layer = layer.layer
    where = f"layer {k} ({type(layer).__name__})"
    if getattr(layer, "delay", None) is not None:
        raise TypeError(f"to_nir: {where} has synaptic delays, which are not exported (NIR's "
                        "Delay node holds one delay per channel, not per connection).")
    if isinstance(layer, event.AbstractRecurrentLIF):  # the software model of a hardware one too
        if w_rec is not None:
            raise TypeError(f"to_nir: {where} is recurrent already; do not wrap it in Recurrent.")
        w_in, w_r = layer.effective_weights
        meta = _refrac_metadata(layer.params.t_refrac, where) if not layer.single_spike else {}
        if layer.single_spike:
            meta["single_spike"] = True
        n = layer.size
        return dict(kind="event", **{"in": layer.in_size, "out": n}, dt=None,
                    weight=np.asarray(w_in, np.float64).T, neuron=_cuba_lif(layer.params, n, meta),
                    w_rec=np.asarray(w_r, np.float64).T)
    if isinstance(layer, event.LIF) and type(layer.neuron) is event.LIFNeuron:
        meta = _refrac_metadata(layer.params.t_refrac, where) if not layer.single_spike else {}
        if layer.single_spike:
            meta["single_spike"] = True
        n = layer.out_size
        return dict(kind="event", **{"in": layer.in_size, "out": n}, dt=None,
                    weight=np.asarray(layer.weight, np.float64).T,
                    neuron=_cuba_lif(layer.params, n, meta), w_rec=w_rec)
    if isinstance(layer, discrete.LIF):
        p, n = layer.params, layer.out_size
        meta = {"reset": p.reset, "dt": float(layer.dt),
                **_refrac_metadata(p.t_refrac, where)}
        return dict(kind="discrete", **{"in": layer.in_size, "out": n}, dt=float(layer.dt),
                    weight=np.asarray(layer.weight, np.float64).T, neuron=_cuba_lif(p, n, meta),
                    w_rec=w_rec)
    if isinstance(layer, discrete.LI):
        p, n = layer.params, layer.out_size
        node = nir.CubaLI(tau_mem=_vec(p.tau_mem, n), tau_syn=_vec(p.tau_syn, n), r=np.ones(n),
                          v_leak=_vec(p.v_leak, n), w_in=np.ones(n),
                          metadata={"dt": float(layer.dt)})
        if w_rec is not None:
            raise TypeError(f"to_nir: {where} cannot be recurrent.")
        return dict(kind="discrete", **{"in": layer.in_size, "out": n}, dt=float(layer.dt),
                    weight=np.asarray(layer.weight, np.float64).T, neuron=node, w_rec=None)
    raise TypeError(
        f"to_nir: {where} has no NIR equivalent; exported are event.LIF, event.EventPropLIF, "
        "event.RecurrentEventPropLIF, discrete.LIF, discrete.LI (optionally in Recurrent).")


