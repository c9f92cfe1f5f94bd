"""Event layers: a population of `EventNeuron`s with input weights, ``layer(spikes) -> Spikes``.

`AbstractEventLayer` is what every event layer subclasses (it runs `kernel.simulate`);
`EventLayer` is the final layer for any `EventNeuron`; `layer_weight` draws or checks a
feed-forward layer's weight.
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ..checks import check_weight
from ..spikes import Spikes
from .backward import Backward
from .kernel import METHODS, simulate
from .neuron import EventNeuron

__all__ = ["AbstractEventLayer", "EventLayer", "layer_weight"]


def layer_weight(
    weight: Float[ArrayLike, "in_size out_size"] | None,
    key: Any,
    in_size: int,
    out_size: int,
    *,
    scale: Callable[[], Any],
    init_mean: float,
    init_std: float,
    dtype: Any,
    where: str,
) -> Float[Array, "in_size out_size"]:
    """A feed-forward event layer's ``(in_size, out_size)`` weight (V s): ``weight`` checked
    (and cast to ``dtype`` when given), or drawn from ``key`` as ``scale() (init_mean + init_std
    z) / in_size`` with ``z ~ N(0, 1)`` in ``dtype`` (default: the default float); ``scale()``
    is the model's threshold-reaching weight (e.g. `lif_weight_scale`)."""
    if weight is None:
        if key is None:
            raise ValueError(f"{where}: pass `key` (for the weight init) or `weight`.")
        dtype = jnp.result_type(float) if dtype is None else dtype
        z = jax.random.normal(key, (in_size, out_size), dtype)
        weight = scale() * (init_mean + init_std * z) / in_size
    weight = check_weight(weight, (in_size, out_size), where)
    return weight if dtype is None else weight.astype(dtype)


class AbstractEventLayer(eqx.Module):
    """A population of event neurons with input weights; ``layer(spikes) -> Spikes``.

    Subclasses provide the fields below (``neuron`` may be a property). ``layer(x, weight_rec=w)``
    runs the population recurrently (this is what `jaxsnn_eqx.Recurrent` calls).

    Arrays (weights, parameters) are leaves: edit them with `equinox.tree_at`. Settings such as
    ``method``, ``t_max`` and ``max_spikes`` are static fields, not leaves (``tree_at`` says
    "... is not a leaf"): change them with ``dataclasses.replace(layer, method="kernel")``,
    which re-runs the constructor's checks.
    """

    neuron: eqx.AbstractVar[EventNeuron]
    weight: eqx.AbstractVar[Float[Array, "in_size out_size"]]
    in_size: eqx.AbstractVar[int]
    out_size: eqx.AbstractVar[int]
    t_max: eqx.AbstractVar[float]
    max_spikes: eqx.AbstractVar[int]
    max_spikes_per_neuron: eqx.AbstractVar[int | None]
    backward: eqx.AbstractVar[Backward | None]
    method: eqx.AbstractVar[str]

    def _check_sizes(self):
        if self.method not in METHODS:
            raise ValueError(f"{type(self).__name__}: method must be one of {METHODS} (see "
                             f"event.simulate), got {self.method!r}.")
        if self.max_spikes < 1:
            raise ValueError(f"{type(self).__name__}: max_spikes must be >= 1, "
                             f"got {self.max_spikes}.")
        if not self.t_max > 0:
            raise ValueError(f"{type(self).__name__}: t_max must be positive, got {self.t_max}.")
        m = self.max_spikes_per_neuron
        if m is not None and m < 1:
            raise ValueError(f"{type(self).__name__}: max_spikes_per_neuron must be >= 1, "
                             f"got {m}.")

    def _per_neuron(self) -> int | None:
        if self.max_spikes_per_neuron is not None:
            return self.max_spikes_per_neuron
        return 1 if getattr(self.neuron, "single_spike", False) else None

    def __call__(
        self, spikes: Spikes, *, weight_rec: Float[Array, "n n"] | None = None, key=None
    ) -> Spikes:
        del key
        return simulate(
            self.neuron, self.weight, spikes, t_max=self.t_max, max_spikes=self.max_spikes,
            weight_rec=weight_rec, max_spikes_per_neuron=self._per_neuron(),
            backward=self.backward, method=self.method, where=self.describe(),
            delay=getattr(self, "delay", None),
        )

    def describe(self) -> str:
        """``"LIF(5->120)"``: the layer's type and sizes, as error messages name it."""
        return f"{type(self).__name__}({self.in_size}->{self.out_size})"


class EventLayer(AbstractEventLayer):
    """An event layer for any `EventNeuron` (e.g. a user-defined model).

    Attributes:
        neuron: the `EventNeuron` (its array parameters: shape ``()`` or ``(out_size,)``).
        weight: ``(in_size, out_size)``.
        method: ``"auto"``, ``"kernel"`` or ``"parallel"`` (see `simulate`).
        max_spikes_per_neuron: the most spikes one neuron may emit (a memory option, default
            ``None``: up to ``max_spikes``). By default the per-neuron buffers start small and
            grow only if a neuron fills them (`event.feedforward`), so an unused budget costs
            neither time nor memory; setting it fixes the buffers at that size (one spike more
            raises) and caps the memory of a layer whose neurons may fire very often.
    """

    neuron: EventNeuron
    weight: Float[Array, "in_size out_size"]
    in_size: int = eqx.field(static=True)
    out_size: int = eqx.field(static=True)
    t_max: float = eqx.field(static=True)
    max_spikes: int = eqx.field(static=True)
    max_spikes_per_neuron: int | None = eqx.field(static=True)
    backward: Backward | None = eqx.field(static=True)
    method: str = eqx.field(static=True)

    def __init__(
        self,
        neuron: EventNeuron,
        weight: Float[Array, "in_size out_size"],
        *,
        t_max: float,
        max_spikes: int,
        max_spikes_per_neuron: int | None = None,
        backward: Backward | None = None,
        method: str = "auto",
        in_size: int | None = None,
        out_size: int | None = None,
    ):
        """``in_size`` and ``out_size`` follow from ``weight``; passing them (as
        ``dataclasses.replace`` does) only checks that they match its shape."""
        if not isinstance(neuron, EventNeuron):
            raise TypeError(f"EventLayer: `neuron` must be an event.EventNeuron, got "
                            f"{type(neuron).__name__}.")
        weight = jnp.asarray(weight)
        if weight.ndim != 2 or 0 in weight.shape:
            raise ValueError(f"EventLayer: `weight` must be (in_size, out_size) with both >= 1, "
                             f"got shape {weight.shape}.")
        weight = check_weight(weight, weight.shape, "EventLayer")
        self.neuron = neuron
        self.weight = weight
        self.in_size, self.out_size = weight.shape
        for name, given in (("in_size", in_size), ("out_size", out_size)):
            if given is not None and given != getattr(self, name):
                raise ValueError(f"EventLayer: {name}={given} does not match `weight` of shape "
                                 f"{weight.shape}.")
        self.t_max = float(t_max)
        self.max_spikes = int(max_spikes)
        self.max_spikes_per_neuron = max_spikes_per_neuron
        self.backward = backward
        self.method = method
        self._check_sizes()

