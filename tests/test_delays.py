"""Learnable synaptic delays (``event.LIF(..., delay=d)``, `EventPropLIF`,
`RecurrentEventPropLIF`): spike times against the independent scipy ODE reference, exact
gradients (finite differences, EventProp == autodiff), ``None``/zero delays, shapes, Equinox
tools, errors, and the two tasks. float64 (conftest)."""

from __future__ import annotations

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_event_reference import lif_population

import jaxsnn_eqx as snn
from jaxsnn_eqx import event

T_MAX = 4e-2
PRM = dict(tau_mem=1e-2, tau_syn=5e-3, v_th=1.0, v_reset=-0.2, v_leak=0.1, t_refrac=2e-3)
N_IN, N = 4, 5
SHAPES = {"connection": (N_IN, N), "input": (N_IN, 1), "neuron": (1, N), "scalar": ()}


def params(ratio=2.0):
    p = dict(PRM, tau_mem=ratio * PRM["tau_syn"])
    return p, event.LIFParams(**p)


def setup(seed, shape, ratio=2.0, mean=0.6, n_spikes=8, n_out=N):
    rng = np.random.default_rng(seed)
    prm, p = params(ratio)
    t = np.sort(np.round(rng.uniform(0, 1.5e-2, n_spikes), 4))  # some equal times
    i = rng.integers(0, N_IN, n_spikes)
    w = rng.normal(mean, 0.4, (N_IN, n_out)) * event.lif_weight_scale(p)
    d = rng.uniform(0, 8e-3, shape)
    return prm, p, t, i, w, d


def delayed_reference(prm, w, d, t, i, t_max, **kw):
    """The scipy reference with delays: input spike ``k`` into neuron ``j`` as its own input
    line ``k n + j``, at ``t_k + d[i_k, j]``, with weight ``w[i_k, j]`` into ``j`` only."""
    n_in, n = w.shape
    d = np.broadcast_to(np.asarray(d, float), (n_in, n))
    k = len(t)
    times = (t[:, None] + d[i]).ravel()
    lines = np.arange(k * n)
    w_lines = np.zeros((k * n, n))
    w_lines[lines, np.tile(np.arange(n), k)] = w[i].ravel()
    return lif_population(prm, w_lines, times, lines, t_max, **kw)


def assert_matches(out, ref_t, ref_i, tol=1e-9 * T_MAX):
    t, i = np.asarray(out.time), np.asarray(out.idx)
    real = np.isfinite(t)
    assert real.sum() == len(ref_t) > 0, (real.sum(), len(ref_t))
    np.testing.assert_array_equal(i[real], ref_i)
    assert np.max(np.abs(t[real] - ref_t)) < tol


def spikes(t, i):
    return snn.Spikes(jnp.asarray(t), jnp.asarray(i, jnp.int32))


def loss_of(coef):
    def loss(out):
        ok = jnp.isfinite(out.time)
        return jnp.sum(jnp.where(ok, coef[: out.size] * jnp.where(ok, out.time, 0.0), 0.0))
    return loss


@eqx.filter_jit
def _grads(layer, t, idx, coef, weight_rec=None):
    def f(layer, t):
        kw = {} if weight_rec is None else dict(weight_rec=weight_rec)
        return loss_of(coef)(layer(snn.Spikes(t, idx), **kw))
    return eqx.filter_grad(f)(layer, t), jax.grad(f, argnums=1)(layer, t)


def rel_err(ref, got):
    ref, got = np.asarray(ref), np.asarray(got)
    assert np.abs(ref).max() > 0
    return float(np.abs(ref - got).max() / np.abs(ref).max())


# ----------------------------------------------------------------------------- forward
def _cases(paths, fast):
    """Every (path, shape) pair; those not in ``fast`` are marked slow (compilation time)."""
    return [pytest.param(path, shape, marks=() if (path, shape) in fast else pytest.mark.slow)
            for path in paths for shape in SHAPES]


@pytest.mark.parametrize("path, shape", _cases(
    ["parallel", "kernel", "multi", "recurrent"],
    {("parallel", "connection"), ("kernel", "connection"), ("multi", "connection"),
     ("recurrent", "connection"), ("recurrent", "input"), ("parallel", "neuron")}))
def test_spike_times_match_ode_reference(path, shape):
    ratio = 1.7 if path in ("kernel", "recurrent") else 2.0  # Newton and closed form
    prm, p, t, i, w, d = setup(1, SHAPES[shape], ratio, mean=0.9 if path != "multi" else 1.2)
    common = dict(params=p, t_max=T_MAX, weight=w, delay=d)
    x = spikes(t, i)
    if path == "recurrent":
        w_rec = np.random.default_rng(2).normal(0, 0.4, (N, N)) * event.lif_weight_scale(p)
        rec = event.RecurrentEventPropLIF(N_IN, N, max_spikes=64, weight_in=w,
                                          weight_rec=w_rec, params=p, t_max=T_MAX, delay=d)
        out = eqx.filter_jit(rec)(x)
        ref = delayed_reference(prm, w, d, t, i, T_MAX, w_rec=w_rec)
        # the same population by autodiff: event.LIF called with weight_rec
        lif = event.LIF(N_IN, N, max_spikes=64, **common)
        np.testing.assert_array_equal(lif(x, weight_rec=jnp.asarray(w_rec)).time, out.time)
    elif path == "multi":
        out = event.LIF(N_IN, N, max_spikes=48, **common)(x)
        ref = delayed_reference(prm, w, d, t, i, T_MAX)
        assert np.bincount(ref[1]).max() >= 2  # several spikes per neuron
    else:
        lif = event.LIF(N_IN, N, max_spikes=N, single_spike=True, method=path, **common)
        out = lif(x)
        ref = delayed_reference(prm, w, d, t, i, T_MAX, single_spike=True)
    assert_matches(out, *ref)


def test_delays_change_the_output_as_a_shift_would():
    """A scalar delay shifts every output spike by itself (a time-invariant system)."""
    _, p, t, i, w, _ = setup(3, ())
    lif = event.LIF(N_IN, N, params=p, t_max=T_MAX, max_spikes=N, weight=w, single_spike=True)
    shifted = eqx.tree_at(lambda m: m.delay, lif, jnp.asarray(3e-3),
                          is_leaf=lambda x: x is None)
    a, b = lif(spikes(t, i)), shifted(spikes(t, i))
    ok = np.isfinite(np.asarray(a.time))
    np.testing.assert_allclose(np.asarray(b.time)[ok], np.asarray(a.time)[ok] + 3e-3,
                               rtol=0, atol=1e-15)


# ----------------------------------------------------------------------------- None and zero
@pytest.mark.parametrize("kind", ["parallel", "eventprop", "recurrent",
                                  *(pytest.param(k, marks=pytest.mark.slow)
                                    for k in ("kernel", "multi"))])
def test_zero_delays_equal_no_delays(kind):
    """``delay=None`` is the layer without delays; all-zero delays give bit-identical spikes
    (a recurrent population: to rounding, its per-neuron input events add zero-length steps)
    and the same gradients (to rounding: the per-neuron cotangents are summed in another
    order)."""
    _, p, t, i, w, _ = setup(4, (N_IN, N), mean=1.2 if kind == "multi" else 0.9)
    x = spikes(t, i)
    coef = jnp.asarray(np.random.default_rng(0).normal(size=64))
    if kind == "recurrent":
        w_rec = np.random.default_rng(2).normal(0, 0.4, (N, N)) * event.lif_weight_scale(p)
        make = lambda d: event.RecurrentEventPropLIF(N_IN, N, params=p, t_max=T_MAX,
                                                     max_spikes=64, weight_in=w,
                                                     weight_rec=w_rec, delay=d)
    else:
        cls = event.EventPropLIF if kind == "eventprop" else event.LIF
        kw = dict(max_spikes=48) if kind == "multi" else dict(
            max_spikes=N, single_spike=True, method="kernel" if kind == "kernel" else "auto")
        make = lambda d: cls(N_IN, N, params=p, t_max=T_MAX, weight=w, delay=d, **kw)
    none, zero = make(None), make(jnp.zeros((N_IN, N)))
    assert none.delay is None
    assert eqx.tree_equal(none, eqx.tree_at(lambda m: m.delay, zero, None))
    a, b = none(x), zero(x)
    np.testing.assert_array_equal(a.idx, b.idx)
    if kind == "recurrent":  # per-neuron events: zero-length steps between them, rounding
        np.testing.assert_allclose(a.time, b.time, rtol=1e-14)
    else:
        np.testing.assert_array_equal(a.time, b.time)
    (ga, gta), (gb, gtb) = _grads(none, x.time, x.idx, coef), _grads(zero, x.time, x.idx, coef)
    w_name = "weight_in" if kind == "recurrent" else "weight"
    np.testing.assert_allclose(getattr(gb, w_name), getattr(ga, w_name), rtol=1e-12,
                               atol=1e-12 * np.abs(getattr(ga, w_name)).max())
    np.testing.assert_allclose(gtb, gta, rtol=1e-12, atol=1e-12 * np.abs(gta).max())
    # d loss / d(common shift of every delay) = d loss / d(common shift of every input)
    np.testing.assert_allclose(jnp.sum(gb.delay), jnp.sum(gta), rtol=1e-12)


# ----------------------------------------------------------------------------- gradients
def _fd(f, x, h):
    x = np.asarray(x, float)
    g = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[ix] += h
        xm[ix] -= h
        g[ix] = (f(xp) - f(xm)) / (2 * h)
    return g


@pytest.mark.parametrize("path", ["parallel", "kernel",
                                  pytest.param("multi", marks=pytest.mark.slow)])
def test_gradients_match_finite_differences(path):
    """Delay, weight and input-time gradients (autodiff) against central differences of the
    float64 forward (per-connection delays; the same spike counts under each perturbation)."""
    _, p, t, i, w, d = setup(5, (N_IN, N), mean=1.2 if path == "multi" else 0.9)
    t = t + np.arange(len(t)) * 1e-5  # distinct times: no kink from the order of equal ones
    kw = dict(max_spikes=48) if path == "multi" else dict(
        max_spikes=N, single_spike=True, method=path)
    lif = event.LIF(N_IN, N, params=p, t_max=T_MAX, weight=w, delay=d, **kw)
    x = spikes(t, i)
    coef = jnp.asarray(np.random.default_rng(1).normal(size=64))
    g, g_t = _grads(lif, x.time, x.idx, coef)
    run = eqx.filter_jit(lambda m, tt: (loss_of(coef)(m(snn.Spikes(tt, x.idx))),
                                        m(snn.Spikes(tt, x.idx)).count))
    n0 = int(run(lif, x.time)[1])

    def f(layer, tt=x.time):
        val, count = run(layer, jnp.asarray(tt))
        assert int(count) == n0
        return float(val)

    fd_d = _fd(lambda v: f(eqx.tree_at(lambda m: m.delay, lif, jnp.asarray(v))), d, 1e-8)
    fd_w = _fd(lambda v: f(eqx.tree_at(lambda m: m.weight, lif, jnp.asarray(v))), w,
               1e-6 * event.lif_weight_scale(p))
    fd_t = _fd(lambda v: f(lif, v), t, 1e-8)
    assert rel_err(fd_d, g.delay) < 1e-6
    assert rel_err(fd_w, g.weight) < 1e-6
    assert rel_err(fd_t, g_t) < 1e-6


def test_delay_gradient_matches_finite_differences_of_the_ode_reference():
    """Independent of the package: central differences of the scipy reference."""
    prm, p, t, i, w, d = setup(6, (N_IN, 3), mean=1.2, n_spikes=5, n_out=3)
    t = t + np.arange(len(t)) * 1e-5
    ref_t, ref_i = delayed_reference(prm, w, d, t, i, T_MAX)
    m = len(ref_t)
    coef = np.random.default_rng(2).normal(size=m)

    def ref_loss(dd):
        rt, ri = delayed_reference(prm, w, dd, t, i, T_MAX)
        assert np.array_equal(ri, ref_i)
        return float(coef @ rt)

    lif = event.LIF(N_IN, 3, params=p, t_max=T_MAX, max_spikes=32, weight=w, delay=d)
    g, _ = _grads(lif, jnp.asarray(t), jnp.asarray(i, jnp.int32),
                  jnp.asarray(np.concatenate([coef, np.zeros(32 - m)])))
    assert rel_err(_fd(ref_loss, d, 1e-7), g.delay) < 1e-6


@pytest.mark.parametrize("path, shape", _cases(
    ["parallel", "multi", "recurrent"],
    {("parallel", "connection"), ("parallel", "input"), ("recurrent", "connection")}))
def test_eventprop_equals_autodiff(path, shape):
    """EventProp (closed form per neuron, adjoint sweep per neuron, the recurrent sweep over
    per-neuron events) == autodiff (all-at-once, event kernel) for delays, weights, times."""
    _, p, t, i, w, d = setup(7, SHAPES[shape], mean=1.2 if path == "multi" else 0.9)
    x = spikes(t, i)
    coef = jnp.asarray(np.random.default_rng(3).normal(size=64))
    if path == "recurrent":
        w_rec = np.random.default_rng(2).normal(0, 0.4, (N, N)) * event.lif_weight_scale(p)
        lif = event.LIF(N_IN, N, params=p, t_max=T_MAX, max_spikes=64, weight=w, delay=d)
        ep = event.RecurrentEventPropLIF(N_IN, N, params=p, t_max=T_MAX, max_spikes=64,
                                         weight_in=w, weight_rec=w_rec, delay=d)
        (ga, gta), (gb, gtb) = (_grads(lif, x.time, x.idx, coef, jnp.asarray(w_rec)),
                                _grads(ep, x.time, x.idx, coef))
        pairs = [(ga.weight, gb.weight_in)]
    else:
        kw = dict(max_spikes=48) if path == "multi" else dict(max_spikes=N, single_spike=True)
        lif = event.LIF(N_IN, N, params=p, t_max=T_MAX, weight=w, delay=d, **kw)
        ep = event.EventPropLIF.from_lif(lif)
        (ga, gta), (gb, gtb) = _grads(lif, x.time, x.idx, coef), _grads(ep, x.time, x.idx, coef)
        pairs = [(ga.weight, gb.weight)]
    pairs += [(ga.delay, gb.delay), (gta, gtb)]
    for a, b in pairs:
        assert np.shape(a) == np.shape(b)
        assert rel_err(a, b) < 1e-6


@pytest.mark.parametrize("shape", [(N_IN, 1), pytest.param((1, N), marks=pytest.mark.slow),
                                   pytest.param((), marks=pytest.mark.slow)])
def test_shapes_are_broadcasts_of_per_connection_delays(shape):
    """Per input / per neuron / scalar == the broadcast full matrix: spikes and (summed)
    gradients."""
    _, p, t, i, w, _ = setup(8, ())
    x = spikes(t, i)
    coef = jnp.asarray(np.random.default_rng(4).normal(size=N))
    axes = tuple(a for a in range(2) if len(shape) < 2 or shape[a] == 1)
    d = np.random.default_rng(5).uniform(0, 8e-3, shape)
    small = event.LIF(N_IN, N, params=p, t_max=T_MAX, max_spikes=N, single_spike=True,
                      weight=w, delay=d)
    full = eqx.tree_at(lambda m: m.delay, small, jnp.broadcast_to(d, (N_IN, N)))
    np.testing.assert_allclose(small(x).time, full(x).time, rtol=1e-14)
    (gs, gts), (gf, gtf) = _grads(small, x.time, x.idx, coef), _grads(full, x.time, x.idx,
                                                                      coef)
    np.testing.assert_allclose(gs.delay, jnp.sum(gf.delay, axes).reshape(np.shape(d)),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gs.weight, gf.weight, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gts, gtf, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------- transformations
def test_jit_vmap_grad():
    _, p, _, _, w, d = setup(9, (N_IN, N))
    lif = event.EventPropLIF(N_IN, N, params=p, t_max=T_MAX, max_spikes=N, single_spike=True,
                             weight=w, delay=d)
    rng = np.random.default_rng(6)
    t = np.sort(rng.uniform(0, 1.5e-2, (3, 6)), axis=1)
    i = rng.integers(0, N_IN, (3, 6))
    batch = snn.Spikes(jnp.asarray(t), jnp.asarray(i, jnp.int32))

    def loss(m, x):
        o = m(x)
        return jnp.sum(jnp.where(jnp.isfinite(o.time), o.time, 0.0))

    out = eqx.filter_jit(jax.vmap(lif))(batch)
    g = eqx.filter_jit(eqx.filter_grad(lambda m: jnp.sum(jax.vmap(lambda x: loss(m, x))(batch))))(
        lif)
    one = eqx.filter_jit(lambda m, x: (m(x).time, eqx.filter_grad(loss)(m, x).delay))
    singles = [one(lif, snn.Spikes(batch.time[b], batch.idx[b])) for b in range(3)]
    for b in range(3):
        np.testing.assert_allclose(out.time[b], singles[b][0], rtol=1e-14)
    np.testing.assert_allclose(g.delay, sum(s[1] for s in singles), rtol=1e-12)


def test_tree_at_and_filter_train_weights_only():
    """The delay is an ordinary leaf: `eqx.tree_at` edits it, and a filter spec that leaves it
    out trains the weights only (the recipe in the README)."""
    _, p, t, i, w, d = setup(10, (N_IN, N))
    lif = event.LIF(N_IN, N, params=p, t_max=T_MAX, max_spikes=N, single_spike=True,
                    weight=w, delay=d)
    assert lif.delay.shape == (N_IN, N) and eqx.is_inexact_array(lif.delay)
    edited = eqx.tree_at(lambda m: m.delay, lif, 2 * lif.delay)
    assert not np.array_equal(edited(spikes(t, i)).time, lif(spikes(t, i)).time)
    spec = eqx.tree_at(lambda m: m.delay, jax.tree.map(eqx.is_inexact_array, lif), False)
    train, frozen = eqx.partition(lif, spec)
    assert train.delay is None and frozen.delay is not None

    def loss(train):
        o = eqx.combine(train, frozen)(spikes(t, i))
        return jnp.sum(jnp.where(jnp.isfinite(o.time), o.time, 0.0))

    g = eqx.filter_grad(loss)(train)
    assert g.delay is None and np.abs(np.asarray(g.weight)).max() > 0
    stepped = eqx.combine(eqx.apply_updates(train, jax.tree.map(lambda x: -x, g)), frozen)
    np.testing.assert_array_equal(stepped.delay, lif.delay)
    assert not np.array_equal(stepped.weight, lif.weight)


def test_negative_delay_acts_as_zero_with_zero_gradient():
    _, p, t, i, w, d = setup(11, (N_IN, N))
    d[0, :] = 0.0
    lif = event.LIF(N_IN, N, params=p, t_max=T_MAX, max_spikes=N, single_spike=True,
                    weight=w, delay=d)
    neg = eqx.tree_at(lambda m: m.delay, lif, lif.delay.at[0].set(-1e-3))  # as after a step
    x = spikes(t, i)
    np.testing.assert_array_equal(neg(x).time, lif(x).time)
    coef = jnp.ones(N)
    g0, gn = _grads(lif, x.time, x.idx, coef)[0], _grads(neg, x.time, x.idx, coef)[0]
    assert np.all(np.asarray(gn.delay)[0] == 0) and np.abs(np.asarray(g0.delay)[0]).max() > 0
    np.testing.assert_array_equal(np.asarray(gn.delay)[1:], np.asarray(g0.delay)[1:])


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("delay, match", [
    (-1e-3, "finite and >= 0"),
    (np.full((N_IN, N), np.nan), "finite and >= 0"),
    (np.zeros(N), "must have shape"),
    (np.zeros((N, N_IN)), "must have shape"),
    (np.zeros((1, 1, 1)), "must have shape"),
])
@pytest.mark.parametrize("cls", [event.LIF, event.EventPropLIF, event.RecurrentEventPropLIF])
def test_bad_delays_are_refused_naming_the_argument(cls, delay, match):
    with pytest.raises(ValueError, match=match) as err:
        cls(N_IN, N, t_max=T_MAX, max_spikes=8, key=jax.random.PRNGKey(0), delay=delay)
    assert "`delay`" in str(err.value) and cls.__name__ in str(err.value)


def test_complex_delay_and_hardware_layer_are_refused():
    with pytest.raises(TypeError, match="delay"):
        event.LIF(N_IN, N, t_max=T_MAX, max_spikes=8, key=jax.random.PRNGKey(0),
                  delay=np.zeros((N_IN, N), complex))
    from jaxsnn_eqx import hardware

    with pytest.raises(ValueError, match="delays are not supported"):
        event.HardwareRecurrentLIF(N_IN, N, t_max=T_MAX, max_spikes=8, key=jax.random.PRNGKey(0),
                                   backend=hardware.JaxSimulation(), delay=np.zeros((N_IN, 1)))
    hw = event.HardwareRecurrentLIF(N_IN, N, t_max=T_MAX, max_spikes=8,
                                    key=jax.random.PRNGKey(0), backend=hardware.JaxSimulation())
    hw = eqx.tree_at(lambda m: m.delay, hw, jnp.zeros((N_IN, 1)), is_leaf=lambda x: x is None)
    with pytest.raises(ValueError, match="delays are not supported"):
        hw(spikes([1e-3], [0]))


# ----------------------------------------------------------------------------- tasks
@pytest.mark.slow  # a task run (the recipe's accuracy: test_delay_patterns_need_delays)
def test_delay_patterns_task_runs_tiny(tmp_path):
    from jaxsnn_eqx.tasks import delay_patterns

    res = delay_patterns.main(["--out", str(tmp_path), "--epochs", "1", "--n-train", "32",
                               "--n-val", "16", "--n-test", "16", "--batch-size", "16",
                               "--no-progress"])
    saved = json.loads((tmp_path / "results.json").read_text())
    for r in (res, saved):
        assert 0 <= r["test_accuracy"] <= 1 and 0 <= r["test_accuracy_weights_only"] <= 1
    assert saved["config"]["delays"] is True
    assert (tmp_path / "weights_only" / "results.json").is_file()


def test_yinyang_delays_flag_builds_the_model_and_is_recorded():
    from jaxsnn_eqx.tasks import yinyang_event
    from jaxsnn_eqx.tasks.common import config_of

    for method, layered in (("analytical", True), ("eventprop", False)):
        args = yinyang_event.parse(["--delays", "--delay-init", "1e-3", "--hidden", "8"],
                                   method=method)
        config = json.loads(json.dumps(config_of(args)))  # as saved in results.json
        assert config["delays"] is True and config["delay_init"] == 1e-3
        model = yinyang_event.model_like(config)
        layer = model.layers[0] if layered else model
        n_to = 8 if layered else 8 + 3
        assert layer.delay.shape == (5, n_to) and 0 <= float(layer.delay.min())
        assert float(layer.delay.max()) <= 1e-3
        if layered:
            assert model.layers[1].delay is None
        a = yinyang_event._resolve(args)
        units = yinyang_event.weight_units(model, a)
        assert (units.layers[0] if layered else units).delay == a.tau_syn
        neg = eqx.tree_at(lambda m, lay=layered: (m.layers[0] if lay else m).delay, model,
                          -layer.delay)
        projected = yinyang_event.project_delays(a)(neg)
        assert float((projected.layers[0] if layered else projected).delay.min()) == 0.0
    # a config saved before the flag existed still loads (no delays)
    old = {k: v for k, v in config.items() if k not in ("delays", "delay_init")}
    assert yinyang_event.model_like(old).delay is None


@pytest.mark.slow
def test_yinyang_delays_run_resumes(tmp_path):
    from jaxsnn_eqx.tasks import yinyang_event

    argv = ["--out", str(tmp_path), "--gradient", "analytical", "--delays", "--delay-init",
            "1e-3", "--epochs", "1", "--n-train", "64", "--n-val", "32", "--n-test", "32",
            "--hidden", "8", "--no-progress", "--no-plot"]
    res = yinyang_event.main(argv)
    assert res["config"]["delays"] is True
    again = yinyang_event.main(argv + ["--resume"])
    assert again["test_accuracy"] == res["test_accuracy"]


@pytest.mark.slow
@pytest.mark.xfail(reason="known defect, open: the delay_patterns task is seed-fragile (seeds "
                   "0-5 with the defaults: 50 / 100 / 100 / 75 / 77 / 100 %; stuck runs have "
                   "output neurons firing at class-independent times), docs/results.md",
                   strict=False)
def test_delay_patterns_need_delays(tmp_path):
    from jaxsnn_eqx.tasks import delay_patterns

    res = delay_patterns.main(["--out", str(tmp_path), "--no-progress"])
    assert res["test_accuracy"] > 0.9
    assert res["test_accuracy_weights_only"] < 0.5


def test_delay_patterns_is_a_cli_task(capsys):
    from jaxsnn_eqx import cli

    assert cli.main(["methods"]) == 0
    assert "delay-patterns (jaxsnn-eqx train delay-patterns" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "delay-patterns", "--help"])
    assert info.value.code == 0
    assert "--classes" in capsys.readouterr().out

