"""Hardware in the loop: a recurrent LIF population whose forward pass runs on a `Backend`.

`HardwareRecurrentLIF` is `RecurrentEventPropLIF`'s sibling (both `AbstractRecurrentLIF`) with a
``backend``: the forward pass runs on the backend (the exact simulation, the BrainScaleS-2
emulator, or the chip) and returns the
*observed* spikes; the backward pass is EventProp of the software model (this module's weights
and parameters) evaluated at those observed spikes. Equal spike times, common on a chip that
time-stamps spikes with an 8 ns clock, are processed in the order of the observed list (earlier
slots first) with dt = 0, exactly; no noise is added to separate them.

A population whose masks form a feed-forward chain of blocks (`feedforward_blocks`, e.g. the
25-100-3 network of the published hardware experiments) takes EventProp block by block, in
closed form for single-spike neurons (`eventprop.single_spike_feedforward` per block, from the
last block to the first, passing the cotangents of the spike times down), instead of the
backward sweep over all events. With an ideal backend the result equals `RecurrentEventPropLIF`.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from ..checks import check_finite, check_spikes, trust, warn_if_all_late
from ..spikes import Spikes
from .backend import (
    Backend,
    Population,
    block_edges,
    block_neuron,
    chain_mask,
    feedforward_blocks,
)
from .eventprop import (
    EventPropGrads,
    eventprop_backward,
    lif_param_grads,
    single_spike_feedforward,
)
from .lif import LIFNeuron, LIFParams, first_spike_times
from .neuron import cast_floats
from .recurrent import AbstractRecurrentLIF, recurrent_lif_fields

__all__ = ["HardwareRecurrentLIF", "eventprop_at_observed", "ADJOINT_AT", "linearisation_times",
           "first_times_in_slots"]

ADJOINT_AT = ("observed", "resimulated", "software", "decorrelated")


class _Config(NamedTuple):
    t_max: float
    max_spikes: int
    single_spike: bool
    blocks: tuple[int, ...] | None
    slope_floor: float | None
    adjoint_at: str


def _block_spikes(spikes: Spikes, lo: int, hi: int) -> Spikes:
    """The slots of neurons ``lo..hi-1`` (indices shifted to start at 0); others unused.
    Keeps every slot where it is, so cotangents map back one to one."""
    inside = (spikes.idx >= lo) & (spikes.idx < hi)
    return Spikes(jnp.where(inside, spikes.time, jnp.inf), jnp.where(inside, spikes.idx - lo, -1))


def linearisation_times(
    params: LIFParams,
    weight: Float[Array, "n_in n"],
    in_spikes: Spikes,
    out_spikes: Spikes,
    t_max: float,
) -> Spikes:
    """Where a feed-forward block of single-spike neurons is linearised: ``out_spikes`` (the
    observed spikes of the block, indices ``0..n-1``; other slots unused) with each time
    replaced by the software model's first spike time of that neuron, driven by the observed
    ``in_spikes`` (any slot order). Spikes the software model does not produce keep their
    observed time. At these times the software membrane is exactly at threshold, so the
    adjoint jump ``-G/(du/dt)`` and the set of inputs felt are those of a real crossing, whatever
    jitter moved the observed time; the cotangents stay those of the observed slots."""
    order = jnp.argsort(in_spikes.time, stable=True)
    sorted_in = Spikes(in_spikes.time[order], in_spikes.idx[order])
    t_sw = jax.lax.stop_gradient(first_spike_times(params, weight, sorted_in, t_max))
    slot = jnp.clip(out_spikes.idx, 0, weight.shape[1] - 1)
    t_lin = t_sw[slot]
    use = (out_spikes.idx >= 0) & jnp.isfinite(out_spikes.time) & jnp.isfinite(t_lin)
    return Spikes(jnp.where(use, t_lin, out_spikes.time), out_spikes.idx)


def eventprop_at_observed(
    params: LIFParams,
    weight_in: Float[Array, "in_size size"],
    weight_rec: Float[Array, "size size"],
    in_spikes: Spikes,
    out_spikes: Spikes,
    ct_out_time: Float[Array, " max_spikes"],
    t_max: float,
    *,
    single_spike: bool,
    blocks: tuple[int, ...] | None = None,
    slope_floor: float | None = None,
    adjoint_at: str = "observed",
) -> EventPropGrads:
    """EventProp of an LIF population at given (observed) output spikes (one sample).

    ``blocks`` (see `feedforward_blocks`): with single-spike neurons the closed form of
    `eventprop_backward` block by block; otherwise (or ``None``) the sweep over all events.
    ``slope_floor``: see `eventprop.min_slope`. ``adjoint_at`` (blocks of single-spike neurons
    only; ignored otherwise): ``"observed"``, each block's adjoint at its observed times;
    ``"resimulated"``, at the software model's spike times for the observed spikes of the block
    before (`linearisation_times`); ``"software"``, at the software model's spike times for the
    software times of the block before (the software forward pass from the inputs; observed
    spikes the software model does not produce keep their times). Arguments otherwise as
    `eventprop_backward`.
    """
    if blocks is None or not single_spike:
        return eventprop_backward(params, weight_in, weight_rec, in_spikes, out_spikes,
                                  ct_out_time, t_max, single_spike=single_spike,
                                  slope_floor=slope_floor)
    size = weight_in.shape[1]
    edges = block_edges(blocks)
    dtype = jnp.result_type(weight_in, weight_rec, in_spikes.time, out_spikes.time)
    ct = jnp.where(jnp.isfinite(out_spikes.time), ct_out_time.astype(dtype), 0.0)
    g_rec = jnp.zeros((size, size), dtype)
    g_th = [None] * len(blocks)
    w_of = lambda b: (weight_in[:, :edges[1]] if b == 0  # noqa: E731
                      else weight_rec[edges[b - 1]:edges[b], edges[b]:edges[b + 1]])
    p_of = lambda b: block_neuron(LIFNeuron(params), edges[b], edges[b + 1], size).params  # noqa: E731
    if adjoint_at == "software":
        for b in range(len(blocks)):  # forward: each block from the software times before
            in_b = in_spikes if b == 0 else _block_spikes(out_spikes, edges[b - 1], edges[b])
            lin = linearisation_times(p_of(b), w_of(b), in_b,
                                      _block_spikes(out_spikes, edges[b], edges[b + 1]), t_max)
            inside = (out_spikes.idx >= edges[b]) & (out_spikes.idx < edges[b + 1])
            out_spikes = Spikes(jnp.where(inside, lin.time, out_spikes.time), out_spikes.idx)
    for b in reversed(range(len(blocks))):  # last block first: its inputs' cotangents go down
        lo, hi = edges[b], edges[b + 1]
        p_b, w_b = p_of(b), w_of(b)
        out_b = _block_spikes(out_spikes, lo, hi)
        in_b = in_spikes if b == 0 else _block_spikes(out_spikes, edges[b - 1], lo)
        if adjoint_at == "resimulated":
            out_b = linearisation_times(p_b, w_b, in_b, out_b, t_max)
        g = single_spike_feedforward(p_b, w_b, in_b, out_b, ct, slope_floor=slope_floor)
        if b == 0:
            g_in, ct_in_time = g.weight, g.in_time
        else:
            lo_p = edges[b - 1]
            g_rec = g_rec.at[lo_p:lo, lo:hi].set(g.weight)
            ct = ct + jnp.where(in_b.idx >= 0, g.in_time, 0.0)
        g_th[b] = g.v_th
    zeros = jnp.zeros((size,), dtype)
    g_weight_in = jnp.zeros_like(weight_in, dtype).at[:, :edges[1]].set(g_in)
    return EventPropGrads(weight=g_weight_in, weight_rec=g_rec, in_time=ct_in_time,
                          v_th=jnp.concatenate(g_th), v_reset=zeros, t_refrac=zeros)


def _observe(vjp_arg, in_idx, backend, cfg, key, target):
    """The backend's observed output ``(time, idx)`` of one sample."""
    params, w_in, w_rec, in_time = jax.lax.stop_gradient(vjp_arg)
    params = params if target is None else target
    pop = Population(LIFNeuron(params, single_spike=cfg.single_spike), w_in, w_rec,
                     cfg.t_max, cfg.max_spikes, cfg.blocks)
    out = backend(pop, Spikes(in_time, in_idx), key=key)
    return out.time, out.idx


@eqx.filter_custom_vjp
def _in_the_loop(vjp_arg, in_idx, backend, cfg, key, target):
    return _observe(vjp_arg, in_idx, backend, cfg, key, target)


def first_times_in_slots(slots: Spikes, other: Spikes, size: int) -> Float[Array, " m"]:
    """The times of ``slots`` replaced, neuron by neuron, by the first spike time of the same
    neuron in ``other`` (another run); slots whose neuron did not fire there keep theirs."""
    j = jnp.where(other.idx >= 0, other.idx, size)
    first = jnp.full((size + 1,), jnp.inf, other.time.dtype).at[j].min(other.time)
    t = first[jnp.clip(slots.idx, 0, size)]
    use = (slots.idx >= 0) & jnp.isfinite(slots.time) & jnp.isfinite(t)
    return jnp.where(use, t, slots.time)


@_in_the_loop.def_fwd
def _in_the_loop_fwd(perturbed, vjp_arg, in_idx, backend, cfg, key, target):
    del perturbed
    out = _observe(vjp_arg, in_idx, backend, cfg, key, target)
    lin_t = out[0]
    if cfg.adjoint_at == "decorrelated" and cfg.single_spike and key is not None:
        # a second, independent run: the linearisation point, while the loss sees the first
        t2, i2 = _observe(vjp_arg, in_idx, backend, cfg, jax.random.fold_in(key, 1), target)
        lin_t = first_times_in_slots(Spikes(*out), Spikes(t2, i2), vjp_arg[1].shape[1])
    return out, (*out, lin_t)


@_in_the_loop.def_bwd
def _in_the_loop_bwd(residuals, grad_obj, perturbed, vjp_arg, in_idx, backend, cfg, key,
                     target):
    del perturbed, backend, key, target
    out_t, out_i, lin_t = residuals
    params, w_in, w_rec, in_time = vjp_arg
    g_time = grad_obj[0]
    g_time = jnp.zeros_like(out_t) if g_time is None else g_time
    g = eventprop_at_observed(
        params, w_in, w_rec, Spikes(in_time, in_idx), Spikes(lin_t, out_i), g_time, cfg.t_max,
        single_spike=cfg.single_spike, blocks=cfg.blocks, slope_floor=cfg.slope_floor,
        adjoint_at="observed" if cfg.adjoint_at == "decorrelated" else cfg.adjoint_at)
    g_params = lif_param_grads(LIFNeuron(params, single_spike=cfg.single_spike), g).params
    return g_params, g.weight, g.weight_rec, g.in_time


_NO_DELAYS = ("HardwareRecurrentLIF: synaptic delays are not supported (delay must be None); "
              "the backends run the population without them. Use event.RecurrentEventPropLIF "
              "or event.LIF for delays in software.")


class HardwareRecurrentLIF(AbstractRecurrentLIF):
    """A recurrent LIF population like `RecurrentEventPropLIF` (the same fields, weights and
    initialisation) whose forward pass runs on a ``backend`` (hardware in the loop).

    ``hw(spikes, key=key)`` returns the spikes the backend observed (length ``max_spikes``,
    sorted; indices in ``[0, size)``); gradients are EventProp of this software model at those
    spikes (see the module docstring). ``key`` feeds the backend's trial-to-trial noise: a
    backend that is not ideal (e.g. `hardware.Emulator()`) needs one per call.

    Attributes (besides `RecurrentEventPropLIF`'s):
        backend: a `Backend`: `hardware.JaxSimulation()`, `hardware.Emulator(...)`,
            `hardware.BSS2Executor(...)`.
        blocks: the feed-forward blocks of the masks (`feedforward_blocks`), fixed at
            construction; ``None`` for a recurrent population. A mask edited afterwards
            (``eqx.tree_at``) must keep within them, or the call raises.
        slope_floor: lower bound of ``du/dt`` at observed spikes in the backward pass, as a
            fraction of ``(v_th - v_leak) / tau_mem`` (`eventprop.min_slope`); ``None``: none.
        target_params: the neuron parameters the backend is asked to realise, when they differ
            from the software model ``params`` used for the gradients: e.g. ``params`` measured
            per circuit (`hardware.Calibration.params`) and ``target_params`` the calibration's
            nominal targets, which a chip (or `hardware.Emulator`) realises with its own
            deviations. ``None``: ``params``. Not trained.
        adjoint_at: where the backward pass linearises the software model, for feed-forward
            blocks of single-spike neurons: ``"observed"``, at the observed spike times;
            ``"resimulated"``, at the software model's spike times for the observed spikes of
            the block before (`linearisation_times`); ``"software"``, at the software model's
            own forward pass from the inputs (`eventprop_at_observed`); ``"decorrelated"``, at
            the observed spikes of a second, independent run of the backend (its own noise
            draw), so that the noise of the spikes the loss sees does not enter the
            linearisation (twice the backend runs; single-spike neurons; a backend without noise
            runs once). Recurrent populations: ``"resimulated"`` and ``"software"`` act as
            ``"observed"``.
    """

    weight_in: Float[Array, "in_size size"]
    weight_rec: Float[Array, "size size"]
    mask: Bool[Array, "size size"] | None
    mask_in: Bool[Array, "in_size size"] | None
    params: LIFParams
    delay: Float[Array, "in_size size"] | None
    in_size: int = eqx.field(static=True)
    size: int = eqx.field(static=True)
    t_max: float = eqx.field(static=True)
    max_spikes: int = eqx.field(static=True)
    single_spike: bool = eqx.field(static=True)
    method: str = eqx.field(static=True)
    stages: tuple[tuple[int, ...], ...] | None = eqx.field(static=True)
    backend: Backend
    blocks: tuple[int, ...] | None = eqx.field(static=True)
    slope_floor: float | None = eqx.field(static=True)
    target_params: LIFParams | None
    adjoint_at: str = eqx.field(static=True)

    def __init__(self, in_size: int, size: int, *, backend: Backend,
                 slope_floor: float | None = 0.1, target_params: LIFParams | None = None,
                 adjoint_at: str = "observed", blocks: tuple[int, ...] | None = None,
                 **kwargs):
        """Arguments as `RecurrentEventPropLIF`, plus ``backend``, ``slope_floor`` and
        ``target_params``. ``blocks`` is found from the masks; passing it (as
        ``dataclasses.replace`` does) only checks that it matches."""
        if not isinstance(backend, Backend):
            raise TypeError(f"HardwareRecurrentLIF: backend must be an event.Backend (e.g. "
                            f"hardware.Emulator()), got {type(backend).__name__}.")
        if slope_floor is not None and not slope_floor > 0:
            raise ValueError(f"HardwareRecurrentLIF: slope_floor must be positive or None, got "
                             f"{slope_floor}.")
        if kwargs.get("delay") is not None:
            raise ValueError(_NO_DELAYS)
        if adjoint_at not in ADJOINT_AT:
            raise ValueError(f"HardwareRecurrentLIF: adjoint_at must be one of {ADJOINT_AT}, "
                             f"got {adjoint_at!r}.")
        for name, value in recurrent_lif_fields(type(self).__name__, in_size, size,
                                                **kwargs).items():
            setattr(self, name, value)
        self.backend = backend
        self.blocks = feedforward_blocks(self.mask_in, self.mask)
        if blocks is not None and tuple(blocks) != self.blocks:
            raise ValueError(f"HardwareRecurrentLIF: blocks={tuple(blocks)} do not match the "
                             f"masks, whose feed-forward blocks are {self.blocks}.")
        self.slope_floor = None if slope_floor is None else float(slope_floor)
        self.target_params = target_params
        self.adjoint_at = adjoint_at

    def population(self) -> Population:
        """The population as the backend sees it (masked weights, blocks)."""
        w_in, w_rec = self.effective_weights
        params = self.params if self.target_params is None else self.target_params
        return Population(LIFNeuron(params, single_spike=self.single_spike), w_in, w_rec,
                          self.t_max, self.max_spikes, self.blocks)

    def _check_blocks(self, x):
        if self.blocks is None:
            return x
        bad = jnp.any(self.mask & ~chain_mask(self.blocks))
        if self.mask_in is not None:
            bad = bad | jnp.any(self.mask_in[:, self.blocks[0]:])
        return eqx.error_if(x, bad, "HardwareRecurrentLIF: the masks no longer match the "
                                    f"feed-forward blocks {self.blocks} fixed at construction; "
                                    "build a new layer for another connectivity.")

    def __call__(self, spikes: Spikes, *, key: PRNGKeyArray | None = None) -> Spikes:
        where = self.describe()
        if self.delay is not None:  # e.g. set with eqx.tree_at
            raise ValueError(_NO_DELAYS)
        spikes = check_spikes(spikes, self.in_size, where)
        if spikes.time.ndim != 1:
            raise ValueError(f"HardwareRecurrentLIF: expected unbatched Spikes, got shape "
                             f"{spikes.time.shape}; batch with jax.vmap (one key per sample).")
        if spikes.time.shape[0] == 0:  # no input slot at all: one unused slot, a silent input
            spikes = spikes.pad(1)
        warn_if_all_late(spikes, self.t_max, where)
        if key is None and self.backend.needs_key:
            raise ValueError(f"HardwareRecurrentLIF: the backend {type(self.backend).__name__} "
                             "adds trial-to-trial noise; pass key= (one per call/sample).")
        w_in, w_rec = self.effective_weights
        dtype = jnp.result_type(w_in, w_rec, spikes.time)
        in_time = self._check_blocks(spikes.time.astype(dtype))
        in_time = check_finite(
            in_time, dict(params=self.params, weight_in=w_in, weight_rec=w_rec), where)
        cfg = _Config(self.t_max, self.max_spikes, self.single_spike, self.blocks,
                      self.slope_floor, self.adjoint_at)
        in_idx = jax.lax.stop_gradient(spikes.idx)
        target = None if self.target_params is None else jax.lax.stop_gradient(
            cast_floats(self.target_params, dtype))
        # the backend is not differentiated: its array fields (if any) carry no tangent
        b_dyn, b_static = eqx.partition(self.backend, eqx.is_array)
        backend = eqx.combine(jax.lax.stop_gradient(b_dyn), b_static)
        params = cast_floats(self.params, dtype)  # the parameters follow the state's dtype
        out_t, out_i = _in_the_loop((params, w_in, w_rec, in_time), in_idx, backend,
                                    cfg, key, target)
        return trust(Spikes(out_t, out_i), self.size)
