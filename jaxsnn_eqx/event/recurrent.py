"""A recurrently connected LIF population with EventProp gradients (`RecurrentEventPropLIF`).

One population of ``size`` LIF neurons with input weights ``weight_in`` and recurrent weights
``weight_rec`` (optionally masked to a fixed connectivity): simulated with the one event loop of
`kernel.simulate` or, when the mask is a stack of layers, stage by stage (`stages`); the backward
pass is EventProp (`eventprop.EventProp`).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float, PRNGKeyArray

from ..checks import check_size, check_weight
from ..spikes import Spikes
from .delays import check_delay
from .eventprop import eventprop_lif_backward
from .kernel import simulate
from .lif import LIFNeuron, LIFParams, lif_weight_scale
from .stages import feedforward_stages, simulate_stages

__all__ = ["AbstractRecurrentLIF", "RecurrentEventPropLIF", "recurrent_lif_fields"]


class AbstractRecurrentLIF(eqx.Module):
    """A recurrently connected LIF population with fixed masks (abstract): what
    `RecurrentEventPropLIF` (EventProp gradients) and `HardwareRecurrentLIF` (forward pass on a
    `Backend`) share. Subclass it for a population with another forward or backward pass; its
    fields are those of `RecurrentEventPropLIF` (`recurrent_lif_fields` computes them)."""

    weight_in: eqx.AbstractVar[Float[Array, "in_size size"]]
    weight_rec: eqx.AbstractVar[Float[Array, "size size"]]
    mask: eqx.AbstractVar[Bool[Array, "size size"] | None]
    mask_in: eqx.AbstractVar[Bool[Array, "in_size size"] | None]
    params: eqx.AbstractVar[LIFParams]
    in_size: eqx.AbstractVar[int]
    size: eqx.AbstractVar[int]
    single_spike: eqx.AbstractVar[bool]

    @property
    def out_size(self) -> int:
        return self.size

    @property
    def neuron(self) -> LIFNeuron:
        return LIFNeuron(self.params, single_spike=self.single_spike)

    @property
    def effective_weights(self) -> tuple[Array, Array]:
        """``(weight_in, weight_rec)`` with the fixed masks applied."""
        w_in, w_rec = self.weight_in, self.weight_rec
        if self.mask_in is not None:
            w_in = jnp.where(self.mask_in, w_in, 0.0)
        if self.mask is not None:
            w_rec = jnp.where(self.mask, w_rec, 0.0)
        return w_in, w_rec

    def describe(self) -> str:
        """``"RecurrentEventPropLIF(5->123)"``: the type and sizes, as error messages name it."""
        return f"{type(self).__name__}({self.in_size}->{self.size})"


class RecurrentEventPropLIF(AbstractRecurrentLIF):
    """A recurrently connected LIF population with EventProp gradients.

    ``rec(spikes)`` returns the population's output `Spikes` (indices in ``[0, size)``, length
    ``max_spikes``). With ``mask`` (fixed 0/1 connectivity of ``weight_rec``; not trained) one
    population can emulate a layered network, e.g. 5-120-3: neurons ``0..119`` hidden, the rest
    outputs, ``mask[h, o] = 1`` only from hidden to output and ``mask_in`` zero on the outputs.

    Attributes:
        weight_in: ``(in_size, size)``, ``weight_in[pre, post]``.
        weight_rec: ``(size, size)``, ``weight_rec[pre, post]``.
        mask: fixed boolean connectivity of ``weight_rec`` (or ``None``: all to all); boolean,
            so it is not an inexact array and optimisers leave it alone.
        mask_in: fixed boolean connectivity of ``weight_in`` (or ``None``: all to all).
        params: `LIFParams` (as in `EventPropLIF`).
        delay: delays (s) of the input connections (``weight_in``), as `event.LIF`'s: shape
            ``()``, ``(in_size, 1)`` (per input: a shift of the input spikes, free),
            ``(1, size)`` or ``(in_size, size)`` (every input spike then becomes ``size``
            events, one per neuron, in the population's one event loop); ``None``: none.
            The recurrent connections have no delay.
        method: how the population is simulated: ``"auto"`` (default) simulates a population
            whose ``mask`` has no cycle (a stack of layers, e.g. 5-120-3) stage by stage with
            the feed-forward solvers (`event.stages`: the same spikes and gradients, several
            events at once), anything else with the one event loop; ``"kernel"`` always runs
            the event loop; ``"stages"`` insists on stages (an error if the mask has a cycle).
        stages: the stages of ``mask`` (`event.feedforward_stages`), computed at construction;
            ``None`` when the population runs its event loop.
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

    def __init__(
        self,
        in_size: int,
        size: int,
        *,
        params: LIFParams | None = None,
        t_max: float,
        max_spikes: int,
        key: PRNGKeyArray | None = None,
        mask: Float[ArrayLike, "size size"] | None = None,
        mask_in: Float[ArrayLike, "in_size size"] | None = None,
        weight_in: Float[ArrayLike, "in_size size"] | None = None,
        weight_rec: Float[ArrayLike, "size size"] | None = None,
        single_spike: bool = False,
        init_mean: float = 2.0,
        init_std: float = 1.0,
        rec_init_mean: float = 0.0,
        rec_init_std: float = 1.0,
        dtype=None,
        delay: Float[ArrayLike, "in_size size"] | None = None,
        method: str = "auto",
        stages: tuple[tuple[int, ...], ...] | None = None,
    ):
        """Weights not given are drawn like `event.LIF`'s, in units of the threshold-reaching
        weight ``lif_weight_scale(params)``: ``weight_in ~ N(init_mean, init_std^2) / in_size``,
        ``weight_rec ~ N(rec_init_mean, rec_init_std^2) / size`` (then masked). ``stages``
        is computed from ``mask`` (pass it only to rebuild a layer whose mask is traced)."""
        for name, value in recurrent_lif_fields(
            type(self).__name__, in_size, size, params=params, t_max=t_max,
            max_spikes=max_spikes, key=key, mask=mask, mask_in=mask_in, weight_in=weight_in,
            weight_rec=weight_rec, single_spike=single_spike, init_mean=init_mean,
            init_std=init_std, rec_init_mean=rec_init_mean, rec_init_std=rec_init_std,
            dtype=dtype, delay=delay, method=method, stages=stages).items():
            setattr(self, name, value)

    def __call__(self, spikes: Spikes, *, key=None) -> Spikes:
        del key
        w_in, w_rec = self.effective_weights
        if self.stages is not None:
            return simulate_stages(
                self.neuron, w_in, w_rec, spikes, self.stages, t_max=self.t_max,
                max_spikes=self.max_spikes, backward=eventprop_lif_backward,
                where=self.describe(), delay=self.delay,
                mask=self.mask,
            )
        return simulate(
            self.neuron, w_in, spikes, t_max=self.t_max, max_spikes=self.max_spikes,
            weight_rec=w_rec, backward=eventprop_lif_backward,
            where=self.describe(), delay=self.delay,
        )


#: the keyword arguments of a recurrent LIF population's constructor besides the sizes,
#: ``t_max`` and ``max_spikes``, with their defaults (see `RecurrentEventPropLIF`)
RECURRENT_LIF_OPTIONS = dict(
    params=None, key=None, mask=None, mask_in=None, weight_in=None, weight_rec=None,
    single_spike=False, init_mean=2.0, init_std=1.0, rec_init_mean=0.0, rec_init_std=1.0,
    dtype=None, delay=None, method="auto", stages=None)


def recurrent_lif_fields(where: str, in_size: int, size: int, *, t_max: float,
                         max_spikes: int, **options) -> dict:
    """The fields of a recurrent LIF population (see `RecurrentEventPropLIF`), in declaration
    order, from its constructor's arguments (checked; ``where`` names the class in errors).
    ``options``: `RECURRENT_LIF_OPTIONS`, whose defaults fill the ones not given."""
    unknown = sorted(set(options) - set(RECURRENT_LIF_OPTIONS))
    if unknown:
        raise TypeError(f"{where}: unexpected keyword arguments {unknown}.")
    (params, key, mask, mask_in, weight_in, weight_rec, single_spike, init_mean, init_std,
     rec_init_mean, rec_init_std, dtype, delay, method, stages) = (
        {**RECURRENT_LIF_OPTIONS, **options}[k] for k in RECURRENT_LIF_OPTIONS)
    params = LIFParams() if params is None else params
    if not isinstance(params, LIFParams):
        raise TypeError(f"{where}: `params` must be event.LIFParams, got "
                        f"{type(params).__name__} (EventProp is the LIF's adjoint only).")
    in_size = check_size(in_size, "in_size", where)
    size = check_size(size, "size", where)
    max_spikes = check_size(max_spikes, "max_spikes", where)
    if not t_max > 0:
        raise ValueError(f"{where}: `t_max` must be positive (s), got {t_max}.")
    if dtype is None:  # the given weights' float type (as event.LIF), else the default float
        given = [jnp.asarray(w) for w in (weight_in, weight_rec) if w is not None]
        dtype = jnp.result_type(float, *given)
    if (weight_in is None or weight_rec is None) and key is None:
        raise ValueError(f"{where}: pass `key` (for the init) or both weights.")
    w1 = lif_weight_scale(params)
    k_in, k_rec = jax.random.split(key) if key is not None else (None, None)
    if weight_in is None:
        z = jax.random.normal(k_in, (in_size, size), dtype)
        weight_in = w1 * (init_mean + init_std * z) / in_size
    if weight_rec is None:
        z = jax.random.normal(k_rec, (size, size), dtype)
        weight_rec = w1 * (rec_init_mean + rec_init_std * z) / size
    weight_in = check_weight(weight_in, (in_size, size), where, "weight_in").astype(dtype)
    weight_rec = check_weight(weight_rec, (size, size), where, "weight_rec").astype(dtype)
    for name, w, shape in (("mask", mask, (size, size)), ("mask_in", mask_in, (in_size, size))):
        if w is not None and jnp.shape(w) != shape:
            raise ValueError(f"{where}: `{name}` must have shape {shape}, got "
                             f"{jnp.shape(w)}.")
    mask = None if mask is None else jnp.asarray(mask) != 0
    mask_in = None if mask_in is None else jnp.asarray(mask_in) != 0
    if method not in ("auto", "kernel", "stages"):
        raise ValueError(f"{where}: `method` must be 'auto', 'kernel' or 'stages', got "
                         f"{method!r}.")
    if stages is None and method != "kernel":
        stages = feedforward_stages(mask)
    if method == "stages" and stages is None:
        raise ValueError(f"{where}: method='stages' needs a mask without cycles (a stack "
                         "of layers); this population needs its event loop "
                         "(method='auto' or 'kernel').")
    return dict(
        weight_in=weight_in if mask_in is None else jnp.where(mask_in, weight_in, 0.0),
        weight_rec=weight_rec if mask is None else jnp.where(mask, weight_rec, 0.0),
        mask=mask, mask_in=mask_in, params=params,
        delay=None if delay is None else check_delay(delay, in_size, size, where,
                                                     dtype=dtype),
        in_size=in_size, size=size, t_max=float(t_max), max_spikes=int(max_spikes),
        single_spike=bool(single_spike), method=method,
        stages=None if method == "kernel" else (
            None if stages is None else tuple(tuple(int(j) for j in s) for s in stages)))
