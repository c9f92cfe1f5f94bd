"""Property-based tests (hypothesis): random small networks, `Spikes` helpers, encoders.

* random feed-forward, single-spike and recurrent LIF networks (sizes, tau ratios from 0.1 to
  10, refractory periods, thresholds, resets, inputs on a 1 ms grid so that equal times are
  common, inputs at t = 0) against the independent float64 ODE reference;
* EventProp gradients equal autodiff through the analytical forward (relative 1e-6);
* the `Spikes` helpers keep every spike and its order;
* the latency encoders round-trip.

Profiles (``HYPOTHESIS_PROFILE``): ``fast`` (the default: 12 examples per test, derandomised,
so the default run is reproducible) and ``slow`` (300 random examples). JAX compiles per shape,
so the networks' shapes come from a small set (`SHAPES`); one of them is `test_corners`' shape,
whose compiled functions are shared with that file.
"""

from __future__ import annotations

import os

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import test_corners as corners
from hypothesis import HealthCheck, Phase, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_corners import Case, build, reference, rel_err, run

import jaxsnn_eqx as snn
from jaxsnn_eqx import data, discrete

# no "explain" phase: its line tracing slows the pure-Python ODE reference down ~100x
_PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]
_HEALTH = [HealthCheck.too_slow, HealthCheck.filter_too_much]
settings.register_profile("fast", max_examples=12, deadline=None, derandomize=True,
                          database=None, phases=_PHASES, suppress_health_check=_HEALTH)
settings.register_profile("slow", max_examples=300, deadline=None, phases=_PHASES,
                          suppress_health_check=_HEALTH)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))

T_MAX = corners.T_MAX
# (n_in, n, input slots, max_spikes); the first is test_corners' configuration (shared compiles)
SHAPES = [(4, 3, corners.K, corners.M), (2, 5, 12, 40)]


# ----------------------------------------------------------------------------- networks
@st.composite
def networks(draw, recurrent=False, shapes=SHAPES):
    """A random `test_corners.Case` and its max_spikes."""
    n_in, n, k_slots, max_spikes = draw(st.sampled_from(shapes))
    ratio = draw(st.one_of(st.sampled_from([1.0, 2.0]),
                           st.floats(np.log(0.1), np.log(10.0)).map(np.exp)))
    # recurrent: refractory (no t_refrac = 0: an excitatory avalanche makes the reference slow)
    refrac = [1e-3, 4e-3] if recurrent else [0.0, 1e-3, 4e-3]
    prm = corners._prm(float(ratio), t_refrac=draw(st.sampled_from(refrac)),
               v_th=draw(st.sampled_from([0.8, 1.0, 1.3])),
               v_reset=draw(st.sampled_from([-0.3, 0.0, 0.3])))
    # off the "nice" multiples of w1 that hypothesis favours (1.0 w1 is a tangential peak,
    # which the ODE reference may or may not detect: that corner is in test_corners)
    # Neurons are made distinct (a factor per neuron): identical neurons of a recurrent
    # population cross at exactly the same instant, and the ODE reference, which restarts its
    # integration at every spike, misses a crossing that starts at the restart (the kernel fires
    # them all: test_event_kernel's simultaneous-crossings test).
    w1 = corners._w1(prm) * (1 + 1 / (1000 * np.pi)) * (1 + np.arange(n) / (100 * np.e))
    w = draw(hnp.arrays(np.float64, (n_in, n), elements=st.floats(-0.6, 2.0))) * w1
    w_rec = (draw(hnp.arrays(np.float64, (n, n), elements=st.floats(-0.8, 0.8))) * w1
             if recurrent else np.zeros((n, n)))
    k = draw(st.integers(3, 10))
    # a 1 ms grid: equal input times are common, t = 0 occurs
    t = np.sort(np.asarray(draw(st.lists(st.integers(0, 20), min_size=k, max_size=k)))) * 1e-3
    i = np.asarray(draw(st.lists(st.integers(0, n_in - 1), min_size=k, max_size=k)))
    tt, ii = np.full(k_slots, np.inf), np.full(k_slots, -1)
    tt[:k], ii[:k] = t, i
    return Case(prm, w, w_rec, tt, ii, "fires"), max_spikes


def _reference_within(path, case, max_spikes):
    rt, ri = reference(path, case)
    assume(len(rt) <= max_spikes)  # a buffer overflow raises: tested in test_corners
    return rt, ri


_fwd = eqx.filter_jit(lambda state, idx: state[0](snn.Spikes(state[1], idx)))


def forward(path, case, max_spikes):
    if max_spikes == corners.M and case.t.shape[0] == corners.K:
        return run(path, case, "float64")[2]  # test_corners' compiled function
    state = build(path, case, jnp.float64, max_spikes=max_spikes)
    return _fwd(state, jnp.asarray(case.i, jnp.int32))


def _spike_count_bucket(n):  # shown by --hypothesis-show-statistics
    return "spikes: " + ("0" if n == 0 else "1-4" if n < 5 else "5+")


def _slopes(case, t_out, i_out):
    """``du/dt`` at each output spike (in units of ``theta / tau_mem``), from the summed input
    (and recurrent) currents: near 0 for a crossing that barely touches threshold."""
    prm = case.prm
    theta = prm["v_th"] - prm["v_leak"]
    ts = prm["tau_syn"]
    real = np.isfinite(case.t)
    out = []
    for t, j in zip(t_out, i_out, strict=True):
        before = real & (case.t < t)
        cur = np.sum(case.w[case.i[before], j] / ts * np.exp(-(t - case.t[before]) / ts))
        rec = t_out < t
        cur += np.sum(case.w_rec[i_out[rec], j] / ts * np.exp(-(t - t_out[rec]) / ts))
        out.append((cur - theta) / theta)
    return np.asarray(out)


def _assert_same_spikes(out, rt, ri, case):
    t, i = np.asarray(out.time), np.asarray(out.idx)
    real = np.isfinite(t)
    # The ODE reference detects a crossing by a sign change across one solver step: it misses
    # one whose excursion above threshold is shorter (a peak a fraction of a percent above it),
    # and a neuron at threshold when another's spike restarts the integration. Examples with a
    # near-tangential crossing in either list are left out (that corner: test_corners).
    near = np.concatenate([_slopes(case, t[real], i[real]), _slopes(case, rt, ri)])
    assume(not np.any(near < 0.1))
    event(_spike_count_bucket(len(rt)))
    assert real.sum() == len(rt), (real.sum(), len(rt))
    np.testing.assert_array_equal(i[~real], -1)
    assert np.all(t[real][:-1] <= t[real][1:])
    if len(rt):
        # identical neurons spike at exactly equal times, in index order; the ODE reference
        # separates them by rounding noise: compare in (time to 1e-12 s, index) order
        key = lambda tt, ii: np.lexsort((ii, np.round(np.asarray(tt) / 1e-12)))
        a, b = key(t[real], i[real]), key(rt, ri)
        np.testing.assert_array_equal(i[real][a], ri[b])
        assert np.max(np.abs(t[real][a] - rt[b])) <= 1e-9 * T_MAX


@pytest.mark.slow  # property-based, many examples (CI runs -m slow)
@PROFILE
@given(net=networks())
@pytest.mark.parametrize("path", ["kernel", "parallel"])
def test_feedforward_spike_times_match_reference(path, net):
    case, max_spikes = net
    max_spikes = case.w.shape[1] if path == "parallel" else max_spikes
    rt, ri = _reference_within(path, case, max_spikes)
    _assert_same_spikes(forward(path, case, max_spikes), rt, ri, case)


@pytest.mark.slow  # property-based, many examples (CI runs -m slow)
@PROFILE
@given(net=networks(recurrent=True))
def test_recurrent_spike_times_match_reference(net):
    case, max_spikes = net
    rt, ri = _reference_within("recurrent", case, max_spikes)
    _assert_same_spikes(forward("recurrent", case, max_spikes), rt, ri, case)


@pytest.mark.slow  # property-based, many examples (CI runs -m slow)
@PROFILE
@given(net=networks(recurrent=True, shapes=SHAPES[:1]))
@pytest.mark.parametrize("path", ["eventprop", "eventprop_single", "recurrent"])
def test_eventprop_gradients_equal_autodiff(path, net):
    """EventProp (weights, recurrent weights, input times, v_th, v_reset, v_leak, t_refrac)
    equals autodiff through the analytical forward; the forward passes are identical."""
    case, max_spikes = net
    if path != "recurrent":
        case = case._replace(w_rec=np.zeros_like(case.w_rec))
    try:
        _, _, out, _, g = run(path, case, "float64")
    except Exception as e:  # a buffer overflow raises: tested in test_corners
        if "max_spikes" not in str(e):
            raise
        assume(False)
    event(_spike_count_bucket(int(np.isfinite(np.asarray(out.time)).sum())))
    _, _, out_t, _, g_t = run(corners.TWIN[path], case, "float64")
    np.testing.assert_array_equal(np.asarray(out.idx), np.asarray(out_t.idx))
    np.testing.assert_array_equal(np.asarray(out.time), np.asarray(out_t.time))
    for name in g:
        assert np.all(np.isfinite(g[name])), name
        if name not in ("tau_mem", "tau_syn"):  # constants for EventProp
            assert rel_err(g_t[name], g[name]) < 1e-6, (name, g_t[name], g[name])


# ----------------------------------------------------------------------------- Spikes helpers
SIZES = [1, 3, 6]


@st.composite
def spike_lists(draw, size=None, n_neurons=5):
    """Unsorted (time, idx) arrays: times on a coarse grid (ties) or inf (unused, idx -1)."""
    n = draw(st.sampled_from(SIZES)) if size is None else size
    t = np.asarray(draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, np.inf]),
                                 min_size=n, max_size=n)))
    i = np.asarray(draw(st.lists(st.integers(0, n_neurons - 1), min_size=n, max_size=n)))
    return t, np.where(np.isfinite(t), i, -1)


def _events(t, i):
    """The real events in (time, then original position) order: what a stable sort gives."""
    keep = np.isfinite(t)
    order = np.argsort(np.where(keep, t, np.inf), kind="stable")
    return [(float(t[k]), int(i[k])) for k in order if keep[k]]


def _as_list(s: snn.Spikes):
    t, i = np.asarray(s.time), np.asarray(s.idx)
    return [(float(a), int(b)) for a, b in zip(t, i, strict=True) if np.isfinite(a)]


def _assert_well_formed(s: snn.Spikes):
    t, i = np.asarray(s.time), np.asarray(s.idx)
    assert np.all(t[:-1] <= t[1:])  # sorted (inf <= inf)
    real = np.isfinite(t)
    assert np.all(real[: real.sum()])  # real events first
    np.testing.assert_array_equal(i[~real], -1)
    assert np.all(i[real] >= 0)


@PROFILE
@given(x=spike_lists())
def test_sort_keeps_every_spike_in_stable_order(x):
    t, i = x
    s = snn.Spikes(jnp.asarray(t), jnp.asarray(i, jnp.int32)).sort()
    _assert_well_formed(s)
    assert _as_list(s) == _events(t, i)
    assert int(s.count) == int(np.isfinite(t).sum())


@PROFILE
@given(x=spike_lists(), extra=st.sampled_from([0, 2]))
def test_pad_keeps_every_spike(x, extra):
    t, i = x
    s = snn.Spikes(jnp.asarray(t), jnp.asarray(i, jnp.int32)).sort()
    p = s.pad(s.size + extra)
    assert p.size == s.size + extra
    np.testing.assert_array_equal(np.asarray(p.time[: s.size]), np.asarray(s.time))
    np.testing.assert_array_equal(np.asarray(p.idx[: s.size]), np.asarray(s.idx))
    assert np.all(np.isinf(np.asarray(p.time[s.size:])))
    np.testing.assert_array_equal(np.asarray(p.idx[s.size:]), -1)


@PROFILE
@given(x=spike_lists(), size=st.sampled_from(SIZES + [8]))
def test_from_arrays_keeps_every_spike_or_raises(x, size):
    t, i = x
    n_real = int(np.isfinite(t).sum())
    if n_real > size:
        with pytest.raises(Exception, match="size"):
            jax.block_until_ready(snn.Spikes.from_arrays(jnp.asarray(t), jnp.asarray(i),
                                                         size=size).time)
        return
    s = snn.Spikes.from_arrays(jnp.asarray(t), jnp.asarray(i), size=size)
    assert s.size == size
    _assert_well_formed(s)
    assert _as_list(s) == _events(t, i)


@PROFILE
@given(a=spike_lists(), b=spike_lists(), offset=st.sampled_from([0, 5]))
def test_concatenate_keeps_every_spike(a, b, offset):
    sa = snn.Spikes(jnp.asarray(a[0]), jnp.asarray(a[1], jnp.int32))
    sb = snn.Spikes(jnp.asarray(b[0]), jnp.asarray(b[1], jnp.int32))
    m = sa.concatenate(sb, offset=offset)
    assert m.size == sa.size + sb.size
    _assert_well_formed(m)
    # self's events first among equal times, then other's (stable), other's indices shifted
    b_idx = np.where(b[1] >= 0, b[1] + offset, -1)
    assert _as_list(m) == _events(np.concatenate([a[0], b[0]]), np.concatenate([a[1], b_idx]))


@PROFILE
@given(x=spike_lists(), batch=st.booleans())
def test_counts_first_times_and_dense_agree_with_numpy(x, batch):
    t, i = x
    n = 5
    s = snn.Spikes(jnp.asarray(t), jnp.asarray(i, jnp.int32))
    if batch:  # a batch of two: the same list and its reverse
        s = snn.Spikes(jnp.stack([s.time, s.time[::-1]]), jnp.stack([s.idx, s.idx[::-1]]))
    counts, first = np.asarray(s.counts(n)), np.asarray(s.first_times(n))
    dense = np.asarray(s.to_dense(n, t_max=2.0, dt=0.5))  # the spikes at t = 2.0 drop out
    real = np.isfinite(t)
    want_counts = np.bincount(i[real], minlength=n)
    want_first = np.array([t[real & (i == j)].min() if np.any(real & (i == j)) else np.inf
                           for j in range(n)])
    early = real & (t < 2.0)
    want_dense = np.zeros((4, n))
    np.add.at(want_dense, (np.floor(t[early] / 0.5).astype(int), i[early]), 1.0)
    for b in range(2 if batch else 1):
        sl = (b,) if batch else ()
        np.testing.assert_array_equal(counts[sl], want_counts)
        np.testing.assert_array_equal(first[sl], want_first)
        np.testing.assert_array_equal(dense[sl], want_dense)
        assert int(np.asarray(s.count)[sl]) == int(real.sum())


# ----------------------------------------------------------------------------- encoders
FEATURES = [1, 2]
T_EARLY, T_LATE = 2e-3, 12e-3


@st.composite
def features(draw):
    d = draw(st.sampled_from(FEATURES))
    batch = draw(st.sampled_from([(), (3,)]))
    return draw(hnp.arrays(np.float64, batch + (d,), elements=st.floats(0.0, 1.0)))


@PROFILE
@given(x=features(), mirror=st.booleans(), bias=st.sampled_from([None, 0.0, 5e-3]))
def test_event_latency_code_round_trips(x, mirror, bias):
    """`data.encode_latency`: every input neuron exactly once, sorted, and its time decodes to
    its feature (``x``, then ``1 - x`` when mirrored, then the bias neuron at ``bias_time``)."""
    s = data.encode_latency(jnp.asarray(x), t_early=T_EARLY, t_late=T_LATE, bias_time=bias,
                            mirror=mirror)
    d = x.shape[-1]
    n = d * (1 + mirror) + (bias is not None)
    t, i = np.asarray(s.time).reshape(-1, n), np.asarray(s.idx).reshape(-1, n)
    for tb, ib, xb in zip(t, i, x.reshape(-1, d), strict=True):
        assert np.all(np.diff(tb) >= 0)
        np.testing.assert_array_equal(np.sort(ib), np.arange(n))
        times = np.empty(n)
        times[ib] = tb
        decoded = (times - T_EARLY) / (T_LATE - T_EARLY)
        np.testing.assert_allclose(decoded[:d], xb, atol=1e-12)
        if mirror:
            np.testing.assert_allclose(decoded[d: 2 * d], 1.0 - xb, atol=1e-12)
        if bias is not None:
            assert times[-1] == bias
        np.testing.assert_allclose(times, np.asarray(data.latency_times(
            jnp.asarray(xb), T_EARLY, T_LATE, bias, mirror)), rtol=0, atol=0)


DT, T_MAX_ENC = 5e-4, 15e-3


@PROFILE
@given(x=features(), mirror=st.booleans(), bias=st.sampled_from([None, 5e-3]))
def test_dense_latency_codes_round_trip(x, mirror, bias):
    """`discrete.encode_latency` and `data.encode_latency_dense`: one spike per input neuron,
    in the bin of its time: decoding the bin gives the feature back to within one bin; both
    encoders agree (away from bin edges, where rounding may differ)."""
    kw = dict(t_early=T_EARLY, t_late=T_LATE, bias_time=bias)
    ras_d = np.asarray(discrete.encode_latency(jnp.asarray(x), t_max=T_MAX_ENC, dt=DT,
                                               mirror=mirror, **kw))
    ras_e = np.asarray(data.encode_latency_dense(jnp.asarray(x), T_MAX_ENC, DT, mirror=mirror,
                                                 **kw))
    d = x.shape[-1]
    n = d * (1 + mirror) + (bias is not None)
    steps = discrete.n_steps(T_MAX_ENC, DT)
    assert ras_d.shape == ras_e.shape == x.shape[:-1] + (steps, n)
    times = np.asarray(data.latency_times(jnp.asarray(x), T_EARLY, T_LATE, bias, mirror))
    for ras in (ras_d, ras_e):
        np.testing.assert_array_equal(ras.sum(-2), 1.0)  # every time < t_max: one spike each
        assert set(np.unique(ras)) <= {0.0, 1.0}
        bins = ras.argmax(-2)
        assert np.all(np.abs(bins * DT - times) <= DT * (1 + 1e-6))
        decoded = (bins * DT - T_EARLY) / (T_LATE - T_EARLY)
        tol = DT / (T_LATE - T_EARLY) * (1 + 1e-6)
        assert np.all(np.abs(decoded[..., :d] - x) <= tol)
        if mirror:
            assert np.all(np.abs(decoded[..., d: 2 * d] - (1 - x)) <= tol)
    frac = (times / DT) % 1.0
    clear = (frac > 1e-5) & (frac < 1 - 1e-5)  # away from bin edges
    np.testing.assert_array_equal(ras_d.argmax(-2)[clear], ras_e.argmax(-2)[clear])


@PROFILE
@given(seed=st.integers(0, 2**16), d=st.sampled_from(FEATURES))
def test_poisson_code_extremes_and_range(seed, d):
    """`discrete.encode_poisson`: 0/1 values; rate 0 never fires, a rate of one spike per bin
    always fires."""
    key = jax.random.PRNGKey(seed)
    rates = jnp.concatenate([jnp.zeros((1, d)), jnp.full((1, d), 1.0 / DT),
                             jnp.full((1, d), 200.0)])
    r = np.asarray(discrete.encode_poisson(key, rates, t_max=T_MAX_ENC, dt=DT))
    assert r.shape == (3, discrete.n_steps(T_MAX_ENC, DT), d)
    assert set(np.unique(r)) <= {0.0, 1.0}
    assert not r[0].any() and r[1].all()
