"""Where a population's forward pass runs: the `Backend` protocol and `JaxSimulation`.

A `Backend` maps a `Population` (an LIF-type neuron model, input and recurrent weights, the
simulated time) and its input `Spikes` to the *observed* output `Spikes`. `JaxSimulation` is the
exact event kernel of this package; the `hardware` package adds the BrainScaleS-2 `Emulator`
(a perturbed simulation) and `BSS2Executor` (the chip), and re-exports the two classes here.
`event.HardwareRecurrentLIF` runs its forward pass on a backend and takes its gradients from
EventProp of the software model at the observed spikes.

A population whose fixed connectivity is a chain of feed-forward blocks (inputs -> block 0 ->
block 1 -> ...; see `feedforward_blocks`), e.g. a 25-100-3 network placed in one population as
on the chip, is simulated block by block (`event.stages`); with single-spike neurons every block
is solved all at once (`EventNeuron.first_spike_times`) instead of one event at a time, with the
same spike times as the event loop over the whole population (to rounding).
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, PRNGKeyArray

from ..checks import check_spikes
from ..spikes import Spikes
from .kernel import simulate
from .neuron import EventNeuron
from .stages import simulate_stages, take_neurons

__all__ = ["Backend", "JaxSimulation", "Population", "feedforward_blocks", "block_edges",
           "chain_mask", "block_neuron"]


def block_edges(blocks: tuple[int, ...]) -> tuple[int, ...]:
    """``(0, end of block 0, end of block 1, ..., size)`` of consecutive blocks."""
    return tuple(int(e) for e in np.cumsum([0, *blocks]))


def chain_mask(blocks: tuple[int, ...]) -> np.ndarray:
    """The ``(size, size)`` connectivity that a chain of ``blocks`` allows: block ``l`` to
    block ``l + 1`` only."""
    e = block_edges(blocks)
    allowed = np.zeros((e[-1], e[-1]), bool)
    for a, b, c in zip(e[:-2], e[1:-1], e[2:], strict=True):
        allowed[a:b, b:c] = True
    return allowed


def feedforward_blocks(
    mask_in: Bool[ArrayLike, "in_size size"] | None, mask: Bool[ArrayLike, "size size"] | None,
) -> tuple[int, ...] | None:
    """Sizes of consecutive neuron blocks that make a masked population a feed-forward chain.

    The population (neurons ``0..size-1``) is a chain ``inputs -> B_0 -> B_1 -> ...`` of
    contiguous blocks when ``mask_in`` connects the inputs only to ``B_0`` and ``mask`` connects
    only ``B_l`` to ``B_{l+1}``. Returns the block sizes (e.g. ``(100, 3)``), or ``None`` if the
    masks allow any other connection (a recurrent population) or are not concrete. Blocks are
    the maximal ones: ``B_0`` is every neuron the inputs may reach, and ``B_{l+1}`` the neurons
    after ``B_l``'s last index that ``B_l`` may reach.
    """
    if mask is None:
        return None
    try:
        m = np.asarray(mask) != 0
        m_in = None if mask_in is None else np.asarray(mask_in) != 0
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None
    size = m.shape[0]
    if m_in is None:
        m_in = np.ones((1, size), bool)
    # B_0: neurons 0..k-1 where k is one past the last neuron the inputs reach
    reached = np.flatnonzero(m_in.any(0))
    if reached.size == 0:
        return None
    sizes, lo, hi = [], 0, int(reached[-1]) + 1
    while True:
        sizes.append(hi - lo)
        if hi == size:
            break
        targets = np.flatnonzero(m[lo:hi].any(0))
        if targets.size == 0 or targets[0] < hi:
            return None
        lo, hi = hi, int(targets[-1]) + 1
    if np.any(m & ~chain_mask(sizes)) or np.any(m_in[:, sizes[0]:]):
        return None
    return tuple(sizes)


def block_neuron(neuron: EventNeuron, lo: int, hi: int, size: int) -> EventNeuron:
    """The neuron model restricted to neurons ``lo..hi-1`` of a population of ``size``: every
    per-neuron parameter array (shape ``(size,)``) is sliced, shared ones are kept."""
    return take_neurons(neuron, slice(lo, hi), size)


class Population(eqx.Module):
    """A population of event neurons as a backend sees it.

    Attributes:
        neuron: the model and its parameters (array fields: shape ``()`` or ``(size,)``).
        weight_in: ``(in_size, size)``, ``weight_in[pre, post]`` (masks already applied).
        weight_rec: ``(size, size)`` or ``None``.
        t_max: simulated time (s).
        max_spikes: length of the output `Spikes`.
        blocks: sizes of the feed-forward blocks (`feedforward_blocks`) or ``None``.
    """

    neuron: EventNeuron
    weight_in: Float[Array, "in_size size"]
    weight_rec: Float[Array, "size size"] | None
    t_max: float = eqx.field(static=True)
    max_spikes: int = eqx.field(static=True)
    blocks: tuple[int, ...] | None = eqx.field(static=True, default=None)

    @property
    def size(self) -> int:
        return self.weight_in.shape[1]

    @property
    def in_size(self) -> int:
        return self.weight_in.shape[0]

    def block_edges(self) -> tuple[int, ...]:
        """``(0, end of block 0, end of block 1, ..., size)``; ``(0, size)`` without blocks."""
        return block_edges((self.size,) if self.blocks is None else self.blocks)

    def block_weight(self, b: int) -> Float[Array, "pre post"]:
        """Input weights of block ``b`` (from the inputs for ``b = 0``, else from block b-1)."""
        e = self.block_edges()
        if b == 0:
            return self.weight_in[:, e[0]:e[1]]
        return self.weight_rec[e[b - 1]:e[b], e[b]:e[b + 1]]


def simulate_population(population: Population, spikes: Spikes) -> Spikes:
    """Exact simulation of ``population`` driven by unbatched ``spikes`` (see module docstring):
    block by block when it has ``blocks`` (`event.stages.simulate_stages`, each block a stage),
    else the event loop over the whole (recurrent) population."""
    p = population
    if p.blocks is None:
        return simulate(p.neuron, p.weight_in, spikes, t_max=p.t_max, max_spikes=p.max_spikes,
                        weight_rec=p.weight_rec)
    e = p.block_edges()
    stages = tuple(tuple(range(lo, hi)) for lo, hi in zip(e[:-1], e[1:], strict=True))
    return simulate_stages(p.neuron, p.weight_in, p.weight_rec, spikes, stages, t_max=p.t_max,
                           max_spikes=p.max_spikes, where="event.Population")


class Backend(eqx.Module):
    """Where a population's forward pass runs (abstract).

    ``backend(population, spikes, key=key)`` returns the observed output `Spikes` (length
    ``population.max_spikes``, sorted by time, indices in ``[0, population.size)``). ``spikes``
    may carry leading batch axes: the default `__call__` maps `run` over them (one key per
    sample); a backend that runs a whole batch at once (a chip) overrides `__call__`.
    """

    @abc.abstractmethod
    def run(self, population: Population, spikes: Spikes,
            key: PRNGKeyArray | None = None) -> Spikes:
        """Observed output of one sample (unbatched ``spikes``)."""

    @property
    def needs_key(self) -> bool:
        """Whether `run` draws random numbers (trial-to-trial noise) and so needs a key."""
        return False

    def __call__(self, population: Population, spikes: Spikes, *,
                 key: PRNGKeyArray | None = None) -> Spikes:
        spikes = check_spikes(spikes, population.weight_in.shape[0],
                              f"{type(self).__name__} backend")
        batch = spikes.time.shape[:-1]
        if not batch:
            return self.run(population, spikes, key)
        n = int(np.prod(batch))
        flat = Spikes(spikes.time.reshape(n, -1), spikes.idx.reshape(n, -1))
        if key is None:
            out = jax.vmap(lambda s: self.run(population, s, None))(flat)
        else:
            out = jax.vmap(lambda s, k: self.run(population, s, k))(flat,
                                                                   jax.random.split(key, n))
        return Spikes(out.time.reshape(*batch, -1), out.idx.reshape(*batch, -1))


class JaxSimulation(Backend):
    """The exact event-based simulation of this package (`simulate_population`)."""

    def run(self, population: Population, spikes: Spikes,
            key: PRNGKeyArray | None = None) -> Spikes:
        del key
        return simulate_population(population, spikes)
