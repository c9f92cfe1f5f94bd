"""NIR interchange: export networks to, and import them from, the Neuromorphic Intermediate
Representation (`nir <https://neuroir.org>`_; extra ``nir``: ``pip install "jaxsnn-eqx[nir]"``).

This module is not imported by ``import jaxsnn_eqx``; ``import jaxsnn_eqx.nir`` (or
``from jaxsnn_eqx import nir``) needs the ``nir`` package.

Export (`to_nir`): a `Sequential` (or one layer) of ``event.LIF``, ``event.EventPropLIF``,
``event.RecurrentEventPropLIF``, ``discrete.LIF``, ``discrete.LI``, each optionally wrapped in
`Recurrent`, becomes::

    Input(in_size) -> Linear -> CubaLIF | CubaLI -> Linear -> ... -> Output(out_size)

* ``Linear.weight = weight.T`` (NIR orientation ``(post, pre)``; ours is ``[pre, post]``).
* ``CubaLIF(tau_mem, tau_syn, r=1, v_leak, v_threshold=v_th, v_reset, w_in=1)``, every field a
  float64 NumPy array of shape ``(n,)``; ``discrete.LI`` becomes ``CubaLI(tau_mem, tau_syn, r=1,
  v_leak, w_in=1)`` (it has a synaptic current, so not NIR's ``LI``).
* recurrence: a ``Linear`` node ``w_rec_k`` with ``weight = weight_rec.T`` and the cycle
  ``lif_k -> w_rec_k -> lif_k``. The masks of `Recurrent` and ``RecurrentEventPropLIF`` are
  applied: masked connections are exported as zero weights (the mask itself is not stored).
* one time unit: **seconds**. Graph metadata: ``time_unit="s"``, ``convention="jaxsnn_eqx"``,
  ``kind`` (``"event"``/``"discrete"``), ``reset`` (``"value"``/``"subtract"``/``"mixed"``) and,
  for discrete networks, ``dt`` (s). Node metadata: ``reset`` and ``dt`` (discrete LIF), and,
  only where set, ``t_refrac`` (s) and ``single_spike``: NIR has no refractory period, other
  libraries ignore it (a warning says so).

Spike amplitude (convention ``"jaxsnn_eqx"``, NIR's equations read literally): a spike is a
unit-area Dirac delta in the graph's time unit, so an input of weight ``W`` raises ``I`` by
``w_in W / tau_syn`` and the membrane sees ``r I``. Our weight ``w`` (V s) is the charge of a spike
(``I += w / tau_syn``), hence ``w = r w_in W u`` with ``u`` the time unit in seconds; exported
with ``r = w_in = 1`` in seconds, ``W = w`` exactly.

Import (`from_nir`): the inverse, for graphs written by us or by other libraries
(``convention=``), which disagree on the time unit, on the spike amplitude and on the reset (see
``docs/nir.md``). Per convention, with ``u`` the time unit in seconds and ``ts`` = ``tau_syn``
in seconds, our weight is ``w[pre, post] = g[post] W[post, pre]`` with

=============  ==========  ================================  ========================
convention     time unit   gain ``g``                        reset
=============  ==========  ================================  ========================
jaxsnn_eqx     metadata    ``r w_in u`` (unit-area delta)    metadata, else value
norse          s           ``r w_in ts`` (I jumps by W)      value (to ``v_reset``)
norse-1.1      s           ``r w_in dt`` (box synapse)       value (to 0)
jaxsnn         ms          ``r w_in ts`` (I jumps by W)      value (to ``v_reset``)
snntorch       s           ``r ts`` (``w_in = ts/dt``        subtract ``v_threshold``
                           only encodes its per-step input)
spyx           required    ``ts / (1 - r)`` (``r`` holds     subtract ``v_threshold``
                           spyx's ``beta``)
=============  ==========  ================================  ========================

Nodes: ``Input``, ``Output``, ``Linear``, ``Affine`` (zero bias only), ``CubaLIF``, ``CubaLI``
(``kind="discrete"`` only), nested ``NIRGraph`` s (flattened; snnTorch's recurrent subgraph),
consecutive ``Linear`` nodes (multiplied), a neuron node fed directly (one-to-one weights 1).
Everything else (``LIF``, ``LI``, ``IF``, ``I``, ``Conv*``, ``Delay``, ...) raises a
``ValueError`` naming the node and its type.

Export in another library's convention (``to_nir(model, convention=...)``, the inverse of the
import's conventions; see ``jaxsnn_eqx.nir._convention`` and ``docs/nir.md``): ``"norse"``
(seconds, ``W = w / tau_syn``: norse's ``LIFCell``), ``"norse-1.1"`` (what the released norse
1.1.0's importer reads: box synapse, ``W = w / dt``), ``"jaxsnn"`` (ms, ``W = w / tau_syn``,
matrices stored ``(pre, post)``: what the released jaxsnn 0.3.0 reads, not NIR's ``(post, pre)``),
``"snntorch"`` (its fixed step ``1e-4`` is one ``dt``, ``W = w dt / (tau_mem tau_syn)``,
``r = tau_mem / dt``, ``w_in = tau_syn / dt``), ``"spyx"`` (time in steps,
``W = w dt / (tau_mem tau_syn)``, ``r = 1 - dt / tau_mem``).
"""

from __future__ import annotations

from typing import Any

try:
    import nir
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        'jaxsnn_eqx.nir needs the `nir` package (and h5py): pip install "jaxsnn-eqx[nir]"'
    ) from exc

from ._convention import EXPORT_CONVENTIONS, convert
from ._import import CONVENTIONS, TIME_UNITS, from_nir
from ._native import native_graph

__all__ = ["to_nir", "from_nir", "CONVENTIONS", "EXPORT_CONVENTIONS", "TIME_UNITS"]


def to_nir(model: Any, convention: str | None = None, *, dt: float | None = None
           ) -> nir.NIRGraph:
    """Export ``model`` (a `Sequential` or a single layer, see the module docstring) to a
    ``nir.NIRGraph`` with float64 NumPy arrays for every parameter.

    Args:
        model: the network.
        convention: ``None`` or ``"jaxsnn_eqx"``: ours (seconds, unit-area spikes, ``W = w``).
            ``"norse"``, ``"norse-1.1"`` (the released norse's importer), ``"jaxsnn"`` (the
            released 0.3.0), ``"snntorch"``, ``"spyx"``: the
            graph that library's NIR importer reads as this network (graph metadata
            ``convention``, ``time_unit``, and ``dt`` for the discrete-time ones, so that
            ``from_nir(graph, convention=...)`` reads it back).
        dt: the step (s) a discrete-time importer (``"norse-1.1"``, ``"snntorch"``,
            ``"spyx"``) runs an event network with; discrete networks use their own ``dt``.

    Raises ``TypeError`` for a layer that has no NIR equivalent (naming it), ``ValueError`` for
    what the chosen library's importer cannot represent (e.g. ``v_leak != 0`` for snnTorch and
    spyx); warns where it silently differs (spyx drops a ``CubaLI`` readout; snnTorch resets to
    zero, spyx subtracts the threshold; jaxsnn 0.3.0 reads one value per population).
    """
    if convention not in EXPORT_CONVENTIONS:
        raise ValueError(f"to_nir: convention must be one of {EXPORT_CONVENTIONS}, got "
                         f"{convention!r}.")
    graph = native_graph(model)
    if convention in (None, "jaxsnn_eqx"):
        if dt is not None:
            raise ValueError("to_nir: dt= is for convention='norse-1.1', 'snntorch', 'spyx'.")
        return graph
    return convert(graph, convention, dt)
