"""Independent float64 reference for event-based LIF networks: scipy ODE integration.

The membrane ODE is integrated numerically (DOP853, rtol 1e-12) with threshold events, restarted
at every discontinuity (input spike, own spike, end of refractoriness). It shares no code with
`jaxsnn_eqx.event`.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp


def lif_population(params: dict, w_in, in_times, in_idx, t_max, w_rec=None, single_spike=False):
    """Spike (time, idx) lists of a population of LIF neurons.

    params: dict of tau_mem, tau_syn, v_th, v_reset, v_leak, t_refrac (floats or (n,) arrays).
    """
    w_in = np.asarray(w_in, float)
    n = w_in.shape[1]
    g = lambda k: np.broadcast_to(np.asarray(params[k], float), (n,)).copy()
    tm, ts, vth, vreset, vleak, tref = (g(k) for k in
                                        ("tau_mem", "tau_syn", "v_th", "v_reset", "v_leak",
                                         "t_refrac"))
    if single_spike:
        tref = np.full(n, np.inf)
    in_times = np.asarray(in_times, float)
    in_idx = np.asarray(in_idx)
    keep = np.isfinite(in_times) & (in_times < t_max)
    order = np.argsort(in_times[keep], kind="stable")
    ev_t, ev_i = in_times[keep][order], in_idx[keep][order]

    v = vleak.copy()
    cur = np.zeros(n)
    ref_end = np.zeros(n)  # absolute time at which refractoriness ends
    t = 0.0
    out_t, out_i = [], []
    p = 0
    while True:
        t_in = ev_t[p] if p < len(ev_t) else t_max
        # next breakpoint: an input, t_max, or the end of a refractory period
        ends = ref_end[ref_end > t]
        t_stop = min(t_in, ends.min()) if ends.size else t_in
        active = ref_end <= t  # neurons that integrate freely on [t, t_stop]

        def rhs(_, y, active=active):
            vv, ii = y[:n], y[n:]
            dv = np.where(active, (-(vv - vleak) + ii) / tm, 0.0)
            return np.concatenate([dv, -ii / ts])

        events = []
        for j in np.flatnonzero(active):
            ev = (lambda _, y, j=j: y[j] - vth[j])
            ev.terminal, ev.direction = True, 1
            events.append((j, ev))
        fired = None
        if t_stop > t:
            sol = solve_ivp(rhs, (t, t_stop), np.concatenate([v, cur]), method="DOP853",
                            rtol=1e-13, atol=1e-15, events=[e for _, e in events] or None)
            if sol.status == 1:  # a threshold event
                hits = [(sol.t_events[k][0], j) for k, (j, _) in enumerate(events)
                        if len(sol.t_events[k])]
                t_f, fired = min(hits)
                y = sol.y_events[[k for k, (j, _) in enumerate(events) if j == fired][0]][0]
                t = t_f
            else:
                y = sol.y[:, -1]
                t = t_stop
            v, cur = y[:n].copy(), y[n:].copy()
        else:
            t = t_stop
        if fired is not None:
            out_t.append(t)
            out_i.append(fired)
            v[fired] = vreset[fired]
            ref_end[fired] = t + tref[fired]
            if w_rec is not None:
                cur += np.asarray(w_rec, float)[fired] / ts
            continue
        if t >= t_max:
            break
        if p < len(ev_t) and t >= ev_t[p]:
            while p < len(ev_t) and ev_t[p] <= t:  # every input at this instant
                cur += w_in[ev_i[p]] / ts
                p += 1
        # (else: an end of refractoriness; V restarts from v_reset, nothing to do)
    return np.array(out_t), np.array(out_i, int)


def lif_network(layers, in_times, in_idx, t_max, single_spike=False):
    """Feed-forward chain: ``layers`` is a list of (params dict, weight) pairs."""
    t, i = np.asarray(in_times, float), np.asarray(in_idx)
    outs = []
    for params, w in layers:
        t, i = lif_population(params, w, t, i, t_max, single_spike=single_spike)
        outs.append((t, i))
    return outs


# ============================================================================= tests
import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import pytest  # noqa: E402

import jaxsnn_eqx as snn  # noqa: E402
from jaxsnn_eqx import event  # noqa: E402

T_MAX = 0.05
TAU_SYN = 5e-3
RATIOS = [0.5, 1.0, 1.7, 2.0, 3.0]


def lif_params(ratio, *, arrays=True, **kw):
    p = dict(tau_mem=ratio * TAU_SYN, tau_syn=TAU_SYN, v_th=1.0, v_reset=-0.2, v_leak=0.1,
             t_refrac=2e-3)
    p.update(kw)
    as_arr = (lambda v: jnp.asarray(v, jnp.float64)) if arrays else float
    return p, event.LIFParams(**{k: as_arr(v) for k, v in p.items()})


def random_inputs(rng, n_in, n_spikes, t_hi=0.03):
    # rounded to 1 ms: several inputs share a time stamp (exactly simultaneous)
    t = np.round(rng.uniform(0, t_hi, n_spikes), 3)
    i = rng.integers(0, n_in, n_spikes)
    assert len(np.unique(t)) < n_spikes
    return t, i


def assert_spikes_match(out: snn.Spikes, ref_t, ref_i, tol=1e-9 * T_MAX):
    t, i = np.asarray(out.time), np.asarray(out.idx)
    real = np.isfinite(t)
    assert real.sum() == len(ref_t), (real.sum(), len(ref_t))
    assert np.all(i[~real] == -1)
    assert np.all(i[real] == ref_i)
    if len(ref_t):
        assert np.max(np.abs(t[real] - ref_t)) < tol


@eqx.filter_jit
def _trace(net, s):
    return net.trace(s)


_call = eqx.filter_jit(lambda m, s: m(s))


@pytest.mark.parametrize("ratio", RATIOS)
def test_feedforward_multispike_matches_ode_reference(ratio):
    rng = np.random.default_rng(int(ratio * 10))
    prm, p = lif_params(ratio)
    n_in, n_h, n_o = 6, 8, 4
    t_in, i_in = random_inputs(rng, n_in, 14)
    w1 = rng.normal(0.4, 0.5, (n_in, n_h)) * event.lif_weight_scale(p)
    w2 = rng.normal(0.6, 0.6, (n_h, n_o)) * event.lif_weight_scale(p)
    net = snn.Sequential([
        event.LIF(n_in, n_h, params=p, t_max=T_MAX, max_spikes=64, weight=w1),
        event.LIF(n_h, n_o, params=p, t_max=T_MAX, max_spikes=64, weight=w2),
    ])
    outs = _trace(net, snn.Spikes.from_arrays(t_in, i_in))
    refs = lif_network([(prm, w1), (prm, w2)], t_in, i_in, T_MAX)
    counts = [len(r[0]) for r in refs]
    assert counts[0] > n_h and counts[1] > n_o  # several spikes per neuron on average
    for out, (rt, ri) in zip(outs, refs, strict=True):
        assert_spikes_match(out, rt, ri)
    # refractoriness is exercised: some neuron fires twice within a few t_refrac
    t1, i1 = refs[0]
    gaps = [np.diff(t1[i1 == j]).min() for j in range(n_h) if np.sum(i1 == j) > 1]
    assert min(gaps) < 3 * prm["t_refrac"]


@pytest.mark.parametrize("ratio", [2.0, 1.7])
def test_static_float_params_match_reference(ratio):
    # Python-float time constants: the solver is chosen at trace time (closed form for 2)
    rng = np.random.default_rng(7)
    prm, p = lif_params(ratio, arrays=False)
    t_in, i_in = random_inputs(rng, 5, 12)
    w = rng.normal(0.5, 0.5, (5, 6)) * event.lif_weight_scale(p)
    lif = event.LIF(5, 6, params=p, t_max=T_MAX, max_spikes=48, weight=w)
    out = _call(lif, snn.Spikes.from_arrays(t_in, i_in))
    assert_spikes_match(out, *lif_population(prm, w, t_in, i_in, T_MAX))


@pytest.mark.parametrize("ratio", [1.0, 2.0, 3.0])
def test_single_spike_mode_matches_reference(ratio):
    rng = np.random.default_rng(3)
    prm, p = lif_params(ratio)
    t_in, i_in = random_inputs(rng, 5, 10)
    w = rng.normal(0.5, 0.6, (5, 20)) * event.lif_weight_scale(p)
    lif = event.LIF(5, 20, params=p, t_max=T_MAX, max_spikes=20, weight=w, single_spike=True)
    out = _call(lif, snn.Spikes.from_arrays(t_in, i_in))
    rt, ri = lif_population(prm, w, t_in, i_in, T_MAX, single_spike=True)
    assert 5 < len(rt) < 20 and len(np.unique(ri)) == len(ri)
    assert_spikes_match(out, rt, ri)


@pytest.mark.parametrize("ratio", [1.0, 1.7, 2.0])
def test_recurrent_population_matches_reference(ratio):
    rng = np.random.default_rng(11)
    prm, p = lif_params(ratio)
    n_in, n = 5, 10
    t_in, i_in = random_inputs(rng, n_in, 12)
    w = rng.normal(0.4, 0.5, (n_in, n)) * event.lif_weight_scale(p)
    w_rec = rng.normal(0.0, 0.5, (n, n)) * event.lif_weight_scale(p)
    net = snn.Recurrent(event.LIF(n_in, n, params=p, t_max=T_MAX, max_spikes=160, weight=w),
                        w_rec)
    out = _call(net, snn.Spikes.from_arrays(t_in, i_in))
    rt, ri = lif_population(prm, w, t_in, i_in, T_MAX, w_rec=w_rec)
    assert len(rt) > n
    assert_spikes_match(out, rt, ri)
