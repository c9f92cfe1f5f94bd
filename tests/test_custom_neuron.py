"""User-defined event neurons: boolean and integer state leaves, and +-inf sentinels in the state,
through the event kernel's gradient replay (the issue "custom-neuron traps").

The neurons below are what a user writes by copying the LIF: the same free flow
(`event.lif.membrane`) and threshold crossing (`event.lif.threshold_crossing`), with a different
state. Where they are the built-in LIF in disguise, their spikes and gradients must equal
`event.LIF`'s; every weight gradient is checked against central finite differences (float64).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sweeps import slow_beyond

import jaxsnn_eqx as snn
from jaxsnn_eqx import event
from jaxsnn_eqx.event.eventprop import eventprop_lif_backward
from jaxsnn_eqx.event.lif import membrane, threshold_crossing

T_MAX = 0.03
P = event.LIFParams(tau_mem=1e-2, tau_syn=5e-3, v_th=1.0, v_reset=0.0, v_leak=0.0, t_refrac=2e-3)
W1 = event.lif_weight_scale(P)


def _free(p, v, i, dt):
    return membrane(dt, v, i, p.tau_mem, p.tau_syn)


def _cross(p, v, i, horizon):
    return threshold_crossing(v, i, p.tau_mem, p.tau_syn, p.v_th, horizon)


# ----------------------------------------------------------------------------- the neurons
class FlagLIF(event.EventNeuron):
    """Fires at most once: a boolean "has fired" leaf (= ``LIFNeuron(P, single_spike=True)``)."""

    p: event.LIFParams = P

    def init_state(self, n, dtype):
        zero = jnp.zeros((n,), dtype)
        return {"v": zero, "i": zero, "fired": jnp.zeros((n,), bool)}

    def next_threshold_crossing(self, s, t_max):
        return jnp.where(s["fired"], jnp.inf, _cross(self.p, s["v"], s["i"], t_max))

    def integrate(self, s, dt):
        return {"v": _free(self.p, s["v"], s["i"], dt),
                "i": s["i"] * jnp.exp(-dt / self.p.tau_syn), "fired": s["fired"]}

    def transition(self, s, spike):
        return {"v": jnp.where(spike.fired, self.p.v_reset, s["v"]),
                "i": s["i"] + spike.weight / self.p.tau_syn, "fired": s["fired"] | spike.fired}


class CountLIF(event.EventNeuron):
    """LIF with refractory period (``r``: time left, 0 when free) and an integer spike counter;
    silent after ``max_count`` spikes (its spikes are the LIF's first ``max_count``)."""

    p: event.LIFParams = P
    max_count: int = eqx.field(static=True, default=2)

    def init_state(self, n, dtype):
        zero = jnp.zeros((n,), dtype)
        return (zero, zero, zero, jnp.zeros((n,), jnp.int32))

    def next_threshold_crossing(self, s, t_max):
        v, i, r, count = s
        dt = r + _cross(self.p, v, i * jnp.exp(-r / self.p.tau_syn), t_max - r)
        return jnp.where(count >= self.max_count, jnp.inf, dt)

    def integrate(self, s, dt):
        v, i, r, count = s
        dt_ref = jnp.minimum(dt, r)
        v = _free(self.p, v, i * jnp.exp(-dt_ref / self.p.tau_syn), dt - dt_ref)
        return (v, i * jnp.exp(-dt / self.p.tau_syn), jnp.maximum(r - dt, 0.0), count)

    def transition(self, s, spike):
        v, i, r, count = s
        return (jnp.where(spike.fired, self.p.v_reset, v), i + spike.weight / self.p.tau_syn,
                jnp.where(spike.fired, self.p.t_refrac, r), count + spike.fired.astype(jnp.int32))


class RemainingLIF(event.EventNeuron):
    """LIF with refractory period; ``r`` is the refractory time left, ``free`` (``-inf`` or a
    finite stand-in such as ``-1e9``) when not refractory. The three regimes of a free flow over
    ``dt`` (still refractory, refractoriness ends within ``dt``, free throughout) are a
    ``jnp.where``, so with ``r = -inf`` the middle branch evaluates ``membrane(dt - r) =
    membrane(inf)`` = NaN, discarded: the classic ``0 * inf`` of a where's backward pass."""

    p: event.LIFParams = P
    free: float = -jnp.inf

    def init_state(self, n, dtype):
        zero = jnp.zeros((n,), dtype)
        return (zero, zero, jnp.full((n,), self.free, dtype))

    def next_threshold_crossing(self, s, t_max):
        v, i, r = s
        wait = jnp.maximum(r, 0.0)
        return wait + _cross(self.p, v, i * jnp.exp(-wait / self.p.tau_syn), t_max - wait)

    def integrate(self, s, dt):
        v, i, r = s
        still, ends = r >= dt, (r > 0) & (r < dt)
        i_end = i * jnp.exp(-jnp.clip(r, 0.0, dt) / self.p.tau_syn)
        v = jnp.where(still, self.p.v_reset,
                      jnp.where(ends, _free(self.p, self.p.v_reset, i_end, dt - r),
                                _free(self.p, v, i, dt)))
        r = jnp.where(r > 0, r - dt, self.free)
        return (v, i * jnp.exp(-dt / self.p.tau_syn), r)

    def transition(self, s, spike):
        v, i, r = s
        return (jnp.where(spike.fired, self.p.v_reset, v), i + spike.weight / self.p.tau_syn,
                jnp.where(spike.fired, self.p.t_refrac, r))


class SinceLIF(event.EventNeuron):
    """LIF with refractory period; ``since`` is the time since the last spike, ``never``
    (``+inf`` or e.g. ``1e9``) before the first one; ``wait = t_refrac - since`` is ``-inf``."""

    p: event.LIFParams = P
    never: float = jnp.inf

    def init_state(self, n, dtype):
        zero = jnp.zeros((n,), dtype)
        return (zero, zero, jnp.full((n,), self.never, dtype))

    def next_threshold_crossing(self, s, t_max):
        v, i, since = s
        wait = jnp.maximum(self.p.t_refrac - since, 0.0)
        return wait + _cross(self.p, v, i * jnp.exp(-wait / self.p.tau_syn), t_max - wait)

    def integrate(self, s, dt):
        v, i, since = s
        wait = self.p.t_refrac - since
        i_end = i * jnp.exp(-jnp.clip(wait, 0.0, dt) / self.p.tau_syn)
        v = jnp.where(wait >= dt, self.p.v_reset,
                      jnp.where(wait > 0, _free(self.p, self.p.v_reset, i_end, dt - wait),
                                _free(self.p, v, i, dt)))
        return (v, i * jnp.exp(-dt / self.p.tau_syn), since + dt)

    def transition(self, s, spike):
        v, i, since = s
        return (jnp.where(spike.fired, self.p.v_reset, v), i + spike.weight / self.p.tau_syn,
                jnp.where(spike.fired, 0.0, since))


# ----------------------------------------------------------------------------- helpers
def _inputs(seed=0, n_in=4, k=7):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0.0, 0.015, k))
    return snn.Spikes(jnp.asarray(t), jnp.asarray(rng.permutation(np.arange(k) % n_in)))


def _weight(seed=0, n_in=4, n_out=3, mean=3.0):
    rng = np.random.default_rng(seed + 100)
    return jnp.asarray(rng.normal(mean, 1.0, (n_in, n_out)) * W1 / n_in)


def _loss(out):
    """A smooth loss of the output spike times (each neuron weighted differently)."""
    w = 1.0 + out.idx.astype(out.time.dtype)
    return jnp.sum(jnp.where(jnp.isfinite(out.time), w * jnp.sin(100.0 * out.time), 0.0))


def _layer(neuron, w, **kw):
    return event.EventLayer(neuron, w, t_max=T_MAX, max_spikes=24, method="kernel", **kw)


def _check_fd(neuron, w, spikes, h=1e-7):
    """Gradient w.r.t. the weights: finite, and equal to central finite differences."""
    loss = jax.jit(lambda w: _loss(_layer(neuron, w)(spikes)))
    g = np.asarray(jax.jit(jax.grad(lambda w: _loss(_layer(neuron, w)(spikes))))(w))
    assert np.all(np.isfinite(g))
    fd = np.zeros(w.shape)
    for ix in np.ndindex(*w.shape):
        fd[ix] = (loss(w.at[ix].add(h)) - loss(w.at[ix].add(-h))) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-6 * np.max(np.abs(fd)))
    assert np.max(np.abs(fd)) > 0
    return g


def _lif(w, **kw):
    return event.LIF(*w.shape, params=P, t_max=T_MAX, max_spikes=24, weight=w, method="kernel",
                     **kw)


# ----------------------------------------------------------------------------- bool / int leaves
# forward runs compile one program per layer structure (not op by op)
_run = eqx.filter_jit(lambda m, x: m(x))


def test_boolean_fired_flag_matches_single_spike_lif():
    w, s = _weight(), _inputs()
    out = _run(_layer(FlagLIF(), w), s)
    ref = _run(_lif(w, single_spike=True), s)
    assert int(out.count) == 3
    np.testing.assert_array_equal(np.asarray(out.idx), np.asarray(ref.idx))
    np.testing.assert_allclose(np.asarray(out.time), np.asarray(ref.time), rtol=1e-13)
    g = _check_fd(FlagLIF(), w, s)
    g_ref = jax.jit(jax.grad(lambda w: _loss(_lif(w, single_spike=True)(s))))(w)
    np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-12 * np.max(np.abs(g)))


def test_integer_counter_caps_the_lif_spikes():
    w, s = _weight(mean=6.0), _inputs()
    out = _run(_layer(CountLIF(max_count=2), w), s)
    ref = _run(_lif(w, max_spikes_per_neuron=8), s)
    ot, oi, rt, ri = (np.asarray(a) for a in (out.time, out.idx, ref.time, ref.idx))
    assert max(np.sum(ri == j) for j in range(3)) > 2  # the cap matters
    for j in range(3):  # each neuron: the LIF's first two spikes
        np.testing.assert_allclose(ot[oi == j], rt[ri == j][:2], rtol=1e-13)
    _check_fd(CountLIF(max_count=2), w, s)


def test_bool_leaf_in_a_recurrent_population_matches_lif():
    w, s = _weight(), _inputs()
    w_rec = jnp.asarray(np.random.default_rng(3).normal(0.0, 1.0, (3, 3)) * W1)

    def loss(neuron):
        def f(w, w_rec):
            return _loss(event.simulate(neuron, w, s, t_max=T_MAX, max_spikes=24,
                                        weight_rec=w_rec))
        return jax.jit(jax.value_and_grad(f, argnums=(0, 1)))(w, w_rec)

    (val, g), (val_ref, g_ref) = loss(FlagLIF()), loss(event.LIFNeuron(P, single_spike=True))
    np.testing.assert_allclose(val, val_ref, rtol=1e-12)
    for a, b in zip(g, g_ref, strict=True):
        assert np.all(np.isfinite(a)) and np.max(np.abs(a)) > 0
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12 * np.max(np.abs(b)))


# ----------------------------------------------------------------------------- +-inf sentinels
@pytest.mark.parametrize("neuron", slow_beyond([RemainingLIF(free=-jnp.inf),
                                                 SinceLIF(never=jnp.inf)],
                                                ids=["remaining=-inf", "since=+inf"],
                                                keep={"remaining=-inf"}))
def test_infinite_sentinel_gives_exact_gradients(neuron):
    w, s = _weight(mean=6.0), _inputs()
    ref = _run(_lif(w, max_spikes_per_neuron=8), s)
    out = _run(_layer(neuron, w), s)
    assert int(ref.count) > 6  # several spikes per neuron: the refractory period matters
    np.testing.assert_array_equal(np.asarray(out.idx), np.asarray(ref.idx))
    np.testing.assert_allclose(np.asarray(out.time), np.asarray(ref.time), rtol=1e-12)
    g = _check_fd(neuron, w, s)
    # the same as a finite sentinel and as the built-in LIF
    finite = eqx.tree_at(lambda n: n.free if isinstance(n, RemainingLIF) else n.never, neuron,
                         -1e9 if isinstance(neuron, RemainingLIF) else 1e9)
    g_finite = jax.jit(jax.grad(lambda w: _loss(_layer(finite, w)(s))))(w)
    g_lif = jax.jit(jax.grad(lambda w: _loss(_lif(w, max_spikes_per_neuron=8)(s))))(w)
    np.testing.assert_allclose(g, g_finite, rtol=1e-10, atol=1e-12 * np.max(np.abs(g)))
    np.testing.assert_allclose(g, g_lif, rtol=1e-9, atol=1e-12 * np.max(np.abs(g)))


def test_infinite_sentinel_in_a_recurrent_population():
    w, s = _weight(mean=6.0), _inputs()
    w_rec = jnp.asarray(np.random.default_rng(4).normal(0.0, 1.0, (3, 3)) * W1)

    def grads(neuron):
        def f(w, w_rec):
            return _loss(event.simulate(neuron, w, s, t_max=T_MAX, max_spikes=24,
                                        weight_rec=w_rec))
        return jax.jit(jax.grad(f, argnums=(0, 1)))(w, w_rec)

    g, g_ref = grads(RemainingLIF()), grads(event.LIFNeuron(P))
    for a, b in zip(g, g_ref, strict=True):
        assert np.all(np.isfinite(a)) and np.max(np.abs(a)) > 0
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12 * np.max(np.abs(b)))


class SwitchingSentinel(RemainingLIF):
    """Breaks the rule: the sentinel ``-inf`` becomes ``0`` (finite) after a free flow, while a
    huge finite ``r`` would stay huge; the replay cannot differentiate this and says so."""

    def integrate(self, s, dt):
        v, i, r = super().integrate(s, dt)
        return (v, i, jnp.where(jnp.isinf(s[2]), 0.0, r))


def test_sentinel_that_is_not_a_limit_raises():
    w, s = _weight(mean=6.0), _inputs()
    with pytest.raises(Exception, match="finite sentinel"):
        jax.block_until_ready(
            jax.jit(jax.grad(lambda w: _loss(_layer(SwitchingSentinel(), w)(s))))(w))


# ----------------------------------------------------------------------------- EventProp
def test_eventprop_rejects_other_neurons():
    # EventProp is the adjoint of the LIF equations: a custom neuron (or a LIFNeuron subclass
    # that changes the dynamics) must use the default autodiff backward pass instead
    class MyLIF(event.LIFNeuron):
        def integrate(self, state, dt):
            return super().integrate(state, dt)

    w, s = _weight(), _inputs()
    for neuron in (FlagLIF(), MyLIF(P)):
        layer = _layer(neuron, w, backward=eventprop_lif_backward)
        with pytest.raises(TypeError, match="EventProp"):
            jax.grad(lambda w, layer=layer: _loss(eqx.tree_at(lambda m: m.weight, layer, w)(s)))(w)
