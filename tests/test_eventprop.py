"""EventProp (`event.EventPropLIF`, `event.RecurrentEventPropLIF`, `event.eventprop_backward`).

References: autodiff through the analytical forward (`event.LIF`, implicit function theorem at
every spike time) and central finite differences of the independent scipy ODE reference
(`tests/test_event_reference.py`). Everything in float64 (conftest turns x64 on).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sweeps import slow_beyond
from test_event_reference import lif_population

import jaxsnn_eqx as snn
from jaxsnn_eqx import event

RTOL = 1e-6  # float64 parity with autodiff (the contract in DESIGN.md)


def rel_err(ref, got) -> float:
    ref, got = np.asarray(ref), np.asarray(got)
    scale = np.abs(ref).max()
    assert scale > 0, "reference gradient is identically zero: the test would be vacuous"
    return float(np.abs(ref - got).max() / scale)


def time_loss(coef):
    """A loss on every output spike time with random coefficients (unused slots ignored)."""

    def loss(out: snn.Spikes):
        ok = jnp.isfinite(out.time)
        return jnp.sum(jnp.where(ok, coef[: out.size] * jnp.where(ok, out.time, 0.0), 0.0))

    return loss


def random_input(key, n_in, n, t_hi):
    k1, k2 = jax.random.split(key)
    t = jnp.sort(jax.random.uniform(k1, (n,), minval=0.0, maxval=t_hi))
    return snn.Spikes(t, jax.random.randint(k2, (n,), 0, n_in))


def twin_stacks(params, sizes, key, *, t_max, max_spikes, init=(2.5, 1.5), single_spike=False):
    """The same random weights as an `event.LIF` stack and an `event.EventPropLIF` stack."""
    keys = jax.random.split(key, len(sizes) - 1)
    lifs = [
        event.LIF(a, b, params=params, t_max=t_max, max_spikes=max_spikes, key=k,
                  init_mean=init[0], init_std=init[1], single_spike=single_spike)
        for a, b, k in zip(sizes[:-1], sizes[1:], keys, strict=True)
    ]
    return snn.Sequential(lifs), snn.Sequential([event.EventPropLIF.from_lif(lf) for lf in lifs])


@eqx.filter_jit
@eqx.filter_grad
def _grad_time_loss(net_and_times, idx, coef):
    net, times = net_and_times
    return time_loss(coef)(net(snn.Spikes(times, idx)))


# forward runs compile one program per network structure (not op by op; the point of these
# tests is the gradients, whose reference runs compiled too)
_run = eqx.filter_jit(lambda net, spikes: net(spikes))
_trace = eqx.filter_jit(lambda net, spikes: net.trace(spikes))


def grads(net, spikes, loss_or_coef):
    """Gradients of a loss of ``net(spikes)`` w.r.t. the network and the input spike times.

    ``loss_or_coef``: coefficients of `time_loss` (one compiled function per network structure,
    shared between tests) or any loss of the output `Spikes`."""
    if callable(loss_or_coef):
        f = lambda net_t: loss_or_coef(net_t[0](snn.Spikes(net_t[1], spikes.idx)))
        return eqx.filter_jit(eqx.filter_grad(f))((net, spikes.time))
    return _grad_time_loss((net, spikes.time), spikes.idx, loss_or_coef)


# ----------------------------------------------------------------------------- layered parity
def _params(**kw):
    # array-valued parameters: the cases share one compiled gradient function per structure
    return event.LIFParams(**{k: jnp.asarray(v) for k, v in kw.items()})


LAYERED_CASES = {
    # sizes, params, t_max: several spikes per neuron, refractory periods, tau ratios != 2
    "3-layer ratio 3.03 refractory": (
        [6, 10, 8, 4],
        _params(tau_mem=1e-2, tau_syn=3.3e-3, v_th=1.0, v_reset=-0.1, v_leak=0.0,
                t_refrac=1.5e-3),
        3e-2,
        (2.5, 1.5),
    ),
    "3-layer ratio 1 (tm = ts) refractory, leak offset": (
        [6, 10, 8, 4],
        _params(tau_mem=5e-3, tau_syn=5e-3, v_th=0.9, v_reset=-0.3, v_leak=-0.1,
                t_refrac=2e-3),
        3e-2,
        (2.5, 1.5),
    ),
    "2-layer ratio 1.6 no refractory": (
        [5, 12, 3],
        _params(tau_mem=8e-3, tau_syn=5e-3, v_th=1.0, v_reset=0.0, v_leak=0.0, t_refrac=0.0),
        2e-2,
        (1.2, 0.8),
    ),
}


# the default run keeps the 2-layer case (the first layer's gradient only through the input
# times of the layer above); the 3-layer cases (refractoriness, tm = ts) run under -m slow
@pytest.mark.parametrize(
    "case", slow_beyond(sorted(LAYERED_CASES), keep={"2-layer ratio 1.6 no refractory"}))
def test_sequential_matches_autodiff_last_layer_loss(case):
    """Loss on the last layer only: every layer's weight gradient, including the first (which
    only receives its gradient through the input spike times of the layers above), and the
    network input times match autodiff through the analytical LIF stack."""
    sizes, params, t_max, init = LAYERED_CASES[case]
    key = jax.random.PRNGKey(sum(map(ord, case)) % 1000)
    k_net, k_in, k_c = jax.random.split(key, 3)
    ref, ep = twin_stacks(params, sizes, k_net, t_max=t_max, max_spikes=128, init=init)
    spikes = random_input(k_in, sizes[0], 14, 0.5 * t_max)
    loss = jax.random.normal(k_c, (128,))

    outs = _trace(ref, spikes)
    counts = [np.asarray(o.counts(s)) for o, s in zip(outs, sizes[1:], strict=True)]
    assert all(c.max() >= 3 for c in counts), f"want several spikes per neuron, got {counts}"

    g_ref, t_ref = grads(ref, spikes, loss)
    g_ep, t_ep = grads(ep, spikes, loss)
    for i in range(len(sizes) - 1):
        assert rel_err(g_ref.layers[i].weight, g_ep.layers[i].weight) < RTOL, f"layer {i}"
    assert rel_err(t_ref, t_ep) < RTOL


@pytest.mark.slow
def test_first_layer_gradient_through_three_layers():
    """The case that breaks in the original jaxsnn: a 3-layer EventProp stack, loss on the
    first spike of each output neuron (a TTFS loss), check only the first layer's gradient."""
    params = event.LIFParams(tau_mem=1.2e-2, tau_syn=4e-3, v_th=1.0, v_reset=0.0, t_refrac=1e-3)
    ref, ep = twin_stacks(params, [5, 16, 12, 3], jax.random.PRNGKey(7), t_max=3e-2,
                          max_spikes=128)
    spikes = random_input(jax.random.PRNGKey(8), 5, 10, 1.2e-2)

    def loss(out):
        t = event.losses.first_spike_times(out, 3)
        return event.losses.ttfs_cross_entropy(t, 1, tau=4e-3, t_silent=3e-2)

    assert np.all(np.isfinite(np.asarray(event.losses.first_spike_times(_run(ref, spikes), 3))))
    g_ref, _ = grads(ref, spikes, loss)
    g_ep, _ = grads(ep, spikes, loss)
    assert rel_err(g_ref.layers[0].weight, g_ep.layers[0].weight) < RTOL


@pytest.mark.slow
def test_forward_identical_and_batched():
    """Same forward as `event.LIF`; batched with vmap, gradients still match."""
    params = event.LIFParams(tau_mem=1e-2, tau_syn=5e-3, t_refrac=1e-3)
    ref, ep = twin_stacks(params, [5, 7, 3], jax.random.PRNGKey(3), t_max=2e-2, max_spikes=64)
    keys = jax.random.split(jax.random.PRNGKey(4), 4)
    batch = jax.vmap(lambda k: random_input(k, 5, 8, 1e-2))(keys)
    o_ref, o_ep = jax.vmap(ref)(batch), jax.vmap(ep)(batch)
    np.testing.assert_array_equal(o_ref.time, o_ep.time)
    np.testing.assert_array_equal(o_ref.idx, o_ep.idx)

    def loss(net):
        t = jax.vmap(lambda s: event.losses.first_spike_times(net(s), 3))(batch)
        return jnp.sum(jnp.where(jnp.isfinite(t), t, 0.0) * jnp.arange(1.0, 4.0))

    g_ref, g_ep = eqx.filter_grad(loss)(ref), eqx.filter_grad(loss)(ep)
    for i in range(2):
        assert rel_err(g_ref.layers[i].weight, g_ep.layers[i].weight) < RTOL


# ----------------------------------------------------------------------------- recurrent
def _recurrent_pair(key, params, n_in=4, size=6, *, mask=None, max_spikes=96):
    rec = event.RecurrentEventPropLIF(n_in, size, params=params, t_max=3e-2, max_spikes=max_spikes,
                                      key=key, init_mean=3.0, init_std=1.5, rec_init_std=3.0,
                                      mask=mask)
    w_in, w_rec = rec.effective_weights
    ref = snn.Recurrent(event.LIF(n_in, size, params=params, t_max=3e-2, max_spikes=max_spikes,
                                  weight=w_in), w_rec, mask=mask)
    return rec, ref


def test_recurrent_matches_autodiff_including_parameters():
    """Recurrent population, per-neuron thresholds: weights, input times and the array-valued
    v_th, v_reset, v_leak, t_refrac all match autodiff through the analytical forward."""
    params = event.LIFParams(
        tau_mem=8e-3, tau_syn=jnp.array(5e-3), v_th=jnp.array([1.0, 1.1, 0.9, 1.0, 1.05, 0.95]),
        v_reset=jnp.array(-0.1), v_leak=jnp.array(0.05), t_refrac=jnp.array(1e-3),
    )
    rec, ref = _recurrent_pair(jax.random.PRNGKey(1), params)
    spikes = random_input(jax.random.PRNGKey(2), 4, 10, 1.5e-2)
    loss = jax.random.normal(jax.random.PRNGKey(3), (96,))
    out = _run(rec, spikes)
    assert int(out.count) > 30 and int(out.counts(6).max()) >= 3

    g_ep, t_ep = grads(rec, spikes, loss)
    g_ref, t_ref = grads(ref, spikes, loss)
    assert rel_err(g_ref.layer.weight, g_ep.weight_in) < RTOL
    assert rel_err(g_ref.weight_rec, g_ep.weight_rec) < RTOL
    assert rel_err(t_ref, t_ep) < RTOL
    for name in ("v_th", "v_reset", "v_leak", "t_refrac"):
        assert rel_err(getattr(g_ref.layer.params, name), getattr(g_ep.params, name)) < RTOL, name


# the default run keeps "auto" (the layer's default, stage by stage); "kernel" runs with -m slow
@pytest.mark.parametrize("method", slow_beyond(["kernel", "auto"], keep={"auto"}))
def test_recurrent_mask_emulates_two_layers(method):
    """A masked population (hidden -> output only) gives the gradients of the equivalent
    2-layer `event.LIF` stack, and zero gradient on masked-out weights: through the one event
    loop (``kernel``) and stage by stage (``auto``, `event.stages`)."""
    n_in, h, o = 5, 8, 3
    size = h + o
    params = event.LIFParams(tau_mem=1e-2, tau_syn=4e-3, t_refrac=5e-4)
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(11), 3)
    w1 = event.lif_weight_scale(params)
    w_in = 0.4 * w1 * (1.5 + jax.random.normal(k1, (n_in, size)))
    w_ho = 0.5 * w1 * (1.0 + jax.random.normal(k2, (h, o)))
    mask_in = jnp.zeros((n_in, size), bool).at[:, :h].set(True)
    mask = jnp.zeros((size, size), bool).at[:h, h:].set(True)
    rec = event.RecurrentEventPropLIF(
        n_in, size, params=params, t_max=3e-2, max_spikes=128, mask=mask, mask_in=mask_in,
        weight_in=w_in, weight_rec=jnp.zeros((size, size)).at[:h, h:].set(w_ho), method=method,
    )
    assert (rec.stages is None) == (method == "kernel")
    stack = snn.Sequential([
        event.LIF(n_in, h, params=params, t_max=3e-2, max_spikes=128, weight=w_in[:, :h]),
        event.LIF(h, o, params=params, t_max=3e-2, max_spikes=128, weight=w_ho),
    ])
    spikes = random_input(k3, n_in, 8, 1e-2)
    coef = jnp.array([1.0, -2.0, 0.5])

    def loss_rec(m):
        return jnp.sum(coef * event.losses.finite_times(
            event.losses.first_spike_times(m(spikes), size)[h:], 3e-2))

    def loss_stack(m):
        return jnp.sum(coef * event.losses.finite_times(
            event.losses.first_spike_times(m(spikes), o), 3e-2))

    assert np.all(np.isfinite(event.losses.first_spike_times(_run(stack, spikes), o)))
    g_rec = eqx.filter_jit(eqx.filter_grad(loss_rec))(rec)
    g_stack = eqx.filter_jit(eqx.filter_grad(loss_stack))(stack)
    assert rel_err(g_stack.layers[0].weight, g_rec.weight_in[:, :h]) < RTOL
    assert rel_err(g_stack.layers[1].weight, g_rec.weight_rec[:h, h:]) < RTOL
    assert np.all(np.asarray(g_rec.weight_in)[:, h:] == 0)
    assert np.all(np.asarray(g_rec.weight_rec)[~np.asarray(mask)] == 0)


def test_recurrent_finite_differences_independent_reference():
    """Central finite differences of the scipy ODE reference (no shared code) on a small
    recurrent net with refractoriness: weights, recurrent weights and input spike times."""
    params = dict(tau_mem=1e-2, tau_syn=3.7e-3, v_th=1.0, v_reset=-0.2, v_leak=0.1,
                  t_refrac=2e-3)
    p = event.LIFParams(**params)
    rng = np.random.default_rng(3)
    n_in, n, t_max = 3, 3, 2.5e-2
    in_t = np.sort(rng.uniform(0, 1.2e-2, 6))
    in_i = rng.integers(0, n_in, 6)
    w_in = rng.normal(0.06, 0.03, (n_in, n))
    w_rec = rng.normal(0.0, 0.03, (n, n))
    out_t, out_i = lif_population(params, w_in, in_t, in_i, t_max, w_rec=w_rec)
    m = len(out_t)
    assert m >= 6 and np.bincount(out_i, minlength=n).max() >= 2
    coef = rng.normal(size=m)

    def ref_loss(w_in, w_rec, in_t):
        t, i = lif_population(params, w_in, in_t, in_i, t_max, w_rec=w_rec)
        assert len(t) == m and np.array_equal(i, out_i), "perturbation changed the spike train"
        return float(coef @ t)

    rec = event.RecurrentEventPropLIF(n_in, n, params=p, t_max=t_max, max_spikes=32,
                                      weight_in=w_in, weight_rec=w_rec)
    loss = jnp.asarray(np.concatenate([coef, np.zeros(32 - m)]))
    spikes = snn.Spikes(jnp.asarray(in_t), jnp.asarray(in_i, jnp.int32))
    out = _run(rec, spikes)
    np.testing.assert_allclose(np.asarray(out.time[:m]), out_t, rtol=1e-9)
    g, g_t = grads(rec, spikes, loss)

    def fd(f, x, h):
        d = np.zeros_like(x)
        for ix in np.ndindex(x.shape):
            xp, xm = x.copy(), x.copy()
            xp[ix] += h
            xm[ix] -= h
            d[ix] = (f(xp) - f(xm)) / (2 * h)
        return d

    # FD accuracy: O(h^2) truncation plus (ODE precision ~1e-15 s) / h rounding: ~1e-8 relative
    assert rel_err(fd(lambda w: ref_loss(w, w_rec, in_t), w_in, 1e-6), g.weight_in) < 1e-6
    assert rel_err(fd(lambda w: ref_loss(w_in, w, in_t), w_rec, 1e-6), g.weight_rec) < 1e-6
    assert rel_err(fd(lambda t: ref_loss(w_in, w_rec, t), in_t, 1e-8), g_t) < 1e-6


# ----------------------------------------------------------------------------- simultaneous
def test_simultaneous_input_spikes():
    """Equal input times (several inputs at one instant, one input neuron twice at one instant,
    as BSS-2's 8 ns clock produces): exact gradients, equal to autodiff and, for each input time
    perturbed alone (the jumps commute, so no kink), to finite differences."""
    params = dict(tau_mem=1e-2, tau_syn=5e-3, v_th=1.0, v_reset=0.0, v_leak=0.0, t_refrac=1e-3)
    p = event.LIFParams(**params)
    in_t = np.array([1e-3, 2e-3, 2e-3, 2e-3, 4e-3, 4e-3, 6e-3])
    in_i = np.array([0, 1, 2, 1, 0, 3, 2])
    rng = np.random.default_rng(0)
    w = rng.normal(0.012, 0.006, (4, 3))
    lif = event.LIF(4, 3, params=p, t_max=2.5e-2, max_spikes=32, weight=w)
    ep = event.EventPropLIF.from_lif(lif)
    spikes = snn.Spikes(jnp.asarray(in_t), jnp.asarray(in_i, jnp.int32))
    out_t, out_i = lif_population(params, w, in_t, in_i, 2.5e-2)
    m = len(out_t)
    assert 4 <= m <= 32
    coef = rng.normal(size=m)
    loss = jnp.asarray(np.concatenate([coef, np.zeros(32 - m)]))
    g_ref, t_ref = grads(lif, spikes, loss)
    g_ep, t_ep = grads(ep, spikes, loss)
    assert rel_err(g_ref.weight, g_ep.weight) < RTOL
    assert rel_err(t_ref, t_ep) < RTOL

    def ref_loss(t):
        tt, ii = lif_population(params, w, t, in_i, 2.5e-2)
        assert len(tt) == m and np.array_equal(ii, out_i)
        return float(coef @ tt)

    h = 1e-8
    fd = np.array([(ref_loss(in_t + h * e) - ref_loss(in_t - h * e)) / (2 * h)
                   for e in np.eye(len(in_t))])
    assert rel_err(fd, t_ep) < 1e-6


@pytest.mark.parametrize("method", slow_beyond(["kernel", "auto"], keep={"auto"}))
def test_simultaneous_spikes_among_neurons(method):
    """Two hidden neurons with identical input weights spike at exactly the same times; the
    next layer receives simultaneous inputs. Layered and recurrent (masked) EventProp match
    autodiff through the analytical forward (which processes the equal spikes in the same
    order)."""
    params = event.LIFParams(tau_mem=1e-2, tau_syn=4e-3, t_refrac=1e-3)
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(5), 3)
    w1 = 0.02 * (2.5 + jax.random.normal(k1, (4, 6)))
    w1 = w1.at[:, 3].set(w1[:, 1])  # neurons 1 and 3 identical
    w2 = 0.01 * (2.0 + jax.random.normal(k2, (6, 2)))
    spikes = random_input(k3, 4, 6, 8e-3)
    l1 = event.LIF(4, 6, params=params, t_max=2.5e-2, max_spikes=64, weight=w1)
    l2 = event.LIF(6, 2, params=params, t_max=2.5e-2, max_spikes=64, weight=w2)
    hidden = _run(l1, spikes)
    t1 = np.asarray(hidden.time)[np.asarray(hidden.idx) == 1]
    t3 = np.asarray(hidden.time)[np.asarray(hidden.idx) == 3]
    assert len(t1) >= 2 and np.array_equal(t1, t3), "setup: equal spike times wanted"
    ref = snn.Sequential([l1, l2])
    ep = snn.Sequential([event.EventPropLIF.from_lif(l1), event.EventPropLIF.from_lif(l2)])
    loss = jax.random.normal(jax.random.PRNGKey(6), (64,))
    g_ref, t_ref = grads(ref, spikes, loss)
    g_ep, t_ep = grads(ep, spikes, loss)
    for i in range(2):
        assert rel_err(g_ref.layers[i].weight, g_ep.layers[i].weight) < RTOL
    assert rel_err(t_ref, t_ep) < RTOL

    # the same network as one masked recurrent population
    size = 8
    mask = jnp.zeros((size, size), bool).at[:6, 6:].set(True)
    w_in = jnp.zeros((4, size)).at[:, :6].set(w1)
    w_rec = jnp.zeros((size, size)).at[:6, 6:].set(w2)
    rec = event.RecurrentEventPropLIF(4, size, params=params, t_max=2.5e-2, max_spikes=96,
                                      weight_in=w_in, weight_rec=w_rec, mask=mask,
                                      method=method)
    ref_rec = snn.Recurrent(event.LIF(4, size, params=params, t_max=2.5e-2, max_spikes=96,
                                      weight=w_in), w_rec, mask=mask)
    loss_r = jax.random.normal(jax.random.PRNGKey(7), (96,))
    g_ep, t_ep = grads(rec, spikes, loss_r)
    g_ref, t_ref = grads(ref_rec, spikes, loss_r)
    assert rel_err(g_ref.layer.weight, g_ep.weight_in) < RTOL
    assert rel_err(g_ref.weight_rec * mask, g_ep.weight_rec) < RTOL
    assert rel_err(t_ref, t_ep) < RTOL


# ----------------------------------------------------------------------------- single spike
@pytest.mark.parametrize("ratio", [1.0, 1.7, 2.0])
def test_single_spike_closed_form_equals_the_adjoint_sweep(ratio):
    """Feed-forward single-spike layers take the closed-form adjoint (every input-neuron pair
    at once); it equals the general backward sweep over the merged events, with per-neuron
    parameters, equal input times, padding, a silent neuron, an input after t_max and one input
    at exactly a neuron's spike time (which comes after the spike: not felt)."""
    from jaxsnn_eqx.event.eventprop import adjoint_sweep, eventprop_backward

    eventprop_backward, adjoint_sweep = map(eqx.filter_jit, (eventprop_backward, adjoint_sweep))
    rng = np.random.default_rng(int(10 * ratio))
    n_in, n, t_max = 5, 9, 2e-2
    ts = jnp.asarray(4e-3 * (1 + 0.1 * rng.uniform(-1, 1, n)))
    p = event.LIFParams(tau_mem=ratio * ts, tau_syn=ts, v_th=jnp.asarray(1.0 + 0.1 * rng.uniform(
        -1, 1, n)), v_leak=jnp.asarray(-0.05))
    w = jnp.asarray(rng.normal(1.5, 1.0, (n_in, n))) * event.lif_weight_scale(
        event.LIFParams(tau_mem=ratio * 4e-3, tau_syn=4e-3))
    w = w.at[:, -1].set(-w[:, -1] ** 2)  # last neuron silent
    t = np.sort(rng.uniform(0.0, 0.5 * t_max, 12))
    t[4] = t[3]
    t[-1] = 1.2 * t_max
    idx = rng.integers(0, n_in, 12)
    lif = event.LIF(n_in, n, params=p, t_max=t_max, max_spikes=n, weight=w, single_spike=True)
    first = np.asarray(_run(lif, snn.Spikes(jnp.asarray(t), jnp.asarray(idx))).time)
    # one more input exactly at the earliest spike time
    t_ins = np.sort(np.append(t, first[0]))
    idx_ins = np.insert(idx, int(np.searchsorted(t, first[0])), 0)
    spikes = snn.Spikes(jnp.concatenate([jnp.asarray(t_ins), jnp.full((2,), jnp.inf)]),
                        jnp.concatenate([jnp.asarray(idx_ins), jnp.full((2,), -1)]))
    out = _run(lif, spikes)
    assert out.time[0] == first[0]
    fired = int(np.isfinite(np.asarray(out.time)).sum())
    assert 3 <= fired < n
    ct = jnp.asarray(rng.normal(size=n)).at[1].set(0.0)  # one spike without a gradient
    closed = eventprop_backward(p, w, None, spikes, out, ct, t_max, single_spike=True)
    sweep = adjoint_sweep(p, w, None, spikes, out, ct, t_max, single_spike=True)
    for name in ("weight", "in_time", "v_th", "v_reset", "t_refrac"):
        a, b = np.asarray(getattr(sweep, name)), np.asarray(getattr(closed, name))
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12 * np.abs(a).max(), err_msg=name)
    assert np.abs(np.asarray(closed.weight)).max() > 0
    # a loss on the earliest spike only: the input at exactly that time has no influence
    ct0 = jnp.zeros((n,)).at[0].set(1.0)
    g_t = np.asarray(eventprop_backward(p, w, None, spikes, out, ct0, t_max,
                                        single_spike=True).in_time)
    tie = int(np.searchsorted(t_ins, first[0]))
    assert g_t[tie] == 0.0 and np.all(g_t[:tie] != 0.0)


# ----------------------------------------------------------------------------- API
def test_api_fields_and_errors():
    p = event.LIFParams(tau_mem=1e-2, tau_syn=5e-3)
    key = jax.random.PRNGKey(0)
    ep = event.EventPropLIF(5, 7, params=p, t_max=2e-2, max_spikes=32, key=key)
    lif = event.LIF(5, 7, params=p, t_max=2e-2, max_spikes=32, key=key)
    np.testing.assert_array_equal(ep.weight, lif.weight)  # same init
    assert ep.weight.shape == (5, 7) and ep.params is p
    rec = event.RecurrentEventPropLIF(in_size=5, size=9, params=p, t_max=2e-2, max_spikes=64,
                                      key=key)
    assert rec.weight_in.shape == (5, 9) and rec.weight_rec.shape == (9, 9)
    out = _run(rec, random_input(jax.random.PRNGKey(1), 5, 5, 1e-2))
    assert out.time.shape == (64,)
    with pytest.raises(ValueError):
        event.RecurrentEventPropLIF(5, 9, params=p, t_max=2e-2, max_spikes=8, key=key,
                                    mask=jnp.ones((3, 3)))
    # too small an output buffer raises instead of dropping spikes
    small = event.EventPropLIF(5, 7, params=p, t_max=2e-2, max_spikes=1, key=key, init_mean=6.0)
    with pytest.raises(Exception, match="max_spikes"):
        jax.block_until_ready(_run(small, random_input(jax.random.PRNGKey(1), 5, 5, 1e-2)).time)


# ----------------------------------------------------------------------------- task
@pytest.mark.slow
@pytest.mark.parametrize("extra", [[], ["--layered"]])
def test_yinyang_eventprop_task_reaches_96_percent(tmp_path, extra):
    """The task with its defaults and seed 0, run as from the command line (float32)."""
    import json
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "jaxsnn_eqx.event.tasks.yinyang_event_prop", "--out",
           str(tmp_path), "--no-progress", *extra]
    subprocess.run(cmd, check=True)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["test_accuracy"] >= 0.96
    assert (tmp_path / "model.eqx").exists()


def test_refractory_end_tie_search_matches_all_pairs_rule():
    """The backward pass orders a refractory end just before a later spike of the same neuron at
    exactly that time. `_next_spike_at` finds that spike by binary search (O(m) memory); here it
    is checked against the all-pairs rule written in numpy, on lists full of ties, repeated
    neurons, invalid slots (index -1, infinite times) and unsorted times."""
    from jaxsnn_eqx.event.eventprop import _next_spike_at
    from jaxsnn_eqx.spikes import Spikes

    search = jax.jit(_next_spike_at)
    rng = np.random.default_rng(0)
    grid = np.array([0.0, 0.1, 0.2, 0.3, 0.4, np.inf])
    for trial in range(200):
        m = (1, 2, 7, 8, 40)[trial % 5]  # a few sizes (each compiles once)
        t = rng.choice(grid, size=m)
        idx = rng.integers(-1, 4, size=m)
        t_end = np.where(rng.random(m) < 0.7, rng.choice(grid, size=m), t + 0.1)
        ok = np.isfinite(t) & (idx >= 0)
        same = ((t_end[:, None] == t[None, :]) & (np.arange(m)[None, :] > np.arange(m)[:, None])
                & ok[None, :] & (idx[:, None] == idx[None, :]))
        found, spike = search(Spikes(time=jnp.asarray(t), idx=jnp.asarray(idx, jnp.int32)),
                              jnp.asarray(ok), jnp.asarray(t_end))
        np.testing.assert_array_equal(found, same.any(axis=1))
        np.testing.assert_array_equal(spike, np.where(same.any(axis=1), same.argmax(axis=1), 0))
