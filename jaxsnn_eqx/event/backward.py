"""How `event.simulate` differentiates: backward passes as strategies (``backward=``).

Like Diffrax's ``adjoint=``, a backward pass is a small `equinox.Module` passed to `simulate`
(or stored in a layer's ``backward`` field); its fields are its settings. The hierarchy::

    Backward                 abstract: every backward pass
    |-- Replay               final: autodiff through the replayed event loop (the default)
    `-- AbstractAdjoint      abstract: a backward pass from the input and output spikes alone
        `-- EventProp        final (module `eventprop`): the adjoint of the LIF equations

``backward=None`` means `Replay()`. A plain function with the signature of
`AbstractAdjoint.__call__` is accepted too and treated as an adjoint.
"""

import abc
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from ..spikes import Spikes
from .loop import lanes

__all__ = ["Backward", "Replay", "AbstractAdjoint", "is_replay", "adjoint_lanes"]


class Backward(eqx.Module):
    """A backward pass of `event.simulate` (abstract). Subclass `AbstractAdjoint` to write one."""


class Replay(Backward):
    """The default backward pass: exact reverse-mode autodiff of the recorded event sequence
    (`replay.replay_backward`; every spike time by the implicit function theorem). The forward
    pass records the carry before every event (memory ``O(events x state)``)."""


class AbstractAdjoint(Backward):
    """A backward pass computed from the layer's input and output spikes (e.g. `EventProp`);
    nothing of the forward loop is recorded. Subclasses define `__call__`."""

    @abc.abstractmethod
    def __call__(self, neuron, weight, weight_rec, spikes_in: Spikes, spikes_out: Spikes,
                 grad_time, *, t_max: float) -> tuple[Any, Any, Any, Any]:
        """``-> (grad_neuron, grad_weight, grad_weight_rec, grad_in_time)``.

        ``spikes_in``/``spikes_out`` are the layer's input and (forward) output `Spikes`,
        ``grad_time`` the cotangent of ``spikes_out.time`` (shape ``(max_spikes,)``, zero at
        unused slots) and ``weight_rec`` ``None`` for a feed-forward layer. Return ``None`` for
        a zero gradient (e.g. ``grad_neuron`` if the parameters are not trained,
        ``grad_weight_rec`` when feed-forward); a ``grad_neuron`` pytree may have ``None``
        leaves.

        With per-neuron arrival lists (a feed-forward layer with per-neuron or per-connection
        delays) the backward pass is vmapped over the neurons: each call then sees one neuron
        (``weight`` ``(n_in, 1)``, parameters of shape ``(1,)``), its own sorted arrival times
        as ``spikes_in`` and its own spikes as ``spikes_out`` (indices 0, unused slots
        ``inf``/``-1``), so any backward pass written for a population works unchanged.
        """


def is_replay(backward: Any) -> bool:
    """Whether ``backward`` (a `Backward`, a function, or ``None``) is the replayed autodiff."""
    return backward is None or isinstance(backward, Replay)


def adjoint_lanes(vjp_arg, in_idx, cfg, out_t, slots, g_time, per: int):
    """An adjoint backward pass (``cfg.backward``, see `AbstractAdjoint`) of a feed-forward
    layer with per-neuron arrival lists: vmapped over the neurons, each with its arrivals, its
    spikes and their cotangents (``slots``: where each output slot came from, in buffers of
    ``per`` slots, `feedforward.lane_slots`)."""
    neuron, weight, _, in_time = vjp_arg
    n_out = weight.shape[1]
    nd, static = eqx.partition(neuron, eqx.is_inexact_array)
    nd_lanes, lanes_vjp = jax.vjp(lambda x: lanes(x, n_out), nd)
    # the merged output back into the per-neuron buffers (n_out, per) it was sorted from
    lane, k = slots
    t_lane = jnp.full((n_out, per), jnp.inf, out_t.dtype).at[lane, k].set(out_t, mode="drop")
    g_lane = jnp.zeros((n_out, per), g_time.dtype).at[lane, k].add(g_time, mode="drop")

    def one(nd_j, w_j, t_j, i_j, out_j, g_j):
        spikes_out = Spikes(out_j, jnp.where(jnp.isfinite(out_j), 0, -1).astype(jnp.int32))
        g_n, g_w, _, g_t = cfg.backward(eqx.combine(nd_j, static), w_j[:, None], None,
                                        Spikes(t_j, i_j), spikes_out, g_j, t_max=cfg.t_max)
        g_nd = jax.tree.map(
            lambda x, g: None if x is None else (jnp.zeros_like(x) if g is None
                                                 else jnp.asarray(g, x.dtype).reshape(x.shape)),
            nd_j, jax.tree.map(lambda _: None, nd_j) if g_n is None else g_n,
            is_leaf=lambda x: x is None)
        g_w = jnp.zeros_like(w_j) if g_w is None else g_w[:, 0]
        g_t = jnp.zeros_like(t_j) if g_t is None else g_t
        return g_nd, g_w, g_t

    g_lanes, g_w, g_t = jax.vmap(one, in_axes=(0, 1, 1, 1, 0, 0), out_axes=(0, 1, 1))(
        nd_lanes, weight, in_time, in_idx, t_lane, g_lane)
    (g_nd,) = lanes_vjp(g_lanes)
    g_neuron = eqx.combine(g_nd, jax.tree.map(lambda _: None, neuron))
    return g_neuron, g_w, None, g_t
