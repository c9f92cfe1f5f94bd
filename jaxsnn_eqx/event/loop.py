"""The event loop: one `jax.lax.while_loop` over input spikes and threshold crossings.

Each iteration is one call of `event_step`, which handles exactly one event, whichever comes first:

* an output spike: the earliest threshold crossing (``neuron.next_threshold_crossing``) if it is
  not later than the next input spike. The population is integrated to it, the neuron is reset
  (``neuron.transition`` with ``fired``), and in a recurrent population its spike arrives at the
  others through ``weight_rec[k]`` at the same instant;
* otherwise the next input spike: integrate to its time, jump by ``weight[idx]``.

So every input spike is processed (inputs and outputs never share a budget), equal input times
are simply consecutive events with ``dt = 0`` (exact, no jitter), and a population can emit at
most ``max_out`` spikes (`event_loop` reports an overflow; the kernel raises).

Feed-forward layers run one loop per output neuron (a *lane*: `lanes`, `lane_axis`), vmapped;
recurrent layers one loop for the whole population. It is the same `event_step` in both cases, and
the replayed backward pass (`replay`) differentiates the same `event_step` again.
"""

import equinox as eqx
import jax
import jax.numpy as jnp

from .neuron import EventNeuron, Transition

__all__ = ["event_step", "init_carry", "event_loop", "masked_while", "batch_max", "put", "take",
           "loop_batching", "batched_by_samples", "lanes", "lane_axis", "LOOP_BATCHING",
           "MAP_MIN_STEPS"]


# ----------------------------------------------------------------------------- one event
def event_step(neuron: EventNeuron, weight, weight_rec, in_time, in_idx, t_max, carry,
               kind=None):
    """Advance a population by one event; ``kind`` forces the event (replay), else it is chosen.

    ``carry = (t, state, ptr)`` (``ptr``: next unprocessed input). Returns the new carry and the
    event kind (``-1`` input, ``k >= 0`` spike of neuron ``k``, ``-2`` nothing left before t_max).
    """
    t, state, ptr = carry
    n_in = in_time.shape[0]
    n = weight.shape[1]
    p = jnp.minimum(ptr, n_in - 1)
    t_in = jnp.where(ptr < n_in, in_time[p], jnp.inf)
    i_in = jnp.clip(in_idx[p], 0, weight.shape[0] - 1)
    horizon = jnp.minimum(t_in, t_max) - t
    dt_cross = neuron.next_threshold_crossing(state, jnp.full((n,), horizon))
    if kind is None:
        k = jnp.argmin(dt_cross)
        is_sp = dt_cross[k] <= horizon
        is_in = ~is_sp & (t_in < t_max)
        kind = jnp.where(is_sp, k, jnp.where(is_in, -1, -2)).astype(jnp.int32)
    else:
        k = jnp.maximum(kind, 0)
        is_sp = kind >= 0
        is_in = kind == -1
    dt_k = dt_cross[k]
    dt_sp = jnp.where(is_sp & jnp.isfinite(dt_k), dt_k, 0.0)
    dt_in = jnp.where(is_in, t_in, t) - t  # double-where: no inf - t off the input branch
    dt = jnp.where(is_sp, dt_sp, dt_in)
    state = neuron.integrate(state, jnp.full((n,), dt))
    zero = jnp.zeros((n,), weight.dtype)
    w_sp = zero if weight_rec is None else weight_rec[k].astype(weight.dtype)
    jump = jnp.where(is_sp, w_sp, jnp.where(is_in, weight[i_in], zero))
    fired = is_sp & (jnp.arange(n) == k)
    state = neuron.transition(state, Transition(weight=jump, fired=fired))
    return (t + dt, state, ptr + is_in.astype(ptr.dtype)), kind


def init_carry(neuron, n, dtype):
    return (jnp.zeros((), dtype), neuron.init_state(n, dtype), jnp.zeros((), jnp.int32))


# ----------------------------------------------------------------------------- the two drivers
def event_loop(neuron, weight, weight_rec, in_time, in_idx, t_max, max_out, record=False, *,
               batching: tuple[str | None, int | None] = (None, None)):
    """The while_loop over one population.

    Returns ``(out_time, out_idx, kinds, overflow, history)``; ``history`` (only with
    ``record``) holds the carry before every step (the initial carry for steps never run).

    Batching (`jax.vmap` over samples, or over the lanes of a feed-forward layer) follows
    ``batching = (mode, map_min_steps)`` (see `LOOP_BATCHING`, `loop_batching`): on a CPU a
    long loop runs sample by sample (`jax.lax.map`), else JAX's own rule batches the loop. The
    results are the same either way.
    """
    n_steps = in_time.shape[0] + max_out
    dtype = in_time.dtype
    dyn, static = eqx.partition(neuron, eqx.is_array)

    def init(dyn, weight):
        carry0 = init_carry(eqx.combine(dyn, static), weight.shape[1], dtype)
        # one slot per step, and one for the step that sees an overflow (or the end)
        hist0 = (jax.tree.map(lambda x: jnp.broadcast_to(x, (n_steps + 1,) + x.shape), carry0)
                 if record else None)
        return (
            carry0,
            jnp.zeros((), jnp.int32),  # spikes written
            jnp.full((max_out,), jnp.inf, dtype),
            jnp.full((max_out,), -1, jnp.int32),
            jnp.full((n_steps + 1,), -2, jnp.int32),  # event kinds
            hist0,
            jnp.zeros((), jnp.int32),  # step
            jnp.zeros((), bool),  # done
            jnp.zeros((), bool),  # overflow
        )

    def cond(c):
        # n_steps events fill every slot; one more step is needed to see an overflow
        *_, step, done, overflow = c
        return ~done & ~overflow & (step <= n_steps)

    def body(consts, c, active, it):
        dyn, weight, weight_rec, in_time, in_idx = consts
        carry, count, out_t, out_i, kinds, hist, step, done, overflow = c
        new, kind = event_step(eqx.combine(dyn, static), weight, weight_rec, in_time, in_idx,
                               t_max, carry)
        is_sp = kind >= 0
        over = is_sp & (count >= max_out)
        write = active & is_sp & ~over
        slot = jnp.where(write, count, max_out)  # out of range: not written
        out_t = out_t.at[slot].set(new[0], mode="drop")
        out_i = out_i.at[slot].set(kind, mode="drop")
        # an active sample is at step `it`, the loop's own count: the same slot for a whole batch
        kinds = put(kinds, jnp.where(active & ~over, kind, -2), it)
        if record:  # a finished sample writes its last carry again, past its record
            hist = jax.tree.map(lambda h, x: put(h, x, it), hist, carry)
        carry = jax.tree.map(lambda a, b: jnp.where(active & ~over, a, b), new, carry)
        return (carry, count + write, out_t, out_i, kinds, hist, step + active,
                jnp.where(active, kind == -2, done), jnp.where(active, over, overflow))

    def loop(dyn, weight, weight_rec, in_time, in_idx):
        consts = (dyn, weight, weight_rec, in_time, in_idx)
        _, _, out_t, out_i, kinds, hist, _, _, overflow = masked_while(
            lambda _, c: cond(c), body, consts, init(dyn, weight))
        return out_t, out_i, kinds, overflow, hist

    mode = loop_batching(n_steps, weight.shape[1], *batching)
    return batched_by_samples(loop, mode)(dyn, weight, weight_rec, in_time, in_idx)


def masked_while(cond, body, consts, init):
    """``while cond(consts, carry): carry = body(consts, carry, active, it)``, batched without
    copies (``it``: the number of iterations before this one, the same for a whole batch).

    ``cond(consts, carry) -> bool``; ``body`` must return ``carry`` unchanged where ``active`` is
    False. Unbatched this is `jax.lax.while_loop` (with ``active = True``). Under `jax.vmap`,
    JAX's own rule would select between the new and the old value of every carry leaf after
    every iteration, a copy of every buffer in the carry (output slots, the recorded history)
    per event; here the batch runs while any sample is active and each sample's body masks its
    own update, so a buffer written one slot per event costs one slot per event, whatever its
    length. Nested vmaps apply the rule again. ``consts`` (a pytree of arrays, batched or not)
    is passed to ``cond`` and ``body``, which must not close over traced values.
    """
    return _masked_while(cond, body)(consts, init)


def _masked_while(cond, body):
    @jax.custom_batching.custom_vmap
    def run(consts, init):
        def step(c):
            it, carry = c
            return it + 1, body(consts, carry, cond(consts, carry), it)

        return jax.lax.while_loop(lambda c: jnp.any(cond(consts, c[1])), step,
                                  (jnp.zeros((), jnp.int32), init))[1]

    @run.def_vmap
    def _rule(axis_size, in_batched, consts, init):
        c_axes = jax.tree.map(lambda b: 0 if b else None, in_batched[0])
        init = jax.tree.map(lambda x, b: x if b else jnp.broadcast_to(x, (axis_size,) + x.shape),
                            init, in_batched[1])
        cond_b = jax.vmap(cond, in_axes=(c_axes, 0))
        body_b = jax.vmap(body, in_axes=(c_axes, 0, 0, None))
        out = _masked_while(cond_b, body_b)(consts, init)
        return out, jax.tree.map(lambda _: True, out)

    return run


@jax.custom_batching.custom_vmap
def batch_max(x):
    """``x`` (an integer scalar); under `jax.vmap` (nested or not) the maximum over the whole
    batch, unbatched: e.g. the trip count of a loop that every sample of a batch runs together."""
    return x


@batch_max.def_vmap
def _batch_max_rule(axis_size, in_batched, x):
    del axis_size
    return (batch_max(jnp.max(x, axis=0)) if in_batched[0] else x), False


def put(buffer, x, i):
    """``buffer`` with ``buffer[i] = x`` (``i`` a scalar index, clamped into range)."""
    return jax.lax.dynamic_update_index_in_dim(buffer, jnp.asarray(x, buffer.dtype), i, 0)


def take(buffer, i):
    """``buffer[i]`` (``i`` a scalar index, clamped into range)."""
    return jax.lax.dynamic_index_in_dim(buffer, i, 0, keepdims=False)


LOOP_BATCHING = "auto"
"""How a vmapped event loop is batched where `simulate`'s ``loop_batching`` is ``None`` (every
layer): read when a function is traced, so set it before `jax.jit` compiles.

``"map"`` runs the samples one after another (`jax.lax.map`): each loop stops at its own last
event. ``"vmap"`` uses JAX's batching rule of `jax.lax.while_loop`: a batch runs until its
longest sample is done and every iteration selects between the new and the old value of every
carry leaf of every sample. ``"auto"`` picks ``"map"`` on a CPU for a long loop of a population
(at least ``map_min_steps`` events, i.e. input spikes plus the spike budget, and more than one
neuron) and ``"vmap"`` otherwise. The results are the same up to float rounding (XLA's
vectorised and scalar code may differ in the last bit)."""

MAP_MIN_STEPS = 256
"""Where `simulate`'s ``map_min_steps`` is ``None``: the shortest loop (input spikes + spike
budget) that ``loop_batching="auto"`` runs sample by sample on a CPU."""

LOOP_BATCHINGS = ("auto", "map", "vmap")


def loop_batching(n_steps: int, n: int, mode: str | None = None,
                  map_min_steps: int | None = None) -> str:
    """The batching that ``mode`` (see `LOOP_BATCHING`) gives a loop of at most ``n_steps``
    events over ``n`` neurons: ``"map"`` or ``"vmap"``. ``None``: the module defaults
    `LOOP_BATCHING` and `MAP_MIN_STEPS`, read when this is called (at trace time)."""
    mode = LOOP_BATCHING if mode is None else mode
    map_min_steps = MAP_MIN_STEPS if map_min_steps is None else map_min_steps
    if mode not in LOOP_BATCHINGS:
        raise ValueError(f"event loop_batching (LOOP_BATCHING) must be 'auto', 'map' or "
                         f"'vmap', got {mode!r}.")
    if mode != "auto":
        return mode
    long_loop = n_steps >= map_min_steps and n > 1
    return "map" if long_loop and jax.default_backend() == "cpu" else "vmap"


def batched_by_samples(fn, mode: str):
    """``fn`` (arrays in, arrays out) whose `jax.vmap` runs the samples one after another
    (``mode="map"``, `jax.lax.map`), or ``fn`` itself (``"vmap"``: JAX's own rules)."""
    if mode == "vmap":
        return fn
    fn_batched = jax.custom_batching.custom_vmap(fn)

    @fn_batched.def_vmap
    def _rule(axis_size, in_batched, *args):
        leaves, treedef = jax.tree.flatten(args)
        flags = jax.tree.leaves(in_batched)
        xs = [x for x, b in zip(leaves, flags, strict=True) if b]

        def one(f, x_i):  # one sample: its batched leaves, the shared ones as they are
            it = iter(x_i)
            full = [next(it) if b else x for x, b in zip(leaves, flags, strict=True)]
            return f(*jax.tree.unflatten(treedef, full))

        # fn_batched inside: a vmap around this map applies the rule again (nested batches)
        out = jax.lax.map(lambda x_i: one(fn_batched, x_i), xs)
        return out, jax.tree.map(lambda _: True, out)

    return fn_batched


def lanes(neuron_diff, n: int):
    """Every inexact array parameter (shape ``()`` or ``(n,)``) as ``n`` lanes of shape (1,)."""
    return jax.tree.map(lambda x: jnp.broadcast_to(x, (n,))[:, None], neuron_diff)


def lane_axis(in_time):
    """``1`` for per-neuron arrival lists ``(K, n)`` (vmapped with the neurons), else ``None``."""
    return 1 if in_time.ndim == 2 else None
