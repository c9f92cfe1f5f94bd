"""More event neuron models: non-leaky integrate-and-fire (`event.IF`) and adaptive LIF
(`event.AdaptiveLIF`), against independent float64 references.

References (no code shared with `jaxsnn_eqx.event`):

* `population`: the ODEs integrated by scipy (DOP853, rtol 1e-13, steps of at most a twentieth
  of the shortest time constant so that no brief crossing falls inside one step) with terminal
  threshold events, restarted at every discontinuity (input, own spike, end of refractoriness).
* `first_crossing`: the free flow as an explicit sum of exponentials in numpy; its critical
  points from a dense grid of the derivative refined by `scipy.optimize.brentq`, then the first
  crossing by `brentq` on the first monotone piece that reaches threshold.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

import jaxsnn_eqx as snn
from jaxsnn_eqx import event
from jaxsnn_eqx.event.adaptive_lif import alif_threshold_crossing
from jaxsnn_eqx.event.eventprop import eventprop_lif_backward
from jaxsnn_eqx.event.integrate_fire import if_threshold_crossing

T_MAX = 0.03
TS = 5e-3


# ============================================================================= references
def population(model, prm, w_in, in_times, in_idx, t_max, w_rec=None, single_spike=False):
    """Spike (time, idx) arrays of a population of ``model`` ("if" or "alif") neurons.

    ``prm``: dict of floats or (n,) arrays: tau_mem, tau_syn, v_th, v_reset, t_refrac, and
    v_rest (IF) or v_leak, tau_adapt, b (adaptive LIF).
    """
    w_in = np.asarray(w_in, float)
    n = w_in.shape[1]
    g = lambda k, d=0.0: np.broadcast_to(np.asarray(prm.get(k, d), float), (n,)).copy()
    tm, ts, vth, vreset, tref = (g(k) for k in ("tau_mem", "tau_syn", "v_th", "v_reset",
                                                "t_refrac"))
    alif = model == "alif"
    v0 = g("v_leak") if alif else g("v_rest")
    vleak, ta, b = g("v_leak"), g("tau_adapt", 1.0), g("b")
    if single_spike:
        tref = np.full(n, np.inf)
    in_times, in_idx = np.asarray(in_times, float), np.asarray(in_idx)
    keep = np.isfinite(in_times) & (in_times < t_max)
    order = np.argsort(in_times[keep], kind="stable")
    ev_t, ev_i = in_times[keep][order], in_idx[keep][order]
    max_step = min(tm.min(), ts.min(), ta.min()) / 20

    v, cur, ada = v0.copy(), np.zeros(n), np.zeros(n)
    ref_end = np.zeros(n)
    t, p = 0.0, 0
    out_t, out_i = [], []
    while True:
        t_in = ev_t[p] if p < len(ev_t) else t_max
        ends = ref_end[ref_end > t]
        t_stop = min(t_in, ends.min()) if ends.size else t_in
        active = ref_end <= t

        def rhs(_, y, active=active):
            vv, ii, aa = y[:n], y[n:2 * n], y[2 * n:]
            dv = ((-(vv - vleak) + ii - aa) / tm) if alif else ii / tm
            da = -aa / ta if alif else np.zeros(n)
            return np.concatenate([np.where(active, dv, 0.0), -ii / ts, da])

        events = []
        for j in np.flatnonzero(active):
            ev = (lambda _, y, j=j: y[j] - vth[j])
            ev.terminal, ev.direction = True, 1
            events.append((j, ev))
        fired = None
        if t_stop > t:
            sol = solve_ivp(rhs, (t, t_stop), np.concatenate([v, cur, ada]), method="DOP853",
                            rtol=1e-13, atol=1e-15, max_step=max_step,
                            events=[e for _, e in events] or None)
            if sol.status == 1:
                hits = [(sol.t_events[k][0], j, k) for k, (j, _) in enumerate(events)
                        if len(sol.t_events[k])]
                t, fired, k = min(hits)
                y = sol.y_events[k][0]
            else:
                y, t = sol.y[:, -1], t_stop
            v, cur, ada = y[:n].copy(), y[n:2 * n].copy(), y[2 * n:].copy()
        else:
            t = t_stop
        if fired is not None:
            out_t.append(t)
            out_i.append(fired)
            v[fired] = vreset[fired]
            ada[fired] += b[fired]
            ref_end[fired] = t + tref[fired]
            if w_rec is not None:
                cur += np.asarray(w_rec, float)[fired] / ts
            continue
        if t >= t_max:
            break
        while p < len(ev_t) and ev_t[p] <= t:
            cur += w_in[ev_i[p]] / ts
            p += 1
    return np.array(out_t), np.array(out_i, int)


def _k(t, tm, tx):
    """Response of u to a unit current decaying with tx (numpy, explicit exponentials)."""
    if tm == tx:
        return t / tm * np.exp(-t / tm)
    return tx / (tm - tx) * (np.exp(-t / tm) - np.exp(-t / tx))


def _dk(t, tm, tx):
    if tm == tx:
        return (1.0 - t / tm) / tm * np.exp(-t / tm)
    return tx / (tm - tx) * (-np.exp(-t / tm) / tm + np.exp(-t / tx) / tx)


def first_crossing(u0, i0, a0, tm, ts, ta, theta, horizon, grid=20001):
    """First ``t`` in ``[0, horizon]`` with ``u(t) = theta`` from below (numpy/scipy)."""
    u = lambda t: u0 * np.exp(-t / tm) + i0 * _k(t, tm, ts) - a0 * _k(t, tm, ta)
    du = lambda t: -u0 / tm * np.exp(-t / tm) + i0 * _dk(t, tm, ts) - a0 * _dk(t, tm, ta)
    if u0 >= theta:
        return 0.0
    tt = np.linspace(0.0, horizon, grid)
    d = du(tt)
    crit = [brentq(du, tt[k], tt[k + 1], xtol=1e-300, rtol=1e-15)
            for k in np.flatnonzero(np.sign(d[:-1]) * np.sign(d[1:]) < 0)]
    crit += list(tt[1:-1][d[1:-1] == 0])
    ends = sorted(crit) + [horizon]
    lo = 0.0
    for e in ends:
        if u(e) >= theta:
            return brentq(lambda t: u(t) - theta, lo, e, xtol=1e-300, rtol=1e-15)
        lo = e
    return np.inf


# ============================================================================= helpers
def _inputs(seed, n_in, k, t_hi=0.02):
    rng = np.random.default_rng(seed)
    return np.sort(rng.uniform(0.0, t_hi, k)), rng.integers(0, n_in, k)


def _spikes(t, i):
    return snn.Spikes.from_arrays(jnp.asarray(t), jnp.asarray(i))


def assert_spikes_match(out, ref_t, ref_i, tol=1e-10):
    t, i = np.asarray(out.time), np.asarray(out.idx)
    real = np.isfinite(t)
    assert real.sum() == len(ref_t), (real.sum(), len(ref_t), t[real], ref_t)
    np.testing.assert_array_equal(i[real], ref_i)
    if len(ref_t):
        np.testing.assert_allclose(t[real], ref_t, rtol=0, atol=tol)


def _arr(d):
    return {k: jnp.asarray(v, jnp.float64) for k, v in d.items()}


IF_PRM = dict(tau_mem=1e-2, tau_syn=TS, v_th=1.0, v_reset=-0.1, v_rest=0.05, t_refrac=1e-3)
ALIF_PRM = dict(tau_mem=1e-2, tau_syn=TS, tau_adapt=3e-2, b=0.3, v_th=1.0, v_reset=-0.1,
                v_leak=0.05, t_refrac=1e-3)


def _if_layer(w, prm=IF_PRM, **kw):
    return event.IF(*w.shape, params=event.IFParams(**_arr(prm)), t_max=T_MAX, weight=w,
                    max_spikes=kw.pop("max_spikes", 96), **kw)


def _alif_layer(w, prm=ALIF_PRM, **kw):
    return event.AdaptiveLIF(*w.shape, params=event.AdaptiveLIFParams(**_arr(prm)),
                             t_max=T_MAX, weight=w, max_spikes=kw.pop("max_spikes", 96), **kw)


_call = eqx.filter_jit(lambda m, s: m(s))


def _loss(out):
    """A smooth loss of every output spike time (each neuron weighted differently)."""
    w = 1.0 + out.idx.astype(out.time.dtype)
    return jnp.sum(jnp.where(jnp.isfinite(out.time), w * jnp.sin(100.0 * out.time), 0.0))


_grad_jit = eqx.filter_jit(eqx.filter_grad(lambda ms: _loss(ms[0](ms[1]))))


def _check_fd(model, s, getters, h_rel=1e-6, rtol=1e-5):
    """``eqx.filter_grad`` of ``(model, spikes)`` against central finite differences (float64)
    for every entry of each getter's array (a getter takes ``(model, spikes)``); the spike
    count must not change under the perturbations. Reuses the forward's compiled `_call`."""
    g = _grad_jit((model, s))

    def run(ms):
        out = _call(*ms)
        return float(_loss(out)), int(out.count)

    ms = (model, s)
    _, n0 = run(ms)
    for get in getters:
        x0 = get(ms)
        ga = np.asarray(get(g))
        assert np.all(np.isfinite(ga))
        fd = np.zeros(x0.shape)
        for ix in np.ndindex(x0.shape):
            h = h_rel * max(abs(float(x0[ix])), 1e-3)
            (lp, np_), (lm, nm) = (run(eqx.tree_at(get, ms, x0.at[ix].add(d))) for d in (h, -h))
            assert np_ == n0 == nm
            fd[ix] = (lp - lm) / (2 * h)
        err = np.linalg.norm(ga - fd) / max(np.linalg.norm(fd), 1e-300)
        assert err < rtol, (err, ga, fd)
        assert np.linalg.norm(fd) > 0


# ============================================================================= IF
def _if_w(seed, n_in, n_out, mean=1.0, std=0.6):
    w1 = event.if_weight_scale(event.IFParams(**IF_PRM))
    return jnp.asarray(np.random.default_rng(seed).normal(mean, std, (n_in, n_out)) * w1)


def test_if_crossing_closed_form_cases():
    tm, ts, vth = 1e-2, TS, 1.0
    # (v0, i0, horizon): ordinary, tiny distance (log1p), asymptote just above threshold,
    # asymptote exactly at / below threshold, falling current, already above, horizon cut
    cases = [(0.0, 3.0, 1.0), (1.0 - 1e-12, 3.0, 1.0), (0.0, 2.0 * (1 + 1e-9), 1.0),
             (0.0, 2.0, 1.0), (0.0, 1.5, 1.0), (0.5, -3.0, 1.0), (1.2, 0.0, 1.0),
             (0.0, 3.0, 1e-3), (-0.5, 50.0, 1.0)]
    v0, i0, h = (np.array(c) for c in zip(*cases, strict=True))
    cross = jax.jit(if_threshold_crossing)
    got = np.asarray(cross(v0, i0, tm, ts, vth, h))
    ref = []
    for v, i, hh in cases:  # independent: t = ts ln(R / (R - d)), R = ts i / tm
        d, r = vth - v, ts * i / tm
        t = 0.0 if d <= 0 else (ts * np.log(r / (r - d)) if r > d else np.inf)
        if d > 0 and r > d and d / r < 1e-6:  # ln(1/(1-q)) by its series, q tiny
            q = d / r
            t = ts * (q + q * q / 2 + q ** 3 / 3)
        ref.append(t if t <= hh else np.inf)
    ref = np.array(ref)
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(ref))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(got[fin], ref[fin], rtol=1e-9)
    assert got[1] > 0 and got[2] > 10 * ts and got[6] == 0.0
    # the IFT derivative equals the derivative of the closed form (finite differences)
    args = (0.1, 3.0, tm, ts, vth)
    g = jax.jit(jax.grad(lambda *a: cross(*a, 1.0), argnums=(0, 1, 2, 3, 4)))(*args)
    for k in range(5):
        h = 1e-7 * abs(args[k])
        ap, am = list(args), list(args)
        ap[k] += h
        am[k] -= h
        fd = (cross(*ap, 1.0) - cross(*am, 1.0)) / (2 * h)
        np.testing.assert_allclose(g[k], fd, rtol=1e-6)


# every population test uses 5 inputs (14 spikes) and 4 neurons: one compilation per model
def _if_setup(seed=1):
    t_in, i_in = _inputs(seed, 5, 14)
    w = _if_w(seed, 5, 4).at[:, 3].multiply(-0.5)  # neuron 3 stays silent
    return t_in, i_in, w


def test_if_feedforward_matches_ode_reference():
    t_in, i_in, w = _if_setup()
    out = _call(_if_layer(w), _spikes(t_in, i_in))
    rt, ri = population("if", IF_PRM, w, t_in, i_in, T_MAX)
    assert all(np.sum(ri == j) >= 3 for j in range(3)) and 3 not in ri  # several, and silent
    gaps = [np.diff(rt[ri == j]).min() for j in range(3)]
    assert min(gaps) < 3 * IF_PRM["t_refrac"]  # the refractory period matters
    assert_spikes_match(out, rt, ri)


def test_if_single_spike_matches_ode_reference():
    t_in, i_in, w = _if_setup()
    rt, ri = population("if", IF_PRM, w, t_in, i_in, T_MAX, single_spike=True)
    assert len(rt) == len(set(ri)) == 3
    assert_spikes_match(_call(_if_layer(w, single_spike=True), _spikes(t_in, i_in)), rt, ri)


def test_if_recurrent_matches_ode_reference():
    t_in, i_in, w = _if_setup(3)
    w_rec = _if_w(4, 4, 4, mean=0.0, std=0.4)
    out = _call(snn.Recurrent(_if_layer(w), w_rec), _spikes(t_in, i_in))
    rt, ri = population("if", IF_PRM, w, t_in, i_in, T_MAX, w_rec=w_rec)
    assert len(rt) > 6
    assert_spikes_match(out, rt, ri)


def test_if_is_the_lif_limit():
    """`event.LIF` with tau_mem = L, v_leak = v_rest and weights w L / tau_mem tends to the IF
    with weights w as L -> inf; the spike times converge like 1/L."""
    t_in, i_in, w = _if_setup(5)
    s = _spikes(t_in, i_in)
    ref = _call(_if_layer(w), s)
    errs = []
    for scale in (1e2, 1e3, 1e4):
        out = _call(_lif_layer(w * scale, tau_mem=IF_PRM["tau_mem"] * scale), s)
        np.testing.assert_array_equal(np.asarray(out.idx), np.asarray(ref.idx))
        fin = np.isfinite(np.asarray(ref.time))
        errs.append(np.max(np.abs(np.asarray(out.time)[fin] - np.asarray(ref.time)[fin])))
    assert errs[-1] < 2e-6  # seconds, with t_max = 0.03 and L = 1e4 tau_mem
    assert 5 < errs[0] / errs[1] < 20 and 5 < errs[1] / errs[2] < 20, errs


def _lif_layer(w, **prm):
    """`event.LIF` with the IF's parameters (v_leak = v_rest), overridden by ``prm``."""
    p = {k: v for k, v in IF_PRM.items() if k != "v_rest"}
    p["v_leak"] = IF_PRM["v_rest"]
    p.update(prm)
    return event.LIF(*w.shape, params=event.LIFParams(**_arr(p)), t_max=T_MAX, max_spikes=96,
                     weight=w)


def _param_getters(names, recurrent):
    pre = (lambda ms: ms[0].layer) if recurrent else (lambda ms: ms[0])
    getters = [lambda ms: pre(ms).weight, lambda ms: ms[1].time]
    getters += [lambda ms, k=k: getattr(pre(ms).params, k) for k in names]
    if recurrent:
        getters.append(lambda ms: ms[0].weight_rec)
    return getters


IF_NAMES = ("tau_mem", "tau_syn", "v_th", "v_reset", "v_rest", "t_refrac")


@pytest.mark.parametrize("recurrent", [False, pytest.param(True, marks=pytest.mark.slow)],
                         ids=["feedforward", "recurrent"])
def test_if_gradients_match_finite_differences(recurrent):
    """Weights, input spike times, every parameter (and the recurrent weights)."""
    t_in, i_in, w = _if_setup(6)
    model = _if_layer(w)
    if recurrent:
        model = snn.Recurrent(model, _if_w(7, 4, 4, mean=0.0, std=0.3))
    s = _spikes(t_in, i_in)
    assert int(_call(model, s).count) > 6
    _check_fd(model, s, _param_getters(IF_NAMES, recurrent))


# ============================================================================= adaptive LIF
def _alif_w(seed, n_in, n_out, mean=1.2, std=0.6):
    w1 = event.lif_weight_scale(event.AdaptiveLIFParams(**ALIF_PRM))
    return jnp.asarray(np.random.default_rng(seed).normal(mean, std, (n_in, n_out)) * w1)


_alif_cross = jax.jit(alif_threshold_crossing)


def _peak(u0, i0, a0, tm, ts, ta, horizon):
    """(time, value) of the largest local maximum of u in (0, horizon) (reference)."""
    u = lambda t: u0 * np.exp(-t / tm) + i0 * _k(t, tm, ts) - a0 * _k(t, tm, ta)
    du = lambda t: -u0 / tm * np.exp(-t / tm) + i0 * _dk(t, tm, ts) - a0 * _dk(t, tm, ta)
    tt = np.linspace(0.0, horizon, 20001)
    d = du(tt)
    k = np.flatnonzero((d[:-1] > 0) & (d[1:] <= 0))
    tp = [brentq(du, tt[j], tt[j + 1], xtol=1e-300, rtol=1e-15) for j in k]
    return max(((t, u(t)) for t in tp), key=lambda x: x[1])


def test_alif_crossing_random_states_match_reference():
    """Random states, both signs of I and A, every degenerate ratio of the time constants:
    shapes with a maximum, a minimum, both (dip then rise, rise then dip), or neither."""
    rng = np.random.default_rng(0)
    n = 300
    u0 = rng.uniform(-1.0, 0.99, n)
    i0 = rng.normal(1.5, 2.0, n)
    a0 = rng.normal(0.5, 1.5, n)
    tm = np.full(n, 1e-2)
    ts = rng.choice([2.5e-3, 5e-3, 1e-2, 7e-3], n)  # 1e-2 = tm
    ta = rng.choice([5e-3, 1e-2, 3e-2, 2e-3], n)  # 5e-3 = ts sometimes, 1e-2 = tm
    h = rng.uniform(0.005, 0.05, n)
    got = np.asarray(_alif_cross(u0, i0, a0, tm, ts, ta, 1.0, h))
    ref = np.array([first_crossing(*a, 1.0, hh) for *a, hh in zip(u0, i0, a0, tm, ts, ta, h,
                                                                     strict=True)])
    assert 50 < np.isfinite(ref).sum() < n - 50
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(ref))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(got[fin], ref[fin], rtol=0, atol=1e-14)


def test_alif_crossing_after_a_dip_and_near_tangent_touches():
    tm, ts, ta = 1e-2, 8e-3, 2e-3
    # dip then rise: a strong fast adaptation pulls u down first; the LIF's "before the first
    # maximum" bracket would look only at the start
    dip = (0.9, 4.0, 4.0)
    t_dip = first_crossing(*dip, tm, ts, ta, 1.0, 0.05)
    assert 0 < t_dip < np.inf
    got = float(_alif_cross(*dip, tm, ts, ta, 1.0, 0.05))
    np.testing.assert_allclose(got, t_dip, rtol=1e-13)
    # rise, maximum, then a dip below threshold and a minimum (max then min), and the dip
    # shape: the peak just above / just below threshold (a brief excursion of ~1e-7 s)
    for state in [(0.0, 3.0, 2.0), dip]:
        tp, up = _peak(*state, tm, ts, ta, 0.05)
        for delta in (1e-4, 1e-7, 1e-10):
            above = float(_alif_cross(*state, tm, ts, ta, up * (1 - delta), 0.05))
            below = float(_alif_cross(*state, tm, ts, ta, up * (1 + delta), 0.05))
            assert below == np.inf
            ref = first_crossing(*state, tm, ts, ta, up * (1 - delta), 0.05)
            assert ref < tp and abs(above - ref) < 1e-9 * tp, (state, delta, above, ref)
            assert 0 < tp - above < 3 * np.sqrt(delta) * tp
    # horizon just before / after the crossing
    assert float(_alif_cross(*dip, tm, ts, ta, 1.0, t_dip * (1 - 1e-12))) == np.inf
    np.testing.assert_allclose(float(_alif_cross(*dip, tm, ts, ta, 1.0, t_dip * (1 + 1e-12))),
                               got, rtol=1e-14)


def _alif_setup(seed=1):
    t_in, i_in = _inputs(seed, 5, 14)
    w = _alif_w(seed, 5, 4).at[:, 3].multiply(-0.5)  # neuron 3 stays silent
    return t_in, i_in, w


def test_alif_without_adaptation_is_the_lif():
    t_in, i_in, w = _alif_setup()
    s = _spikes(t_in, i_in)
    out = _call(_alif_layer(w, dict(ALIF_PRM, b=0.0)), s)
    ref = _call(_lif_layer(w, **{k: ALIF_PRM[k] for k in ("tau_mem", "tau_syn", "v_th",
                                                         "v_reset", "v_leak", "t_refrac")}), s)
    assert int(ref.count) > 8
    np.testing.assert_array_equal(np.asarray(out.idx), np.asarray(ref.idx))
    np.testing.assert_allclose(np.asarray(out.time), np.asarray(ref.time), rtol=1e-12)


@pytest.mark.parametrize("tau_adapt", [3e-2, TS, 1e-2], ids=["slow", "=tau_syn", "=tau_mem"])
def test_alif_feedforward_matches_ode_reference(tau_adapt):
    t_in, i_in, w = _alif_setup()
    prm = dict(ALIF_PRM, tau_adapt=tau_adapt)
    out = _call(_alif_layer(w, prm), _spikes(t_in, i_in))
    rt, ri = population("alif", prm, w, t_in, i_in, T_MAX)
    assert all(np.sum(ri == j) >= 3 for j in range(3)) and 3 not in ri  # several, and silent
    assert_spikes_match(out, rt, ri)
    # adaptation matters: fewer spikes than without it
    rt0, _ = population("alif", dict(prm, b=0.0), w, t_in, i_in, T_MAX)
    assert len(rt0) > len(rt)


def test_alif_recurrent_matches_ode_reference():
    t_in, i_in, w = _alif_setup(3)
    w_rec = _alif_w(4, 4, 4, mean=0.0, std=0.5)
    rt, ri = population("alif", ALIF_PRM, w, t_in, i_in, T_MAX, w_rec=w_rec)
    assert len(rt) > 6
    assert_spikes_match(_call(snn.Recurrent(_alif_layer(w), w_rec), _spikes(t_in, i_in)), rt, ri)


ALIF_NAMES = ("tau_mem", "tau_syn", "tau_adapt", "b", "v_th", "v_reset", "v_leak", "t_refrac")


@pytest.mark.parametrize("recurrent", [False, pytest.param(True, marks=pytest.mark.slow)],
                         ids=["feedforward", "recurrent"])
def test_alif_gradients_match_finite_differences(recurrent):
    """Weights, input spike times, every parameter (and the recurrent weights)."""
    t_in, i_in, w = _alif_setup(6)
    model = _alif_layer(w)
    if recurrent:
        model = snn.Recurrent(model, _alif_w(7, 4, 4, mean=0.0, std=0.4))
    s = _spikes(t_in, i_in)
    assert int(_call(model, s).count) > 6
    _check_fd(model, s, _param_getters(ALIF_NAMES, recurrent))


# ============================================================================= transformations
@pytest.mark.slow
def test_jit_vmap_grad_in_a_sequential_with_lif():
    key = jax.random.PRNGKey(0)
    k1, k2, k3 = jax.random.split(key, 3)
    lif_p = event.LIFParams(tau_mem=1e-2, tau_syn=TS, t_refrac=jnp.asarray(2e-3))
    net = snn.Sequential([
        event.IF(4, 6, params=event.IFParams(**_arr(IF_PRM)), t_max=T_MAX, max_spikes=48,
                 key=k1, dtype=jnp.float64),
        event.AdaptiveLIF(6, 5, params=event.AdaptiveLIFParams(**_arr(ALIF_PRM)), t_max=T_MAX,
                          max_spikes=48, key=k2, init_mean=3.0, dtype=jnp.float64),
        event.LIF(5, 3, params=lif_p, t_max=T_MAX, max_spikes=64, key=k3, init_mean=1.5,
                  dtype=jnp.float64),
    ])
    batch = [_inputs(s, 4, 10) for s in range(3)]
    xs = snn.Spikes(jnp.asarray(np.stack([t for t, _ in batch])),
                    jnp.asarray(np.stack([i for _, i in batch])))

    @eqx.filter_jit
    def loss(m, xs):
        return jnp.sum(jax.vmap(lambda x: _loss(m(x)))(xs))

    val, g = eqx.filter_jit(eqx.filter_value_and_grad(loss))(net, xs)
    outs = jax.vmap(net)(xs)
    assert outs.time.shape == (3, 64) and int(jnp.sum(jnp.isfinite(outs.time))) > 3
    for layer in g.layers:
        assert bool(jnp.all(jnp.isfinite(layer.weight))) and bool(jnp.any(layer.weight != 0))
    assert bool(jnp.any(g.layers[1].params.b != 0)) and bool(jnp.any(g.layers[0].params.v_th))
    # eager per-sample results equal the batched ones
    np.testing.assert_allclose(np.asarray(net(xs[1]).time), np.asarray(outs.time[1]), rtol=1e-12)
    # tree_at on weights and parameters, same compiled function
    net2 = eqx.tree_at(lambda m: (m.layers[0].weight, m.layers[1].params.b), net,
                       (net.layers[0].weight * 1.1, jnp.asarray(0.5)))
    assert float(loss(net2, xs)) != float(val)


def test_eventprop_is_refused():
    w = _if_w(0, 3, 2)
    with pytest.raises(TypeError, match="EventProp"):
        _if_layer(w, backward=eventprop_lif_backward)
    with pytest.raises(TypeError, match="EventProp"):
        _alif_layer(w, backward=eventprop_lif_backward)
    with pytest.raises(TypeError, match="IFParams"):
        event.IF(3, 2, params=event.LIFParams(), t_max=T_MAX, max_spikes=8, weight=w)
    # the EventProp backward pass itself refuses both neurons (e.g. in an event.EventLayer)
    s = _spikes(*_inputs(0, 3, 5))
    for neuron in (event.IFNeuron(event.IFParams()),
                   event.AdaptiveLIFNeuron(event.AdaptiveLIFParams())):
        with pytest.raises(TypeError, match="EventProp"):
            eventprop_lif_backward(neuron, w, None, s, s, jnp.zeros(5), t_max=T_MAX)


@pytest.mark.parametrize("layer", ["LIF", "EventPropLIF", "RecurrentEventPropLIF"])
def test_lif_layers_refuse_other_models_params(layer):
    # the adaptive LIF's parameters hold every LIF field: without the check a LIF layer would
    # silently run a plain LIF with them
    params = event.AdaptiveLIFParams(tau_mem=1e-2, tau_syn=5e-3)
    make = getattr(event, layer)
    with pytest.raises(TypeError, match="`params` must be event.LIFParams"):
        make(2, 3, params=params, t_max=0.05, max_spikes=3, key=jax.random.PRNGKey(0))
