"""Numerical corners of the event-based LIF paths, in float32 and float64.

The matrix: every corner (`CORNERS`) x every path (`PATHS`) x both dtypes.

Paths:
    kernel            `event.LIF`, multi-spike, refractory, ``method="kernel"`` (the event loop)
    parallel          `event.LIF`, single spike, ``method="parallel"`` (all first spikes at once)
    eventprop         `event.EventPropLIF`, multi-spike (event-loop forward, adjoint sweep)
    eventprop_single  `event.EventPropLIF`, single spike (parallel forward, closed-form adjoint)
    recurrent         `event.RecurrentEventPropLIF` (recurrent event loop, adjoint sweep)

Checks per cell:
    * values finite or ``inf`` (never NaN), in the requested dtype, the spike count the corner
      is about (silent, exactly ``max_spikes``, ...);
    * spike times and indices equal to the independent float64 scipy ODE reference
      (`test_event_reference.lif_population`), run on the float32-rounded values for float32;
    * gradients (weights, recurrent weights, input times and all six parameters) finite; zero
      for a silent network; in float64 equal to central finite differences of the same forward
      (one random direction per parameter group), EventProp also equal to autodiff through the
      analytical forward (relative 1e-6, DESIGN.md); in float32 equal to the float64 gradient;
    * one output spike more than ``max_spikes`` raises.

Cost: all corners share the shapes (``K = 1000`` input slots, so that the 1000 simultaneous
inputs fit; the others are padding) and the static configuration, and the parameters are
arrays, so each (path, dtype) compiles one value-and-gradient function for the whole matrix.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_event_reference import lif_population

import jaxsnn_eqx as snn
from jaxsnn_eqx import event
from jaxsnn_eqx.event.lif import peak_time

T_MAX = 3e-2
TS = 5e-3
N_IN, N = 4, 3  # inputs, neurons
K = 1000  # input slots (padded with inf / -1)
M = 15  # output buffer of the multi-spike paths (the single-spike ones: N)
PARAM_NAMES = ("tau_mem", "tau_syn", "v_th", "v_reset", "v_leak", "t_refrac")
PATHS = ("kernel", "parallel", "eventprop", "eventprop_single", "recurrent")
EVENTPROP = ("eventprop", "eventprop_single", "recurrent")
SINGLE = ("parallel", "eventprop_single")
DTYPES = {"float32": jnp.float32, "float64": jnp.float64}
TWIN = {"eventprop": "kernel", "eventprop_single": "parallel", "recurrent": "recurrent_twin"}

# spike times vs the float64 ODE reference (absolute, seconds)
TIME_TOL = {"float64": 1e-9 * T_MAX, "float32": 4e-6 * T_MAX}
# float32 gradients vs float64 gradients (relative, norm of each group)
GRAD_TOL_32 = 2e-3


class Case(NamedTuple):
    prm: dict  # LIF parameters (floats)
    w: np.ndarray  # (N_IN, N)
    w_rec: np.ndarray  # (N, N), recurrent path only
    t: np.ndarray  # (K,) input times, sorted, inf-padded
    i: np.ndarray  # (K,) input indices, -1 padded
    expect: str  # "silent", "fires", "full" (exactly max_spikes), "overflow" (one more),
    #              "tangential" (no reference, no finite differences)
    fd_h: float = 1e-6  # relative step of the finite differences
    fd_time: np.ndarray | None = None  # which input times to perturb (default: finite ones)

    def __repr__(self):  # short: hypothesis prints failing examples
        real = np.isfinite(self.t)
        with np.printoptions(precision=17):
            return (f"Case(prm={self.prm}, w={self.w!r}, w_rec={self.w_rec!r}, "
                    f"t={self.t[real]!r}, i={self.i[real]!r} (+ {(~real).sum()} unused), "
                    f"expect={self.expect!r})")


def _prm(ratio=2.0, **kw):
    p = dict(tau_mem=ratio * TS, tau_syn=TS, v_th=1.0, v_reset=-0.2, v_leak=0.1, t_refrac=4e-3)
    p.update(kw)
    return p


def _w1(prm) -> float:
    return event.lif_weight_scale(event.LIFParams(**prm))


def _pad(t, i):
    tt, ii = np.full(K, np.inf), np.full(K, -1)
    tt[: len(t)], ii[: len(i)] = t, i
    return tt, ii


_T, _I = _pad([1e-3, 2e-3, 2e-3, 5e-3, 8e-3, 1.2e-2], [0, 1, 2, 3, 0, 2])  # one equal pair


def _base_weights(prm, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.5, 1.5, (N_IN, N)) * _w1(prm)
    w_rec = rng.normal(0.0, 0.3, (N, N)) * _w1(prm)
    return w, w_rec


def _single_input_case(prm, scale, expect, **kw):
    """One input (t = 2 ms, input 0) with weights ``scale[j] * w1`` to neuron ``j``."""
    w = np.zeros((N_IN, N))
    w[0] = np.asarray(scale) * _w1(prm)
    return Case(prm, w, np.zeros((N, N)), *_pad([2e-3], [0]), expect, **kw)


def _corner(name: str, dtype_name: str = "float64") -> Case:
    if name.startswith("ratio_"):
        prm = _prm(float(name[6:]))
        w, w_rec = _base_weights(prm)
        return Case(prm, w, w_rec, _T, _I, "fires")
    prm = _prm()
    w, w_rec = _base_weights(prm)
    if name == "silent_weak":
        return Case(prm, 0.05 * w, 0.05 * np.abs(w_rec), _T, _I, "silent")
    if name == "silent_no_input":
        return Case(prm, w, w_rec, *_pad([], []), "silent")
    if name == "negative_only":
        return Case(prm, -w, -np.abs(w_rec), _T, _I, "silent")
    if name == "tiny_weights":
        w = 1e-30 * w
        w[0, 0] = 1e-41 * _w1(prm)  # subnormal in float32
        return Case(prm, w, 1e-30 * np.abs(w_rec), _T, _I, "silent")
    if name == "huge_weights":
        w = w.copy()
        w[:, 0] *= 1e4  # neuron 0 crosses ~1e-7 s after its inputs, and at once after refractory
        return Case(prm, w, w_rec, _T, _I, "fires")
    if name == "extreme_weights":
        # 1e8 w1: in float32 the crossings fall on the time stamp of the input that causes
        # them, and of the end of the refractory period (t_refrac off the input grid, so that
        # the finite differences do not straddle an input)
        prm = _prm(t_refrac=3.7e-3)
        w, w_rec = _base_weights(prm)
        w[:, 0] *= 1e8
        return Case(prm, w, w_rec, _T, _I, "fires")
    if name.startswith("tangential"):
        # the peak equals v_th within rounding: w1 (`lif_weight_scale`), and 4 ulps either side
        eps = float(jnp.finfo(DTYPES[dtype_name]).eps)
        prm = _prm(1.7) if name.endswith("1.7") else prm
        return _single_input_case(prm, [1.0 - 4 * eps, 1.0, 1.0 + 4 * eps], "tangential")
    if name == "near_tangential":
        # peak 0.1 % .. 10 % above threshold: large but finite gradients
        return _single_input_case(prm, [1.001, 1.01, 1.1], "fires", fd_h=1e-8)
    if name == "inputs_at_0_and_t_max":
        t, i = _pad([0.0, 0.0, 3e-3, 6e-3, 9e-3, T_MAX, T_MAX], [0, 1, 2, 3, 1, 0, 2])
        fd_time = (t > 0) & (t < T_MAX)  # the ends are checked one-sided
        return Case(prm, w, w_rec, t, i, "fires", fd_time=fd_time)
    if name == "tau_mem_near_tau_syn":
        prm = _prm(1.0 + 1e-6)
        return Case(prm, *_base_weights(prm), _T, _I, "fires")
    if name == "tau_mem_equals_tau_syn":
        prm = _prm(1.0)
        return Case(prm, *_base_weights(prm), _T, _I, "fires")
    if name == "simultaneous_1000":
        # 1000 inputs at one instant (250 per input neuron), summing to ~2.5 w1 per neuron
        t, i = np.full(K, 2e-3), np.arange(K) % N_IN
        return Case(prm, w / (100 * N_IN), w_rec, t, i, "fires")
    if name in ("max_spikes_exact", "max_spikes_plus_one"):
        # M (resp. M + 1) spikes in the multi-spike paths (without recurrent weights); every
        # neuron fires in the single-spike ones, exactly filling their buffer of N
        exact = name == "max_spikes_exact"
        return Case(prm, (4.5 if exact else 5.35) * w, np.zeros((N, N)), _T, _I,
                    "full" if exact else "overflow")
    raise KeyError(name)


CORNERS = ["silent_weak", "silent_no_input", "negative_only", "tiny_weights", "huge_weights",
           "extreme_weights", "tangential", "tangential_ratio_1.7", "near_tangential",
           "inputs_at_0_and_t_max", "tau_mem_near_tau_syn", "tau_mem_equals_tau_syn",
           "ratio_0.1", "ratio_10", "simultaneous_1000", "max_spikes_exact",
           "max_spikes_plus_one"]
SLOW_CORNERS = ["ratio_0.3", "ratio_0.5", "ratio_1.5", "ratio_3", "ratio_5"]


# ----------------------------------------------------------------------------- models
def _params(prm, dtype):
    return event.LIFParams(**{k: jnp.asarray(v, dtype) for k, v in prm.items()})


def build(path, case: Case, dtype, *, max_spikes=None):
    """The model of ``path`` for ``case`` and its input times: the differentiated state."""
    p = _params(case.prm, dtype)
    w = jnp.asarray(case.w, dtype)
    n_in, n = w.shape
    common = dict(params=p, t_max=T_MAX, weight=w)
    if path in ("kernel", "eventprop"):
        cls = event.LIF if path == "kernel" else event.EventPropLIF
        m = cls(n_in, n, max_spikes=max_spikes or M, method="kernel", **common)
    elif path in SINGLE:
        cls = event.LIF if path == "parallel" else event.EventPropLIF
        m = cls(n_in, n, max_spikes=max_spikes or n, single_spike=True,
                method="parallel" if path == "parallel" else "auto", **common)
    elif path == "recurrent":
        m = event.RecurrentEventPropLIF(n_in, n, params=p, t_max=T_MAX,
                                        max_spikes=max_spikes or M, weight_in=w,
                                        weight_rec=jnp.asarray(case.w_rec, dtype))
    elif path == "recurrent_twin":  # autodiff through the analytical recurrent forward
        m = snn.Recurrent(event.LIF(n_in, n, max_spikes=max_spikes or M, method="kernel",
                                    **common), jnp.asarray(case.w_rec, dtype))
    else:
        raise KeyError(path)
    return (m, jnp.asarray(case.t, dtype))


def _getters(path):
    if path == "recurrent":
        g = {"weight": lambda s: s[0].weight_in, "weight_rec": lambda s: s[0].weight_rec}
        params = lambda s: s[0].params
    elif path == "recurrent_twin":
        g = {"weight": lambda s: s[0].layer.weight, "weight_rec": lambda s: s[0].weight_rec}
        params = lambda s: s[0].layer.params
    else:
        g = {"weight": lambda s: s[0].weight}
        params = lambda s: s[0].params
    for k in PARAM_NAMES:
        g[k] = lambda s, k=k: getattr(params(s), k)
    g["in_time"] = lambda s: s[1]
    return g


def _loss(state, idx, coef):
    model, t = state
    out = model(snn.Spikes(t, idx))
    ok = jnp.isfinite(out.time)
    loss = jnp.sum(jnp.where(ok, coef[: out.size] * jnp.where(ok, out.time, 0.0), 0.0)) / T_MAX
    return loss, out


# one compiled function per (path, dtype), shared by every corner
_value_and_grad = eqx.filter_jit(eqx.filter_value_and_grad(_loss, has_aux=True))


def _coef(dtype):
    """Loss coefficients of the output slots (sliced to ``max_spikes``)."""
    return jnp.asarray(np.random.default_rng(42).normal(size=256), dtype)


def run(path, case, dtype_name, state=None, *, max_spikes=None):
    """``(state, idx, out, loss, named gradients)`` of ``path`` on ``case``."""
    dtype = DTYPES[dtype_name]
    state = build(path, case, dtype, max_spikes=max_spikes) if state is None else state
    idx = jnp.asarray(case.i, jnp.int32)
    (loss, out), g = _value_and_grad(state, idx, _coef(dtype))
    named = {k: np.asarray(get(g)) for k, get in _getters(path).items()}
    return state, idx, out, float(loss), named


# ----------------------------------------------------------------------------- references
def _rounded(case: Case, dtype) -> Case:
    """``case`` with every value rounded to ``dtype`` and back to float64 (the exact values the
    dtype's run sees), for the float64 references."""
    r = lambda x: np.asarray(np.asarray(x, dtype), np.float64)
    return case._replace(prm={k: float(r(v)) for k, v in case.prm.items()}, w=r(case.w),
                         w_rec=r(case.w_rec), t=r(case.t))


def reference(path, case: Case):
    w_rec = case.w_rec if path == "recurrent" else None
    return lif_population(case.prm, case.w, case.t, case.i, T_MAX, w_rec=w_rec,
                          single_spike=path in SINGLE)


def assert_matches_reference(out, ref, tol):
    t, i = np.asarray(out.time), np.asarray(out.idx)
    rt, ri = ref
    real = np.isfinite(t)
    assert real.sum() == len(rt), f"{real.sum()} spikes, the reference has {len(rt)}"
    assert np.all(i[~real] == -1)
    np.testing.assert_array_equal(i[real], ri)
    if len(rt):
        err = np.max(np.abs(t[real] - rt))
        assert err <= tol, f"spike times differ from the ODE reference by {err:.3g} s"


def _fd_direction(name, x, case, rng):
    r = rng.normal(size=x.shape)
    if name in ("weight", "weight_rec"):
        return r * (np.abs(x) + 1e-3 * _w1(case.prm))
    if name == "in_time":
        # equal times move together (the input must stay sorted; the jumps commute anyway)
        mask = np.isfinite(x) if case.fd_time is None else case.fd_time
        _, group = np.unique(np.where(np.isfinite(x), x, -1.0), return_inverse=True)
        return np.where(mask, r[group.reshape(x.shape)] * 1e-3, 0.0)
    if name in ("tau_mem", "tau_syn", "t_refrac"):
        return r * np.abs(x)
    return r  # voltages: 1 V


def assert_fd(path, state, idx, case, out0, g, *, skip=()):
    """Central finite differences of the float64 forward of ``path``, one random direction ``v``
    per group (weights, input times, each parameter): ``<g, v> = (L(x + h v) - L(x - h v)) / 2h``.
    Returns the number of groups with a nonzero derivative."""
    rng = np.random.default_rng(1)
    nonzero = 0
    for name, get in _getters(path).items():
        if name in skip:
            continue
        x = np.asarray(get(state))
        v = _fd_direction(name, x, case, rng)
        if not np.any(v):
            continue
        h = case.fd_h
        loss = []
        for sign in (1, -1):
            s = eqx.tree_at(get, state, jnp.asarray(x + sign * h * v))
            _, _, o, val, _ = run(path, case, "float64", state=s)
            # the perturbation must not change the spike train
            np.testing.assert_array_equal(np.asarray(o.idx), np.asarray(out0.idx), err_msg=name)
            loss.append(val)
        fd = (loss[0] - loss[1]) / (2 * h)
        d = float(np.sum(np.where(v != 0, g[name] * v, 0.0)))
        assert abs(d - fd) <= 1e-5 * abs(fd) + 1e-7, (name, d, fd)
        nonzero += fd != 0
    return nonzero


def rel_err(ref, got) -> float:
    ref, got = np.asarray(ref, np.float64), np.asarray(got, np.float64)
    scale = np.linalg.norm(ref)
    return float(np.linalg.norm(ref - got) / scale) if scale > 0 else float(np.linalg.norm(got))


# ----------------------------------------------------------------------------- the matrix
def _check_cell(path, case: Case, dtype_name):
    dtype = DTYPES[dtype_name]
    if case.expect == "overflow" and path not in SINGLE:
        with pytest.raises(Exception, match="max_spikes"):
            jax.block_until_ready(run(path, case, dtype_name)[2].time)
        assert len(reference(path, _rounded(case, dtype))[0]) == M + 1
        return
    state, idx, out, _, g = run(path, case, dtype_name)
    t = np.asarray(out.time)
    # values: no NaN, the dtype kept
    assert out.time.dtype == dtype
    assert not np.any(np.isnan(t)) and np.all(np.isinf(t) | (t >= 0) & (t <= T_MAX))
    count = int(np.isfinite(t).sum())
    for name, x in g.items():
        assert x.dtype == dtype, name
        assert np.all(np.isfinite(x)), f"non-finite gradient of {name}: {x}"
    if case.expect == "silent":
        assert count == 0
        for name, x in g.items():
            assert not np.any(x), f"silent network, nonzero gradient of {name}"
        return
    if case.expect == "tangential":
        _check_tangential(path, case, dtype_name, out, g)
        return
    assert count >= 1
    if case.expect in ("full", "overflow"):  # overflow: the single-spike paths are just full
        assert count == out.size  # exactly max_spikes, and no error
    ref_case = _rounded(case, dtype)
    assert_matches_reference(out, reference(path, ref_case), TIME_TOL[dtype_name])
    if dtype_name == "float64":
        skip = ("tau_mem", "tau_syn") if path in EVENTPROP else ()  # EventProp: constants
        assert assert_fd(path, state, idx, case, out, g, skip=skip) >= 1
        if path in TWIN:  # EventProp == autodiff through the analytical forward
            gt = run(TWIN[path], case, "float64")[4]
            for name in g:
                if name not in ("tau_mem", "tau_syn"):
                    assert rel_err(gt[name], g[name]) < 1e-6, name
        if case.fd_time is not None:
            _check_input_time_ends(path, case, state, g)
    else:
        _, _, out64, _, g64 = run(path, ref_case, "float64")
        np.testing.assert_array_equal(np.asarray(out.idx), np.asarray(out64.idx))
        for name in g:
            assert rel_err(g64[name], g[name]) < GRAD_TOL_32, (name, g64[name], g[name])
    if K > 1 and np.all(case.t == case.t[0]):  # simultaneous: same input, same gradient
        gt = g["in_time"]
        for j in range(N_IN):
            rtol = 1e-9 if dtype_name == "float64" else GRAD_TOL_32
            np.testing.assert_allclose(gt[case.i == j], gt[case.i == j][0], rtol=rtol, atol=0)


def _check_tangential(path, case, dtype_name, out, g):
    """A neuron whose peak equals the threshold within rounding may fire or not; if it fires,
    then at the peak (``u = theta - O((t - t_peak)^2)``: within ~sqrt(eps) tau_mem), with a
    large but finite gradient (EventProp: of the sign of the analytical one)."""
    t = np.asarray(out.time)
    tm, ts = case.prm["tau_mem"], case.prm["tau_syn"]
    t_pk = 2e-3 + float(peak_time(0.0, 1.0, jnp.asarray(tm), jnp.asarray(ts)))
    eps = float(jnp.finfo(DTYPES[dtype_name]).eps)
    err = np.abs(t[np.isfinite(t)] - t_pk)
    assert np.all(err <= 10 * np.sqrt(eps) * tm), (err, np.sqrt(eps) * tm)
    if path in TWIN and dtype_name == "float64":
        _, _, out_t, _, gt = run(TWIN[path], case, dtype_name)
        if np.array_equal(np.asarray(out_t.idx), np.asarray(out.idx)):
            np.testing.assert_array_equal(np.sign(g["weight"]), np.sign(gt["weight"]))


def _check_input_time_ends(path, case, state, g):
    """Inputs at exactly ``t_max`` are ignored: zero gradient. Inputs at exactly 0: the
    one-sided (later) finite difference."""
    gt = g["in_time"]
    np.testing.assert_array_equal(gt[case.t == T_MAX], 0.0)
    at0 = case.t == 0
    assert np.any(gt[at0] != 0)
    h = 1e-10
    base = run(path, case, "float64", state=state)[3]
    moved = (state[0], state[1] + jnp.asarray(np.where(at0, h, 0.0)))
    fd = (run(path, case, "float64", state=moved)[3] - base) / h
    np.testing.assert_allclose(np.sum(gt[at0]), fd, rtol=1e-4)


@pytest.mark.parametrize("dtype_name", list(DTYPES))
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("corner", CORNERS)
def test_corner(corner, path, dtype_name):
    _check_cell(path, _corner(corner, dtype_name), dtype_name)


@pytest.mark.slow
@pytest.mark.parametrize("dtype_name", list(DTYPES))
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("corner", SLOW_CORNERS)
def test_corner_slow(corner, path, dtype_name):
    _check_cell(path, _corner(corner, dtype_name), dtype_name)


# ----------------------------------------------------------------------------- single spike
@pytest.mark.parametrize("dtype_name", [pytest.param("float32", marks=pytest.mark.slow),
                                        "float64"])
@pytest.mark.parametrize("path", SINGLE)
def test_single_spike_buffer_one_short_raises(path, dtype_name):
    """The single-spike paths fill their buffer of N exactly in `max_spikes_exact`; with a
    buffer of N - 1 the same network raises (run eagerly: no extra compilation)."""
    case = _corner("max_spikes_exact", dtype_name)
    model, t = build(path, case, DTYPES[dtype_name], max_spikes=N - 1)
    with pytest.raises(Exception, match="max_spikes"):
        jax.block_until_ready(model(snn.Spikes(t, jnp.asarray(case.i, jnp.int32))).time)


def test_lif_weight_scale_peaks_exactly_at_threshold():
    """The corners above rely on it: a single input of weight ``lif_weight_scale`` peaks at
    ``v_th`` to float64 rounding, for every ratio (it used to round the time constants to
    float32 first: up to 5e-8 off)."""
    for ratio in (0.1, 0.5, 1.0, 1.0 + 1e-6, 1.7, 2.0, 3.0, 10.0):
        tm, ts, theta = ratio * TS, TS, 0.9
        w1 = event.lif_weight_scale(event.LIFParams(tau_mem=tm, tau_syn=ts, v_th=1.0,
                                                    v_leak=0.1))
        if ratio == 1.0:
            k = np.exp(-1.0)
        else:  # numpy closed form of the peak of ts/(tm - ts) (e^{-t/tm} - e^{-t/ts})
            tp = np.log(tm / ts) * tm * ts / (tm - ts)
            k = ts / (tm - ts) * (np.exp(-tp / tm) - np.exp(-tp / ts))
        rtol = 1e-9 if ratio == 1.0 + 1e-6 else 1e-14  # numpy's form cancels near tm = ts
        np.testing.assert_allclose(w1, theta * ts / k, rtol=rtol, err_msg=str(ratio))


@pytest.mark.slow
@pytest.mark.parametrize("dtype_name", list(DTYPES))
def test_per_neuron_buffer_exactly_full_and_one_short(dtype_name):
    """The feed-forward event loop's per-neuron buffer (``max_spikes_per_neuron``): exactly
    full gives the spikes and gradients of a roomy buffer (its backward replay is exactly long
    enough); one slot fewer raises."""
    dtype = DTYPES[dtype_name]
    case = _corner("max_spikes_exact", dtype_name)
    idx = jnp.asarray(case.i, jnp.int32)
    per = int(np.bincount(reference("kernel", _rounded(case, dtype))[1]).max())
    assert per >= 3

    def layer(per_neuron):
        p = _params(case.prm, dtype)
        return (event.LIF(N_IN, N, params=p, t_max=T_MAX, max_spikes=M, method="kernel",
                          weight=jnp.asarray(case.w, dtype), max_spikes_per_neuron=per_neuron),
                jnp.asarray(case.t, dtype))

    (_, roomy), g_roomy = _value_and_grad(layer(None), idx, _coef(dtype))
    (_, full), g_full = _value_and_grad(layer(per), idx, _coef(dtype))
    np.testing.assert_array_equal(np.asarray(full.idx), np.asarray(roomy.idx))
    np.testing.assert_array_equal(np.asarray(full.time), np.asarray(roomy.time))
    for a, b in zip(jax.tree.leaves(g_roomy), jax.tree.leaves(g_full), strict=True):
        assert rel_err(a, b) < (1e-12 if dtype_name == "float64" else 1e-5)
    with pytest.raises(Exception, match="max_spikes_per_neuron"):
        jax.block_until_ready(_value_and_grad(layer(per - 1), idx, _coef(dtype))[0][1].time)


# ----------------------------------------------------------------------------- EventProp ties
_eventprop_backward = eqx.filter_jit(event.eventprop_backward)


def _ep_grads(single_spike, out_t, in_t, w, ct):
    """`event.eventprop_backward` of one neuron with two input slots and two output slots
    (padded: one compilation per mode for all the tests below)."""
    p = event.LIFParams(tau_mem=1e-2, tau_syn=5e-3, v_th=1.0, v_reset=-0.1, v_leak=0.0,
                        t_refrac=2e-3)
    w = np.concatenate([np.asarray(w), np.zeros((2 - len(w), 1))])
    pad = lambda x, fill: np.concatenate([np.asarray(x, float), np.full(2 - len(x), fill)])
    g = _eventprop_backward(
        p, jnp.asarray(w), None,
        snn.Spikes(jnp.asarray(pad(in_t, np.inf)), jnp.asarray([0, 1 if len(in_t) > 1 else -1])),
        snn.Spikes(jnp.asarray(pad(out_t, np.inf)), jnp.asarray([0, 0 if len(out_t) > 1 else -1])),
        jnp.asarray(pad(ct, 0.0)), T_MAX, single_spike=single_spike)
    return {k: np.asarray(v) for k, v in g._asdict().items() if v is not None}


def _assert_continuous(limit, at, names):
    for name in names:
        assert rel_err(limit[name], at[name]) < 1e-6, (name, limit[name], at[name])


@pytest.mark.parametrize("single_spike", [False, True])
def test_eventprop_spike_on_the_time_stamp_of_the_input_that_caused_it(single_spike):
    """A strong input makes the neuron cross closer to it than the time resolution (float32,
    or time-stamped observed spikes): the spike has the input's time. The input came first:
    EventProp gives the limit of the spike following it by delta -> 0 (it used to take the
    input as arriving after the spike: gradients 1000x off and dt*/dt_in = 0 instead of 1)."""
    w, in_t = [[0.01], [0.5]], [1e-3, 4e-3]
    limit = _ep_grads(single_spike, [4e-3 + 1e-13], in_t, w, [1.0])
    at = _ep_grads(single_spike, [4e-3], in_t, w, [1.0])
    _assert_continuous(limit, at, ("weight", "in_time", "v_th"))
    assert abs(at["in_time"][1] - 1.0) < 1e-2


@pytest.mark.parametrize("single_spike", [False, True])
def test_eventprop_input_at_a_genuine_crossing_comes_after_the_spike(single_spike):
    """The other tie: the membrane reaches threshold exactly when an input arrives. The kernel
    takes the spike first; so does EventProp (the limit of the input arriving just after)."""
    # one input of weight w at 1 ms; tm = 2 ts: u = w / (tm - ts) (x - x^2), x = e^{-t/tm}
    w1, tm, ts = 0.03, 1e-2, 5e-3
    x = (1 + np.sqrt(1 - 4 * (tm - ts) / w1)) / 2  # u = theta = 1, the rising flank
    t_cross = 1e-3 - tm * np.log(x)
    w = [[w1], [-3 * w1]]
    limit = _ep_grads(single_spike, [t_cross], [1e-3, t_cross + 1e-13], w, [1.0])
    at = _ep_grads(single_spike, [t_cross], [1e-3, t_cross], w, [1.0])
    _assert_continuous(limit, at, ("weight", "in_time", "v_th"))
    assert at["in_time"][1] == 0.0


def test_eventprop_spike_at_the_end_of_its_refractory_period():
    """A crossing closer to the end of the refractory period than the time resolution: the
    spike has the time of the end. The end came first: EventProp gives the limit of the spike
    following it by delta -> 0 (it used to let the adjoint leak into the refractory period:
    the v_reset and t_refrac gradients were lost)."""
    w, in_t = [[0.05]], [1e-3]
    limit = _ep_grads(False, [2e-3, 4e-3 + 1e-13], in_t, w, [1.0, 1.0])
    at = _ep_grads(False, [2e-3, 4e-3], in_t, w, [1.0, 1.0])
    _assert_continuous(limit, at, ("weight", "in_time", "v_th", "v_reset", "t_refrac"))
    assert abs(at["t_refrac"][0]) > 0.1
