"""The event-neuron protocol: what the kernel needs to know about a neuron model.

A neuron model is an `EventNeuron` subclass holding its parameters as fields. The kernel
(`jaxsnn_eqx.event.kernel.simulate`) only ever calls the methods below, so any subclass runs in the
same kernel, layers (`EventLayer`) and containers as the built-in `LIFNeuron`.

Conventions:

* All methods are *elementwise over a population*: a state is a pytree whose leaves have shape
  ``(n,)`` (one entry per neuron), and array-valued parameter fields have shape ``()`` or ``(n,)``
  and broadcast against it. The feed-forward path calls them with ``n = 1`` under ``vmap``.
* Times are in seconds and relative: ``next_threshold_crossing`` returns a *duration* from the
  current state, and ``integrate`` advances by a duration.
* Everything must be differentiable with JAX autodiff (or carry its own custom JVP, like the LIF
  root finder): the kernel's default backward pass differentiates a replay of these methods.
* State leaves may be floating point (they carry gradients), integer or boolean (a spike
  counter, a "has fired" flag: constants for the gradient). Every leaf keeps its dtype and shape.
* A floating state entry may be ``+inf``/``-inf`` as a sentinel ("never again", "never fired");
  see `EventNeuron` for the one rule that makes its gradients exact.
* EventProp (``backward=EventProp()``, `EventPropLIF`) is the adjoint of the LIF
  equations and takes `LIFNeuron` only; every other neuron uses the default backward pass.
"""

from __future__ import annotations

import abc
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, PyTree

__all__ = ["EventNeuron", "Transition", "cast_floats"]

State = PyTree[Float[Array, " n"]]


def cast_floats(tree: Any, dtype) -> Any:
    """``tree`` (e.g. a neuron and its parameters) with every floating array leaf of another
    dtype cast to ``dtype``; other leaves (and leaves already of ``dtype``) as they are.

    The one dtype rule of the event core: a population's state has the dtype of its weights
    and input spike times (`jax.numpy.result_type`); its parameters follow it. So float64
    parameter arrays (e.g. with ``jax_enable_x64`` on) in a float32 layer run in float32, and
    their gradients come back in float64 through the cast."""
    def cast(x):
        if eqx.is_inexact_array(x) and jnp.issubdtype(x.dtype, jnp.floating) \
                and x.dtype != dtype:
            return x.astype(dtype)
        return x

    return jax.tree.map(cast, tree)


class Transition(eqx.Module):
    """A discontinuity applied to a population at one instant.

    Attributes:
        weight: summed synaptic weight arriving at each neuron, shape ``(n,)`` (zero: no input).
        fired: which neurons emit a spike at this instant (reset them), shape ``(n,)``.

    An input spike has ``fired`` all false; an output spike of neuron ``k`` has
    ``fired = (arange(n) == k)`` and, in a recurrent population, ``weight = weight_rec[k]``.
    `EventNeuron.transition` must apply the reset before the synaptic jump is felt by ``V``
    (for the LIF the jump only changes ``I``, so the order does not matter there).
    """

    weight: Float[Array, " n"]
    fired: Bool[Array, " n"]


class EventNeuron(eqx.Module):
    """Abstract event-driven neuron model (see the module docstring for conventions).

    Subclasses define `init_state`, `next_threshold_crossing`, `integrate` and `transition`,
    and run in `event.EventLayer(neuron, weight, t_max=..., max_spikes=...)`, `event.simulate`
    and the containers, with exact gradients by autodiff through the spike times.

    Rules for the state (checked by ``tests/test_custom_neuron.py``):

    * Leaves are arrays of shape ``(n,)``; floating-point leaves are differentiated, integer and
      boolean leaves (counters, flags) are allowed and are constants for the gradient.
    * Infinite sentinels: a floating entry may be ``+-inf`` (the LIF's ``r = inf`` "never
      again", a last spike time ``-inf``). It carries no gradient, and the backward pass
      differentiates each step with ``+-sqrt(finfo.max)`` (about ``1.3e154`` in float64) in its
      place, so the step's result at ``+-inf`` must be the limit of its result at huge finite
      values, as comparisons, sums, ``jnp.maximum``, ``jnp.where`` and decaying exponentials
      give. A step that tests ``isinf``/``isfinite`` and writes a different finite value
      raises when differentiated; use a finite sentinel (e.g. ``-1e9`` s) there.
    * As always with ``jnp.where`` under autodiff, a discarded branch must not overflow for
      huge inputs either (``exp(-r / tau)`` with ``r = -1e9`` is ``inf``): clip first,
      ``exp(-jnp.clip(r, 0.0, dt) / tau)``. Parameters must be finite.
    """

    @abc.abstractmethod
    def init_state(self, n: int, dtype: Any) -> State:
        """State of ``n`` neurons at ``t = 0`` (before any input); leaves of shape ``(n,)``."""

    @abc.abstractmethod
    def next_threshold_crossing(
        self, state: State, t_max: Float[Array, " n"]
    ) -> Float[Array, " n"]:
        """Time from now until each neuron's next threshold crossing if no event intervenes.

        ``+inf`` when there is none within ``t_max`` (a duration, possibly ``+inf``). Crossings
        after ``t_max`` may be reported as ``inf`` or as their true time; the kernel ignores them.
        """

    @abc.abstractmethod
    def integrate(self, state: State, dt: Float[Array, " n"]) -> State:
        """Exact state after a duration ``dt >= 0`` with no events."""

    @abc.abstractmethod
    def transition(self, state: State, spike: Transition) -> State:
        """State just after the discontinuity ``spike`` (input jump and/or reset)."""

    def first_spike_times(
        self, weight: Float[Array, "n_in n"], spikes: Any, t_max: float
    ) -> Float[Array, " n"]:
        """Optional fast path: first spike time of each neuron of a *feed-forward* population
        starting at rest (``inf`` if none before ``t_max``), all neurons and all input
        intervals at once instead of one event at a time.

        The kernel uses it for populations that fire at most once (a ``single_spike`` attribute
        that is true) when this method is overridden; otherwise it runs the event loop. It must
        return the same times as the loop and be differentiable by JAX autodiff.
        """
        raise NotImplementedError

    def check(self) -> None:  # pragma: no cover - default: nothing to validate
        """Validate parameters (called by layers at construction; raise ``ValueError``)."""

